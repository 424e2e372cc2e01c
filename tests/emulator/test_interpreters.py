"""Functions run on the Python their Runtime names (emulator/awslambda/interpreters.py): spawned on the interpreter
given for it, isolated from the emulator's packages; a Runtime without one runs on the emulator's own Python, and
the emulator says so loudly at start."""

import os
import sys
from pathlib import Path

import pytest

from emulator import template
from emulator.awslambda import interpreters
from emulator.cloud import LocalCloud
from tests.emulator.probes import probe_template
from tests.local_cloud import LAMBDA_PYTHON, ROOT, eventually

pytestmark = pytest.mark.e2e

OWN = sys.version_info[:2]
# A Runtime that is not the emulator's own Python, whichever that is.
OTHER = "python3.13" if OWN != (3, 13) else "python3.12"


def python313() -> str:
    """Lambda's python3.13 venv when make has built it, else any python3.13 on the machine (the probe needs only
    the standard library)."""
    found = [LAMBDA_PYTHON, *sorted(Path.home().glob(".pyenv/versions/3.13*/bin/python3.13"))]
    found += [Path(p) / "python3.13" for p in os.environ.get("PATH", "").split(os.pathsep)]
    for path in found:
        if path.is_file() and ".pyenv/shims" not in str(path):
            return str(path)
    pytest.fail("no python3.13 on this machine: the emulator's interpreter test needs one (pyenv install 3.13)")


def interpreter_api(tmp_path: Path, runtime: str) -> template.Api:
    text = probe_template({"$default": "record"}).replace("Handler: probe.record", "Handler: interpreter.report")
    path = tmp_path / "interpreter.yml"
    path.write_text(text.replace("Runtime: python3.13", f"Runtime: {runtime}"))
    return template.load(path, {"ProbeDir": str(tmp_path)})


async def run(cloud: LocalCloud, event: dict | None = None) -> dict:
    (function,) = cloud.api.functions.values()
    result = await cloud.functions.invoke(function, event or {})
    assert result.ok, result
    return result.payload


async def test_a_python313_function_runs_on_the_python313_it_is_given_and_not_on_the_emulators(tmp_path, caplog):
    interpreter = python313()
    cloud = LocalCloud(interpreter_api(tmp_path, "python3.13"), port=0, interpreters={"python3.13": interpreter})
    await cloud.start()
    try:
        first = await run(cloud)
        again = await run(cloud)  # warm: the same environment
    finally:
        await cloud.stop()
    assert first["version"] == [3, 13] and first["executable"] == interpreter
    assert not first["sees_moto"]  # isolated: its own site-packages, not the emulator's
    assert first["boto3"] == (interpreter == str(LAMBDA_PYTHON))  # Lambda's venv has boto3; a bare python has not
    assert again["pid"] == first["pid"]
    assert "no interpreter for Runtime" not in caplog.text
    await eventually(lambda: not Path(f"/proc/{first['pid']}").exists())  # stop() ended it: nothing left behind


async def test_a_runtime_without_its_interpreter_runs_on_the_emulators_python_with_a_warning_at_start(tmp_path, caplog):
    cloud = LocalCloud(interpreter_api(tmp_path, OTHER), port=0)
    await cloud.start()
    try:
        warnings = [r for r in caplog.records if r.levelname == "WARNING" and OTHER in r.getMessage()]
        assert len(warnings) == 1  # at start, before any invocation
        reply = await run(cloud)
        await run(cloud)
    finally:
        await cloud.stop()
    assert tuple(reply["version"]) == OWN
    assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 1  # once per Runtime, not per call


async def test_the_emulators_own_runtime_needs_no_interpreter_and_no_warning(tmp_path, caplog):
    cloud = LocalCloud(interpreter_api(tmp_path, interpreters.OWN), port=0)
    await cloud.start()
    try:
        reply = await run(cloud)
    finally:
        await cloud.stop()
    assert tuple(reply["version"]) == OWN
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_a_bad_interpreter_option_is_refused_with_what_to_write():
    with pytest.raises(interpreters.InterpreterError, match="RUNTIME=PATH"):
        interpreters.parse(["python3.13"])
    with pytest.raises(interpreters.InterpreterError, match="no such interpreter"):
        interpreters.parse(["python3.13=/nonexistent/python3.13"])
    assert interpreters.parse([f"python3.13={sys.executable}"]) == {"python3.13": sys.executable}


def test_lambdas_venv_pins_what_the_dev_venv_pins():
    """requirements-lambda.txt pins boto3 as the dev venv does (one SDK version under test), and every other
    package the two share at the same version."""

    def pins(name: str) -> dict[str, str]:
        lines = (ROOT / name).read_text().splitlines()
        found = (line.split("#")[0].strip() for line in lines)
        return {p.split("==")[0].split("[")[0].lower(): p.split("==")[1] for p in found if "==" in p}

    lambda_pins, dev_pins = pins("requirements-lambda.txt"), pins("requirements-dev.txt")
    assert {"boto3", "botocore"} <= lambda_pins.keys()
    assert {name: lambda_pins[name] for name in lambda_pins} == {name: dev_pins.get(name) for name in lambda_pins}
