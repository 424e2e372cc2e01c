"""The gateway as API Gateway behaves: events per eventType, route selection, its own error frames, the
$connect handshake, and the quotas (with small configured values)."""

import asyncio
import json
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import Frame, Opcode

from emulator import template
from emulator.apigateway.frames import FrameQuota
from emulator.apigateway.registry import Quotas
from emulator.template import TemplateError
from tests.emulator.probes import probe_template, records
from tests.local_cloud import eventually, receive_json
from tests.sample_events import load_event

pytestmark = pytest.mark.e2e

ROUTES = {"$connect": "connect", "$disconnect": "record", "$default": "echo", "echo": "echo", "boom": "boom"}


async def test_events_have_the_shape_api_gateway_sends(emulator, tmp_path: Path):
    async with emulator(probe_template(ROUTES)) as cloud:
        async with websockets.connect(cloud.url + "?team=a&team=b&lang=en", user_agent_header="probe/1") as ws:
            await ws.send('{"action": "echo", "n": 1}')
            message = (await receive_json(ws))["event"]
            await ws.send('{"action": "echo", "n": 2}')
            second = (await receive_json(ws))["event"]
            connection_id = message["requestContext"]["connectionId"]
        disconnect = await eventually(lambda: (tmp_path / f"{connection_id}.DISCONNECT.json").exists())
    assert disconnect
    connect = records(tmp_path, connection_id, "CONNECT")
    disconnect = records(tmp_path, connection_id, "DISCONNECT")

    for event, sample in [
        (connect, load_event("apiGatewayWebSocketApiConnect")),
        (message, load_event("apiGatewayWebSocketApiMessage")),
        (disconnect, load_event("apiGatewayWebSocketApiDisconnect")),
    ]:
        assert set(event["requestContext"]) == set(sample["requestContext"])
        assert {k for k in event if k != "queryStringParameters" and not k.startswith("multiValueQuery")} == set(sample)
        context = event["requestContext"]
        assert context["connectionId"] == connection_id and len(connection_id) == 16
        assert context["stage"] == "test" and context["apiId"] == cloud.api.api_id
        assert context["domainName"] == f"127.0.0.1:{cloud.stage.port}"
        assert context["identity"] == {"userAgent": "probe/1", "sourceIp": "127.0.0.1"}
        assert context["messageDirection"] == "IN"
        assert context["connectedAt"] <= context["requestTimeEpoch"]

    assert connect["requestContext"]["routeKey"] == "$connect" and connect["requestContext"]["eventType"] == "CONNECT"
    assert connect["headers"]["User-Agent"] == "probe/1" and connect["multiValueHeaders"]["User-Agent"] == ["probe/1"]
    assert connect["queryStringParameters"] == {"team": "b", "lang": "en"}
    assert connect["multiValueQueryStringParameters"] == {"team": ["a", "b"], "lang": ["en"]}
    assert message["requestContext"]["routeKey"] == "echo" and message["requestContext"]["eventType"] == "MESSAGE"
    assert message["body"] == '{"action": "echo", "n": 1}' and message["isBase64Encoded"] is False
    assert message["requestContext"]["messageId"] != second["requestContext"]["messageId"]
    assert disconnect["requestContext"]["disconnectStatusCode"] == 1000
    assert disconnect["requestContext"]["disconnectReason"].startswith("Client-side close frame status code '1000'")


@pytest.mark.parametrize(
    ("body", "route"),
    [
        ('{"action": "echo"}', "echo"),
        ('{"action": "ECHO"}', "$default"),  # route keys are case-sensitive
        ('{"action": "nope"}', "$default"),
        ('{"action": 5}', "$default"),
        ('{"text": "no action"}', "$default"),
        ('["echo"]', "$default"),
        ("not json", "$default"),
    ],
)
async def test_route_selection_evaluates_the_expression_on_the_json_body(emulator, body: str, route: str):
    async with (
        emulator(probe_template({"$default": "echo", "echo": "echo"})) as cloud,
        websockets.connect(cloud.url) as ws,
    ):
        await ws.send(body)
        event = (await receive_json(ws))["event"]
    assert event["requestContext"]["routeKey"] == route
    assert event["body"] == body


async def test_without_default_route_unmatched_messages_get_forbidden(emulator):
    async with emulator(probe_template({"echo": "echo"})) as cloud, websockets.connect(cloud.url) as ws:
        await ws.send('{"action": "other"}')
        frame = await receive_json(ws)
        (connection_id,) = cloud.stage.registry.open
        await ws.send('{"action": "echo"}')  # still connected, still routed
        assert (await receive_json(ws))["event"]["requestContext"]["routeKey"] == "echo"
    assert set(frame) == {"message", "connectionId", "requestId"}
    assert frame["message"] == "Forbidden" and frame["connectionId"] == connection_id


async def test_a_handler_that_raises_gives_internal_server_error_and_the_gateway_keeps_serving(emulator, caplog):
    async with (
        emulator(probe_template(ROUTES)) as cloud,
        websockets.connect(cloud.url) as ws,
        websockets.connect(cloud.url) as other,
    ):
        await ws.send('{"action": "boom"}')
        frame = await receive_json(ws)
        await other.send('{"action": "echo"}')
        assert (await receive_json(other))["event"]["requestContext"]["routeKey"] == "echo"
        await ws.send('{"action": "echo"}')
        assert (await receive_json(ws))["event"]["requestContext"]["routeKey"] == "echo"
    assert frame["message"] == "Internal server error" and set(frame) == {"message", "connectionId", "requestId"}
    assert "[ERROR] ValueError: the probe failed on purpose" in caplog.text


async def test_a_route_without_lambda_permission_fails_as_on_aws(emulator, caplog):
    async with (
        emulator(probe_template(ROUTES, unpermitted=("echo",))) as cloud,
        websockets.connect(cloud.url) as ws,
    ):
        await ws.send('{"action": "echo"}')
        frame = await receive_json(ws)
    assert frame["message"] == "Internal server error"
    assert "Invalid permissions on Lambda function EchoFunction" in caplog.text
    assert "probe echo" not in caplog.text  # Lambda refused the call: the handler never ran


ARN = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}"


@pytest.mark.parametrize(
    "permission",
    [
        {"SourceArn": f'!Sub "{ARN}:${{Api}}/*/boom"'},  # another route
        {"SourceArn": f'!Sub "{ARN}:${{Api}}/prod/echo"'},  # another stage (the probe's is "test")
        {"SourceArn": f'!Sub "{ARN}:abcdef1234/*/echo"'},  # another API
        {"SourceArn": f'!Sub "{ARN}:${{Api}}/prod/boom"'},  # another route and another stage
        {"SourceAccount": "210987654321"},  # another account
    ],
)
async def test_a_permission_for_another_source_fails_as_on_aws(emulator, caplog, permission):
    """The emulator checks SourceArn (and SourceAccount) as Lambda does, not only that a Permission exists."""
    async with (
        emulator(probe_template(ROUTES, permissions={"echo": permission})) as cloud,
        websockets.connect(cloud.url) as ws,
    ):
        await ws.send('{"action": "echo"}')
        frame = await receive_json(ws)
    assert frame["message"] == "Internal server error"
    assert "Invalid permissions on Lambda function EchoFunction" in caplog.text


async def test_a_permission_naming_this_stage_and_route_exactly_is_enough(emulator):
    exact = {"SourceArn": f'!Sub "{ARN}:${{Api}}/test/echo"', "SourceAccount": "!Ref AWS::AccountId"}
    async with (
        emulator(probe_template(ROUTES, permissions={"echo": exact})) as cloud,
        websockets.connect(cloud.url) as ws,
    ):
        await ws.send('{"action": "echo"}')
        assert (await receive_json(ws))["event"]["requestContext"]["routeKey"] == "echo"


@pytest.mark.parametrize(
    ("permission", "member"),
    [
        ({"SourceArn": '!Sub "arn:aws:execute-api:*:${AWS::AccountId}:${Api}/*/echo"'}, "sourceArn"),
        ({"SourceArn": '!Sub "arn:aws:execute-api:${AWS::Region}:*:${Api}/*/echo"'}, "sourceArn"),
        ({"SourceArn": '!Sub "arn:aws:*:${AWS::Region}:${AWS::AccountId}:${Api}/*/echo"'}, "sourceArn"),
        ({"SourceArn": '!Sub "arn:*:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*/echo"'}, "sourceArn"),
        ({"SourceAccount": "'*'"}, "sourceAccount"),
        ({"Action": "lambda:Invoke*"}, "action"),
    ],
)
def test_what_lambdas_add_permission_refuses_fails_to_load(tmp_path: Path, permission, member):
    """CloudFormation's deploy would fail at the Permission: so does the emulator, with Lambda's words."""
    path = tmp_path / "template.yml"
    path.write_text(probe_template(ROUTES, permissions={"echo": permission}))
    with pytest.raises(TemplateError, match=f"EchoPermission: .* at '{member}' failed to satisfy constraint"):
        template.load(path, {"ProbeDir": str(tmp_path)})


async def test_connect_returning_non_2xx_rejects_the_handshake_with_that_status(emulator):
    async with emulator(probe_template(ROUTES)) as cloud:
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(cloud.url + "?status=401")
        assert refused.value.response.status_code == 401
        with pytest.raises(InvalidStatus) as failed:
            await websockets.connect(cloud.url + "?raise=1")
        assert failed.value.response.status_code == 500
        assert not cloud.stage.registry.open


async def test_a_message_over_the_size_quota_closes_with_1009(emulator):
    async with (
        emulator(probe_template(ROUTES), Quotas(max_message_bytes=1024)) as cloud,
        websockets.connect(cloud.url) as ws,
    ):
        await ws.send(json.dumps({"action": "echo", "pad": "x" * 900}))  # under: served
        assert (await receive_json(ws))["event"]["requestContext"]["routeKey"] == "echo"
        await ws.send(json.dumps({"action": "echo", "pad": "x" * 2000}))
        with pytest.raises(ConnectionClosed) as closed:
            await receive_json(ws)
    assert closed.value.rcvd.code == 1009


async def test_a_binary_frame_closes_the_connection_with_1003(emulator, tmp_path: Path, caplog):
    """API Gateway does not take binary frames from clients ("Working with binary media types for WebSocket APIs")."""
    async with emulator(probe_template(ROUTES)) as cloud, websockets.connect(cloud.url) as ws:
        (connection_id,) = cloud.stage.registry.open
        await ws.send(b'{"action": "echo"}')
        with pytest.raises(ConnectionClosed) as closed:
            await receive_json(ws)
        await eventually(lambda: (tmp_path / f"{connection_id}.DISCONNECT.json").exists())
    assert closed.value.rcvd.code == 1003
    assert records(tmp_path, connection_id, "DISCONNECT")["requestContext"]["disconnectStatusCode"] == 1003
    assert "probe echo" not in caplog.text  # no route ran


def _frame(size: int) -> str:
    """An echo message of exactly `size` bytes."""
    message = json.dumps({"action": "echo", "pad": ""})
    return message.replace('""', '"' + "x" * (size - len(message)) + '"')


async def test_a_frame_over_32_kb_closes_with_1009_and_says_why(emulator, tmp_path: Path):
    """A browser sends each message as one frame: over 32 KB, API Gateway closes the connection (issue 15)."""
    async with (
        emulator(probe_template(ROUTES)) as cloud,
        websockets.connect(cloud.url, compression=None, max_size=None) as ws,
    ):
        (connection_id,) = cloud.stage.registry.open
        await ws.send(_frame(32 * 1024))  # at the quota: served
        assert (await receive_json(ws))["event"]["body"] == _frame(32 * 1024)
        await ws.send(_frame(32 * 1024 + 1))
        with pytest.raises(ConnectionClosed) as closed:
            await receive_json(ws)
        await eventually(lambda: (tmp_path / f"{connection_id}.DISCONNECT.json").exists())
    assert closed.value.rcvd.code == 1009
    assert closed.value.rcvd.reason == "Frame of 32769 bytes is over the 32768-byte quota; send fragments"
    context = records(tmp_path, connection_id, "DISCONNECT")["requestContext"]
    assert context["disconnectStatusCode"] == 1009 and "32768-byte quota" in context["disconnectReason"]


async def test_a_message_of_up_to_128_kb_in_fragments_of_32_kb_is_served(emulator):
    message = _frame(100 * 1024)
    fragments = [message[i : i + 32 * 1024] for i in range(0, len(message), 32 * 1024)]
    async with (
        emulator(probe_template(ROUTES)) as cloud,
        websockets.connect(cloud.url, compression=None, max_size=None) as ws,
    ):
        await ws.send(fragments)  # websockets sends an iterable as one fragmented message, a frame per item
        assert (await receive_json(ws))["event"]["body"] == message
        too_long = _frame(128 * 1024 + 1)
        await ws.send([too_long[i : i + 32 * 1024] for i in range(0, len(too_long), 32 * 1024)])
        with pytest.raises(ConnectionClosed) as closed:
            await receive_json(ws)
    assert closed.value.rcvd.code == 1009  # the message quota, counted over the fragments


def test_the_frame_quota_reads_every_header_however_the_bytes_are_split():
    """Frames as a real client masks and sizes them (7-, 16- and 64-bit lengths), fed one byte at a time: the
    reader behind sees the same bytes until a frame is too big, then only control frames."""
    small = [Frame(Opcode.TEXT, b"x" * n, fin=False) for n in (0, 125, 126, 40000 - 1)] + [Frame(Opcode.CONT, b"end")]
    big, after = (
        Frame(Opcode.TEXT, b"y" * 70000),
        [Frame(Opcode.TEXT, b"lost"), Frame(Opcode.PING, b"p"), Frame(Opcode.CLOSE, b"")],
    )
    wire = [frame.serialize(mask=True, extensions=[]) for frame in [*small, big, *after]]
    fed, violations = bytearray(), []

    class Reader:
        def feed_data(self, data: bytes) -> tuple[bool, bytes]:
            fed.extend(data)
            return False, b""

    quota = FrameQuota(Reader(), 40000, violations.append)
    for byte in b"".join(wire):
        quota.feed_data(bytes([byte]))
    assert violations == [70000]
    assert bytes(fed) == b"".join(wire[:5]) + wire[-2] + wire[-1]


async def test_an_idle_connection_is_closed_at_the_idle_timeout(emulator, tmp_path: Path):
    async with (
        emulator(probe_template(ROUTES), Quotas(idle_timeout=0.6)) as cloud,
        websockets.connect(cloud.url) as ws,
    ):
        for _ in range(3):  # activity keeps it open past the timeout
            await ws.send('{"action": "echo"}')
            connection_id = (await receive_json(ws))["event"]["requestContext"]["connectionId"]
            await asyncio.sleep(0.3)
        with pytest.raises(ConnectionClosed) as closed:
            await receive_json(ws, timeout=3)
        await eventually(lambda: (tmp_path / f"{connection_id}.DISCONNECT.json").exists())
    assert closed.value.rcvd.code == 1001
    assert records(tmp_path, connection_id, "DISCONNECT")["requestContext"]["disconnectStatusCode"] == 1001


async def test_a_connection_is_closed_at_the_maximum_duration_even_when_active(emulator):
    async with (
        emulator(probe_template(ROUTES), Quotas(idle_timeout=10, max_duration=0.8)) as cloud,
        websockets.connect(cloud.url) as ws,
    ):
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws.send('{"action": "echo"}')
                await receive_json(ws, timeout=3)
    assert closed.value.rcvd.code == 1001


async def test_integration_timeout_sends_endpoint_request_timed_out_while_the_handler_keeps_running(emulator):
    async with (
        emulator(probe_template({"sleep": "sleep"}), Quotas(integration_timeout=0.3)) as cloud,
        websockets.connect(cloud.url) as ws,
    ):
        await ws.send('{"action": "sleep", "seconds": 1}')
        frame = await receive_json(ws)
        assert frame["message"] == "Endpoint request timed out"
        assert set(frame) == {"message", "connectionId", "requestId"}
        assert "slept" in await receive_json(ws)  # the handler finished after the gateway gave up


async def test_a_browser_socket_is_refused_unless_it_comes_from_the_emulators_own_page(emulator, tmp_path: Path):
    """Any web page the developer visits could otherwise drive the local API (issue 23): a foreign Origin gets 403
    at the upgrade and $connect never runs; the emulator's own page, and clients that send no Origin, connect."""
    async with emulator(probe_template(ROUTES)) as cloud:
        port = cloud.stage.port
        for foreign in ("https://evil.example", f"http://127.0.0.1:{port + 1}", "null", f"https://127.0.0.1:{port}"):
            with pytest.raises(InvalidStatus) as refused:
                await websockets.connect(cloud.url, origin=foreign)
            assert refused.value.response.status_code == 403, foreign
        assert not list(tmp_path.glob("*.CONNECT.json"))  # refused before $connect
        for own in (f"http://127.0.0.1:{port}", f"http://localhost:{port}", None):
            async with websockets.connect(cloud.url, origin=own) as ws:
                await ws.send('{"action": "echo"}')
                assert (await receive_json(ws))["event"]["requestContext"]["routeKey"] == "echo"
        assert len(list(tmp_path.glob("*.CONNECT.json"))) == 3
