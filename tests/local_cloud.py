"""The emulator in tests: fixtures that start a local cloud and the Bedrock stand-in on free ports and always stop
them (tests/e2e and tests/emulator import them into their conftest.py), and a WebSocket client's view of a reply.

The product's functions (`chat`) run on the interpreter their Runtime names when the machine has one (.venv-lambda:
python3.13 with Lambda's boto3, which make builds when there is a python3.13), as `make local` runs them; else on
this Python, with the emulator's warning. `emulator` forks every environment from this Python unless given
`interpreters`: the emulator's own tests exercise both.
"""

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import websockets

from emulator import template
from emulator.apigateway.registry import Quotas
from emulator.awslambda.runtime import stop_forkserver
from emulator.bedrock.server import BedrockStandIn
from emulator.cloud import LocalCloud, function_environment

ROOT = Path(__file__).parents[1]
ARTICLE = "Hello, AI! What you can do?"
# Lambda's python3.13, when `make` has built it (Makefile: LAMBDA_PY).
LAMBDA_PYTHON = ROOT / ".venv-lambda" / "bin" / "python"


def lambda_interpreters() -> dict[str, str]:
    """What the e2e fixtures give the emulator: {Runtime: interpreter} for the runtimes this machine has."""
    return {"python3.13": str(LAMBDA_PYTHON)} if LAMBDA_PYTHON.is_file() else {}


@pytest.fixture(scope="session", autouse=True)
def forkserver() -> Iterator[None]:
    """Every emulator in the session forks its environments from one forkserver; end it with the session."""
    yield
    stop_forkserver()


@pytest.fixture
def emulator(tmp_path: Path) -> Callable:
    """`async with emulator(template_text_or_path, **cloud_kwargs) as cloud`: served on a free port, stopped
    (connections closed, environments ended) on the way out. A template given as text gets ProbeDir=tmp_path."""

    @asynccontextmanager
    async def start(
        source: str | Path,
        quotas: Quotas | None = None,
        environment: dict[str, str] | None = None,
        code_dir: Path | None = None,
        parameters: dict[str, str] | None = None,
        **kwargs,
    ) -> AsyncIterator[LocalCloud]:
        if isinstance(source, str):
            path = tmp_path / "template.yml"
            path.write_text(source)
            parameters = {"ProbeDir": str(tmp_path), **(parameters or {})}
        else:
            path, parameters = source, parameters or {}
        api = template.load(path, parameters, code_dir=code_dir)
        cloud = LocalCloud(api, environment, quotas, port=0, **kwargs)
        try:
            await cloud.start()
            yield cloud
        finally:
            await cloud.stop()

    return start


@pytest.fixture
async def standin() -> AsyncIterator[BedrockStandIn]:
    """Fast by default (the tests' replies are ~80 pieces); a directive in the prompt changes speed per request."""
    bedrock = BedrockStandIn(rate=400, ttft_ms=0)
    await bedrock.start()
    try:
        yield bedrock
    finally:
        await bedrock.stop()


def chat_environment(bedrock_url: str, read_timeout: float = 5.0) -> dict[str, str]:
    """main.yml's functions' extra environment: the stand-in, and how long src/ waits for a Bedrock read."""
    return {**function_environment(bedrock_url), "BEDROCK_READ_TIMEOUT": str(read_timeout)}


@pytest.fixture
def chat(emulator: Callable, standin: BedrockStandIn) -> Callable:
    """main.yml + src/ with the stand-in, on Lambda's Python when there is one: `async with chat(**cloud_kwargs) as
    cloud`."""

    def start(source: Path = ROOT / "main.yml", read_timeout: float = 5.0, **kwargs):
        environment = chat_environment(standin.url, read_timeout)
        return emulator(source, environment=environment, interpreters=lambda_interpreters(), **kwargs)

    return start


@pytest.fixture(autouse=True)
def emulator_logs(caplog: pytest.LogCaptureFixture) -> None:
    """The emulator's log (connection lines, START/END/REPORT, handlers' output) at INFO, for assertions."""
    caplog.set_level(logging.INFO, logger="emulator")


async def eventually(check: Callable[[], object], timeout: float = 5.0) -> object:
    """Poll until `check()` is truthy (an event recorded by a handler in another process, a stream ended)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (result := check()):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.02)
    return result


async def receive_json(ws: websockets.ClientConnection, timeout: float = 5.0) -> object:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def read_reply(ws: websockets.ClientConnection, timeout: float = 10.0) -> tuple[list[str], dict]:
    """String frames until the first object frame (end or error): the deltas and that control frame.

    API Gateway's own `{"message": "Endpoint request timed out", ...}` (SendText past 29 s, as on a loaded
    machine's cold starts) is skipped: the reply goes on after it, as on AWS."""
    deltas: list[str] = []
    while True:
        frame = await receive_json(ws, timeout)
        if isinstance(frame, str):
            deltas.append(frame)
        elif frame.get("message") != "Endpoint request timed out":
            return deltas, frame


def sendtext(text: str) -> str:
    return json.dumps({"action": "sendtext", "text": text})


def connection_id_of(cloud: LocalCloud) -> str:
    """The id of the only open connection (tests that cannot learn it from a frame)."""
    (connection_id,) = cloud.stage.registry.open
    return connection_id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
