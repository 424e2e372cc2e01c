"""`python -m emulator` (what `make local` runs) as a user runs it: it prints the URL and a wscat line, serves
the article's exchange, and on Ctrl-C exits 0 with every process it started ended and its port free."""

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import websockets

from emulator.__main__ import parse_args
from emulator.bedrock.script import scripted_reply
from tests.local_cloud import ARTICLE, ROOT, read_reply, sendtext

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except FileNotFoundError:  # a thread (or the process) ended between listing and reading
            continue
        for child in children:
            found |= {int(child)} | descendants(int(child))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


async def test_python_m_emulator_serves_then_exits_cleanly_on_ctrl_c():
    port = free_port()
    command = [sys.executable, "-m", "emulator", "--port", str(port), "--standin-rate", "0", "--standin-ttft-ms", "0"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = []
        while not banner or "Ctrl-C to stop." not in banner[-1]:
            line = process.stdout.readline()
            assert line, "".join(banner)
            banner.append(line)
        assert f"npx wscat -c ws://127.0.0.1:{port}/dev\n" in "".join(banner)
        if sys.version_info[:2] != (3, 13):  # main.yml's Runtime, and no --interpreter for it: said at start
            assert "WARNING: no interpreter for Runtime python3.13" in "".join(banner)
        async with websockets.connect(f"ws://127.0.0.1:{port}/dev") as ws:
            await ws.send(sendtext(ARTICLE))
            deltas, end = await read_reply(ws)
            assert "".join(deltas) == scripted_reply(ARTICLE) and end["type"] == "end"
            started = descendants(process.pid)
            assert len(started) >= 3  # the forkserver and environments, at least
            process.send_signal(signal.SIGINT)  # Ctrl-C with a client still connected
            assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in started if alive(pid)]
    with socket.socket() as sock:  # the port is free: `make local` can start again at once
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as every server does (TIME_WAIT is fine)
        sock.bind(("127.0.0.1", port))
        sock.listen()


def test_an_interpreter_that_is_not_there_is_refused_before_anything_starts():
    command = [sys.executable, "-m", "emulator", "--port", "0", "--interpreter", "python3.13=/nonexistent/python"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--interpreter python3.13=/nonexistent/python: no such interpreter" in done.stderr
    assert "Serving" not in done.stdout


def test_function_env_and_parameters_pass_through_as_given_and_a_malformed_one_is_refused(capsys):
    args = parse_args(["--function-env", "READ_TIMEOUT=2.5", "--function-env", "QUERY=a=b", "--parameter", "X="])
    assert args.function_env == [("READ_TIMEOUT", "2.5"), ("QUERY", "a=b")] and args.parameter == [("X", "")]
    with pytest.raises(SystemExit) as refused:
        parse_args(["--function-env", "NO_VALUE"])
    assert refused.value.code == 2 and "expected NAME=VALUE" in capsys.readouterr().err
