"""`make user` and `make token` against `make local AUTH=cognito` (the emulator's Cognito), with the password from
the environment: it works, with quotes and backslashes in it, and is on no command line `ps` could show (neither
the recipe's shell nor any `aws` call), nor left on disk."""

import asyncio
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from emulator import template
from emulator.cloud import LocalCloud
from emulator.services.cognito import LocalCognito
from tests.deploy.simulated_account import work_tree
from tests.local_cloud import ROOT, chat_environment

pytestmark = pytest.mark.e2e

PASSWORD = "Str0ng\"pa$$\\'word {x}"  # JSON- and shell-special characters
SPY = """#!/bin/sh
# Records each aws command line, as `ps` would show it, and any --cli-input-json file's mode; then runs the CLI.
printf '%s\\n' "$*" >> "$SPY_LOG"
for arg in "$@"; do case "$arg" in file://*) stat -c '%a' "${arg#file://}" >> "$SPY_LOG.modes";; esac; done
exec "$REAL_AWS" "$@"
"""


def make(tree: Path, target: str, port: int, spy: Path, log: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PASSWORD": PASSWORD, "SPY_LOG": str(log), "REAL_AWS": str(Path(sys.prefix) / "bin/aws")}
    # -o: the copy's venv is the running one (a link), never to be rebuilt whatever the files' times say.
    command = ["make", "-s", "-o", ".venv/bin/python", "-C", str(tree), target, "USERNAME=alice", f"PORT={port}"]
    command.append(f"AWS={spy}")
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


async def test_make_user_and_token_never_put_the_password_on_a_command_line(standin, tmp_path):
    tree = work_tree(tmp_path / "repo", venv=True)
    spy, log = tmp_path / "aws-spy", tmp_path / "aws.log"
    spy.write_text(SPY)
    spy.chmod(0o755)
    cognito = LocalCognito(template.DEFAULT_REGION)
    api = template.load(ROOT / "main.yml", {"Auth": "cognito"}, provision=cognito.provision)
    gateway = LocalCloud(api, {**chat_environment(standin.url), **cognito.environment}, port=0)
    await gateway.start()
    try:
        user = await asyncio.to_thread(make, tree, "user", gateway.stage.port, spy, log)
        assert user.returncode == 0, user.stderr
        token = await asyncio.to_thread(make, tree, "token", gateway.stage.port, spy, log)
        assert token.returncode == 0, token.stderr
    finally:
        await gateway.stop()
    assert token.stdout.strip().splitlines()[-1].count(".") == 2  # a JWT: the password was the right one
    recipes = subprocess.run(
        ["make", "-n", "-o", ".venv/bin/python", "-C", str(tree), "user", "token", "USERNAME=alice", "PORT=9"],
        env={**os.environ, "PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
    ).stdout
    calls = log.read_text().splitlines()
    assert any("admin-set-user-password --cli-input-json file://" in c for c in calls), calls
    assert any("initiate-auth --cli-input-json file://" in c for c in calls), calls
    for line in [*calls, *recipes.splitlines()]:  # what `sh -c` and each `aws` showed in ps
        assert PASSWORD not in line and "Str0ng" not in line
    assert set((tmp_path / "aws.log.modes").read_text().split()) == {oct(stat.S_IRUSR | stat.S_IWUSR)[2:]}
    left = [p for p in Path("/tmp").glob("tmp.*") if p.is_file() and p.stat().st_size < 4096]
    assert not [p for p in left if "Str0ng" in p.read_text(errors="ignore")]  # mktemp's files are removed on exit


def test_a_password_on_makes_own_command_line_is_refused():
    result = subprocess.run(
        ["make", "-C", str(ROOT), "-n", "user", "USERNAME=alice", "PASSWORD=x"], capture_output=True, text=True
    )
    assert result.returncode != 0 and "shows in ps" in result.stderr
