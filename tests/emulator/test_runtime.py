"""Execution environments as Lambda runs them: warm module state, the template's environment, one invocation
at a time per environment, the template's Timeout, crash isolation, and sam-local-style logs."""

import os
import re
import subprocess
import sys
import time

import pytest
import websockets

from tests.emulator.probes import PROBE_CODE, no_pycache, probe_template
from tests.local_cloud import ROOT, eventually, receive_json

pytestmark = pytest.mark.e2e

ROUTES = {"echo": "echo", "sleep": "sleep", "crash": "crash"}


def reports(caplog: pytest.LogCaptureFixture) -> int:
    return caplog.text.count("REPORT RequestId")


async def test_a_warm_environment_keeps_module_state_and_gets_the_templates_environment(emulator, caplog):
    async with emulator(probe_template(ROUTES)) as cloud, websockets.connect(cloud.url) as ws:
        replies = []
        for n in range(3):
            await ws.send('{"action": "echo"}')
            replies.append(await receive_json(ws))
            # The post arrives before the handler returns; only then is the environment free for the next.
            await eventually(lambda n=n: reports(caplog) == n + 1)
    assert [r["invocations"] for r in replies] == [1, 2, 3]
    assert len({r["pid"] for r in replies}) == 1
    first = replies[0]
    assert first["environment"] == {
        "API_ENDPOINT": cloud.stage.endpoint,  # the deployed API's https:// URL, pointed at the emulator
        "STAGE": "test",
        "PROBE_SETTING": "local-test",
        "AWS_REGION": "ap-northeast-1",
    }
    assert first["function_name"] == "local-EchoFunction-" + first["function_name"].rsplit("-", 1)[1]
    assert first["memory_limit_in_mb"] == 128 and 9000 < first["remaining_ms"] <= 10000
    assert first["dont_write_bytecode"] is True
    assert no_pycache(PROBE_CODE)


async def test_concurrent_invocations_get_their_own_environments_which_are_then_reused(emulator, caplog):
    async with emulator(probe_template(ROUTES)) as cloud:
        clients = [await websockets.connect(cloud.url) for _ in range(3)]
        try:
            rounds = []
            for n in (1, 2):
                for ws in clients:
                    await ws.send('{"action": "sleep", "seconds": 0.4}')
                rounds.append({(await receive_json(ws))["slept"] for ws in clients})
                await eventually(lambda n=n: reports(caplog) == 3 * n)
        finally:
            for ws in clients:
                await ws.close()
        processes = cloud.runtime.pids()
    assert len(rounds[0]) == 3  # three at once: three environments
    assert rounds[1] == rounds[0]  # idle again: the same three, warm
    assert set(processes) >= rounds[0] and len(processes) == 3 + 1  # and the forkserver


async def test_the_templates_timeout_kills_the_environment(emulator, caplog):
    template = probe_template(ROUTES, timeouts={"sleep": 1})
    async with emulator(template) as cloud, websockets.connect(cloud.url) as ws:
        await ws.send('{"action": "sleep", "seconds": 2.5}')
        # The environment that runs it (the only one besides the forkserver).
        (sleeper,) = await eventually(lambda: [p for p in cloud.runtime.pids()[:-1]])
        frame = await receive_json(ws, timeout=4)
        await eventually(lambda: not pid_exists(sleeper))  # killed, not just left to finish
        await ws.send('{"action": "sleep", "seconds": 0}')  # a fresh environment serves the next one
        assert (await receive_json(ws))["slept"] != sleeper
        # Had it lived, the first sleep would post {"slept": ...} 2.5 s after it started: nothing more comes.
        with pytest.raises(TimeoutError):
            await receive_json(ws, timeout=2)
    assert frame["message"] == "Internal server error"
    assert re.search(r"Task timed out after 1\.00 seconds", caplog.text)


def pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_a_crashing_environment_does_not_take_the_gateway_down(emulator, caplog):
    async with emulator(probe_template(ROUTES)) as cloud, websockets.connect(cloud.url) as ws:
        await ws.send('{"action": "crash", "exit": false}')
        before = await receive_json(ws)
        assert before["invocations"] == 1
        await eventually(lambda: reports(caplog) == 1)  # its environment is idle again: the crash runs there
        await ws.send('{"action": "crash"}')
        assert (await receive_json(ws))["message"] == "Internal server error"
        await ws.send('{"action": "crash", "exit": false}')  # the same function: a new environment, cold
        after = await receive_json(ws)
        await ws.send('{"action": "echo"}')  # and the other functions are served as before
        assert "invocations" in await receive_json(ws)
    assert (after["invocations"], after["pid"] != before["pid"]) == (1, True)
    assert not pid_exists(before["pid"])
    assert "Runtime exited" in caplog.text


def test_environments_never_write_bytecode_even_when_the_emulator_may(tmp_path):
    """Checked in a process started without PYTHONDONTWRITEBYTECODE or -B: with either (as some machines set),
    every process skips bytecode anyway and the e2e tests cannot see the environment's own setting."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "handler.py").write_text("def handler(event, context):\n    return 1\n")
    script = (
        "import multiprocessing, sys\n"
        "from emulator.awslambda.bootstrap import Spec, environment_main\n"
        "assert not sys.dont_write_bytecode\n"
        "parent, child = multiprocessing.Pipe()\n"
        f"spec = Spec('f', 'arn', 'handler.handler', {str(code)!r}, 128, 'group', {{}})\n"
        "parent.close()  # the environment imports its handler, then finds nobody to report to, and exits\n"
        "environment_main(child, spec)\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment, check=True, timeout=60)
    assert no_pycache(code), "the environment wrote __pycache__ into the function's code (src/ is zipped as is)"


async def test_logs_read_like_sam_local(emulator, caplog):
    async with emulator(probe_template(ROUTES)) as cloud, websockets.connect(cloud.url) as ws:
        await ws.send('{"action": "echo"}')
        request_id = (await receive_json(ws))["event"]["requestContext"]["requestId"]
        await eventually(lambda: reports(caplog) == 1)
        await ws.send('{"action": "echo"}')
        await receive_json(ws)
        await eventually(lambda: reports(caplog) == 2)
        (connection_id,) = cloud.stage.registry.open
    lines = caplog.text
    assert f"{connection_id} connected from 127.0.0.1" in lines
    assert f"{connection_id} MESSAGE echo -> EchoFunction requestId={request_id}" in lines
    found = re.findall(
        r"REPORT RequestId: ([0-9a-f-]{36})\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\t"
        r"Max Memory Used: \d+ MB(\tInit Duration: [\d.]+ ms)?",
        lines,
    )
    assert len(found) == 2 and found[0][1] and not found[1][1]  # Init Duration on the cold start only
    for lambda_request_id, _ in found:
        start = lines.index(f"START RequestId: {lambda_request_id} Version: $LATEST")
        end = lines.index(f"END RequestId: {lambda_request_id}")
        assert start < end < lines.index(f"REPORT RequestId: {lambda_request_id}")
    assert f"probe echo {request_id}" in lines  # the handler's own output, between START and END


async def test_real_cold_starts_cost_the_handlers_import_in_a_fresh_interpreter(emulator, caplog):
    """--cold-start real (issue 15): a forked environment's INIT is only the handler's own lines; on Lambda the
    probe's INIT also imports boto3 and builds its client, which is what `real` charges and reports."""
    init_ms, first_call_s = {}, {}
    for mode in ("fast", "real"):
        caplog.clear()
        async with emulator(probe_template({"echo": "echo"})) as cloud:
            cloud.runtime.cold_start = mode
            async with websockets.connect(cloud.url) as ws:
                started = time.monotonic()
                await ws.send('{"action": "echo"}')
                await receive_json(ws)
                first_call_s[mode] = time.monotonic() - started
                await eventually(lambda: "Init Duration" in caplog.text)
        (init_ms[mode],) = [float(ms) for ms in re.findall(r"Init Duration: ([\d.]+) ms", caplog.text)]
    # boto3's import, measured: hundreds of ms on any machine; forked, it is already in memory.
    assert init_ms["real"] >= 100 and init_ms["real"] >= init_ms["fast"] + 50
    assert first_call_s["real"] >= init_ms["real"] / 1000  # and the client waited for it
