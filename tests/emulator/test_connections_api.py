"""The @connections management API on the gateway's own port, as the unchanged boto3 client sees it."""

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import boto3
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.emulator.probes import probe_template, records
from tests.local_cloud import eventually, receive_json

pytestmark = pytest.mark.e2e

ROUTES = {"$disconnect": "record", "manage": "manage"}


def manage(**request) -> str:
    return json.dumps({"action": "manage", **request})


async def test_post_delivers_text_and_binary_frames(emulator):
    async with emulator(probe_template(ROUTES)) as cloud, websockets.connect(cloud.url) as ws:
        await ws.send(manage(call="post", data="héllo"))
        assert await ws.recv() == "héllo"  # valid UTF-8: a text frame
        assert await receive_json(ws) == "posted"
        await ws.send(manage(call="post", size=3))
        assert await ws.recv() == b"\xff\xff\xff"  # not UTF-8: a binary frame
        assert await receive_json(ws) == "posted"


async def test_post_to_an_unknown_or_closed_connection_raises_gone(emulator):
    async with emulator(probe_template(ROUTES)) as cloud:
        async with websockets.connect(cloud.url) as gone:
            await gone.send(manage(call="get"))
            await receive_json(gone)
            (gone_id,) = cloud.stage.registry.open
        async with websockets.connect(cloud.url) as ws:
            for target in ("Zx1mHdJ-tjMCJgQ=", gone_id):
                await ws.send(manage(call="post", target=target, data="hi"))
                assert await receive_json(ws) == "GoneException"
            await ws.send(manage(call="get", target=gone_id))
            assert await receive_json(ws) == "GoneException"


async def test_post_over_128_kb_raises_payload_too_large(emulator):
    async with emulator(probe_template(ROUTES)) as cloud, websockets.connect(cloud.url) as ws:
        await ws.send(manage(call="post", size=128 * 1024))
        assert await ws.recv() == b"\xff" * 128 * 1024
        assert await receive_json(ws) == "posted"
        # Past 1 MiB too: the modelled error, not aiohttp's own bare 413 (issue 15).
        for size in (128 * 1024 + 1, 1024 * 1024 + 1, 3 * 1024 * 1024):
            await ws.send(manage(call="post", size=size))
            assert await receive_json(ws) == "PayloadTooLargeException"


async def test_get_returns_connection_info_that_boto3_parses(emulator):
    async with (
        emulator(probe_template(ROUTES)) as cloud,
        websockets.connect(cloud.url, user_agent_header="probe/2") as ws,
    ):
        await ws.send(manage(call="get"))
        info = await receive_json(ws)
    assert info["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "probe/2"}
    assert info["ConnectedAt"].endswith("+00:00") and info["ConnectedAt"] <= info["LastActiveAt"]


async def test_delete_closes_the_socket_and_disconnect_runs(emulator, tmp_path: Path):
    async with emulator(probe_template(ROUTES)) as cloud:
        async with websockets.connect(cloud.url) as ws:
            (connection_id,) = cloud.stage.registry.open
            await ws.send(manage(call="delete"))
            with pytest.raises(ConnectionClosed) as closed:
                await receive_json(ws)
        assert closed.value.rcvd.code == 1000
        await eventually(lambda: (tmp_path / f"{connection_id}.DISCONNECT.json").exists())
    assert records(tmp_path, connection_id, "DISCONNECT")["requestContext"]["disconnectStatusCode"] == 1000


async def test_gone_is_410_with_the_error_type_header_and_no_body(emulator):
    async with emulator(probe_template(ROUTES)) as cloud, aiohttp.ClientSession() as http:
        url = f"{cloud.stage.endpoint}/{cloud.api.stage}/@connections/Zx1mHdJ-tjMCJgQ%3D"
        for method in ("POST", "GET", "DELETE"):
            async with http.request(method, url, data=b"x") as response:
                assert response.status == 410
                assert response.headers["x-amzn-ErrorType"] == "GoneException"
                assert await response.read() == b""  # AWS sends no body, never {"message": null}


def _call(endpoint: str, operation: str, **params) -> dict:
    """One call with boto3's own client; the modelled error's parsed response if it raises."""
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    try:
        getattr(client, operation)(**params)
    except client.exceptions.ClientError as exc:
        return exc.response["Error"]
    return {}


async def test_boto3_reads_the_error_messages_aws_sends(emulator):
    async with emulator(probe_template(ROUTES)) as cloud, websockets.connect(cloud.url):
        (open_id,) = cloud.stage.registry.open
        stage_url = f"{cloud.stage.endpoint}/{cloud.api.stage}"
        gone = await asyncio.to_thread(_call, stage_url, "post_to_connection", ConnectionId="Zx1m=", Data=b"x")
        big = b"x" * (1024 * 1024 + 1)
        too_big = await asyncio.to_thread(_call, stage_url, "post_to_connection", ConnectionId=open_id, Data=big)
        # The endpoint without its stage (a classic mistake): API Gateway's 403.
        forbidden = await asyncio.to_thread(_call, cloud.stage.endpoint, "get_connection", ConnectionId="Zx1m=")
    assert gone == {"Code": "GoneException", "Message": ""}  # the CLI prints "…operation: " as from AWS
    assert too_big == {"Code": "PayloadTooLargeException", "Message": "Message too long"}
    assert forbidden == {"Code": "ForbiddenException", "Message": "Forbidden"}


async def test_post_latency_delays_every_post(emulator):
    async with (
        emulator(probe_template(ROUTES), post_latency_ms=300, record_frames=True) as cloud,
        websockets.connect(cloud.url) as ws,
    ):
        started = time.monotonic()
        await ws.send(manage(call="post", data="late"))
        assert await ws.recv() == "late"
        (connection,) = cloud.stage.registry.open.values()
        assert connection.frames[0].at - started >= 0.3
