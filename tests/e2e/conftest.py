"""Shared end-to-end fixtures: the emulator and the Bedrock stand-in on free ports, always stopped afterwards,
a probe template written per test, and a WebSocket client's view of a reply."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import websockets

from emulator import template
from emulator.bedrock import BedrockStandIn
from emulator.gateway import Gateway, Quotas
from emulator.runtime import function_environment, stop_forkserver

ROOT = Path(__file__).parents[2]
PROBE_CODE = Path(__file__).parent / "probe"
ARTICLE = "Hello, AI! What you can do?"


@pytest.fixture(scope="session", autouse=True)
def forkserver() -> Iterator[None]:
    """Every emulator in the session forks its environments from one forkserver; end it with the session."""
    yield
    stop_forkserver()


def _logical(route_key: str) -> str:
    return route_key.lstrip("$").capitalize()


def probe_template(
    routes: dict[str, str],
    unpermitted: tuple[str, ...] = (),
    timeouts: dict[str, int] | None = None,
    permissions: dict[str, dict[str, str]] | None = None,
) -> str:
    """A WebSocket API whose routes run tests/e2e/probe/probe.py handlers: {route key: handler name}.

    Written with the short-form tags, as main.yml is; routes in `unpermitted` get no Lambda::Permission;
    `permissions` replaces properties of a route's Permission ({route key: {"SourceArn": "!Sub ...", ...}}).
    """
    timeouts = timeouts or {}
    permissions = permissions or {}
    lines = [
        'AWSTemplateFormatVersion: "2010-09-09"',
        "Parameters:",
        "  StageName: {Type: String, Default: test}",
        "  ProbeDir: {Type: String}",
        "Resources:",
        "  Api:",
        "    Type: AWS::ApiGatewayV2::Api",
        "    Properties: {Name: probe, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}",
        "  Stage:",
        "    Type: AWS::ApiGatewayV2::Stage",
        "    Properties: {ApiId: !Ref Api, StageName: !Ref StageName}",
    ]
    for key, handler in routes.items():
        name = _logical(key)
        lines += [
            f"  {name}Function:",
            "    Type: AWS::Lambda::Function",
            "    Properties:",
            f"      Handler: probe.{handler}",
            "      Runtime: python3.13",
            f"      Code: {PROBE_CODE}",
            "      Role: !ImportValue probe-role-arn",
            f"      Timeout: {timeouts.get(key, 10)}",
            "      MemorySize: 128",
            "      Environment:",
            "        Variables:",
            '          API_ENDPOINT: !Sub "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}"',
            "          STAGE: !Ref StageName",
            "          PROBE_DIR: !Ref ProbeDir",
            '          PROBE_SETTING: !Sub "${AWS::StackName}-${StageName}"',
            f"  {name}Integration:",
            "    Type: AWS::ApiGatewayV2::Integration",
            "    Properties:",
            "      ApiId: !Ref Api",
            "      IntegrationType: AWS_PROXY",
            f'      IntegrationUri: !Sub "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/'
            f'2015-03-31/functions/${{{name}Function.Arn}}/invocations"',
            f"  {name}Route:",
            "    Type: AWS::ApiGatewayV2::Route",
            "    Properties:",
            "      ApiId: !Ref Api",
            f'      RouteKey: "{key}"',
            f'      Target: !Sub "integrations/${{{name}Integration}}"',
        ]
        if key not in unpermitted:
            properties = {
                "Action": "lambda:InvokeFunction",
                "FunctionName": f"!GetAtt {name}Function.Arn",
                "Principal": "apigateway.amazonaws.com",
                # Wildcards, as IAM's ArnLike matches them: any stage, this route.
                "SourceArn": f'!Sub "arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:'
                f'${{Api}}/*/{key}"',
                **permissions.get(key, {}),
            }
            lines += [f"  {name}Permission:", "    Type: AWS::Lambda::Permission", "    Properties:"]
            lines += [f"      {prop}: {value}" for prop, value in properties.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def emulator(tmp_path: Path) -> Callable:
    """`async with emulator(template_text_or_path, **gateway_kwargs) as gateway`: served on a free port,
    stopped (connections closed, environments ended) on the way out. Probe handlers record into tmp_path."""

    @asynccontextmanager
    async def start(
        source: str | Path,
        quotas: Quotas | None = None,
        environment: dict[str, str] | None = None,
        code_dir: Path | None = None,
        parameters: dict[str, str] | None = None,
        **kwargs,
    ) -> AsyncIterator[Gateway]:
        if isinstance(source, str):
            path = tmp_path / "template.yml"
            path.write_text(source)
            parameters = {"ProbeDir": str(tmp_path), **(parameters or {})}
        else:
            path, parameters = source, parameters or {}
        api = template.load(path, parameters, code_dir=code_dir)
        gateway = Gateway(api, environment, quotas, port=0, **kwargs)
        try:
            await gateway.start()
            yield gateway
        finally:
            await gateway.stop()

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


@pytest.fixture
def chat(emulator: Callable, standin: BedrockStandIn) -> Callable:
    """main.yml + src/ with the stand-in: `async with chat(**gateway_kwargs) as gateway`."""

    def start(source: Path = ROOT / "main.yml", read_timeout: float = 5.0, **kwargs):
        return emulator(source, environment=function_environment(standin.url, read_timeout), **kwargs)

    return start


def records(directory: Path, connection_id: str, event_type: str) -> dict:
    return json.loads((directory / f"{connection_id}.{event_type}.json").read_text())


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


def connection_id_of(gateway: Gateway) -> str:
    """The id of the only open connection (tests that cannot learn it from a frame)."""
    (connection_id,) = gateway.registry.open
    return connection_id


def no_pycache(directory: Path) -> bool:
    return not any(directory.rglob("__pycache__"))


@pytest.fixture(autouse=True)
def emulator_logs(caplog: pytest.LogCaptureFixture) -> None:
    """The emulator's log (connection lines, START/END/REPORT, handlers' output) at INFO, for assertions."""
    caplog.set_level(logging.INFO, logger="emulator")
