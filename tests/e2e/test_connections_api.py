"""The @connections management API on the gateway's own port, as the unchanged boto3 client sees it."""

import json
import time
from pathlib import Path

import aiohttp
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import eventually, probe_template, receive_json, records

pytestmark = pytest.mark.e2e

ROUTES = {"$disconnect": "record", "manage": "manage"}


def manage(**request) -> str:
    return json.dumps({"action": "manage", **request})


async def test_post_delivers_text_and_binary_frames(emulator):
    async with emulator(probe_template(ROUTES)) as gateway, websockets.connect(gateway.url) as ws:
        await ws.send(manage(call="post", data="héllo"))
        assert await ws.recv() == "héllo"  # valid UTF-8: a text frame
        assert await receive_json(ws) == "posted"
        await ws.send(manage(call="post", size=3))
        assert await ws.recv() == b"\xff\xff\xff"  # not UTF-8: a binary frame
        assert await receive_json(ws) == "posted"


async def test_post_to_an_unknown_or_closed_connection_raises_gone(emulator):
    async with emulator(probe_template(ROUTES)) as gateway:
        async with websockets.connect(gateway.url) as gone:
            await gone.send(manage(call="get"))
            await receive_json(gone)
            (gone_id,) = gateway.registry.open
        async with websockets.connect(gateway.url) as ws:
            for target in ("Zx1mHdJ-tjMCJgQ=", gone_id):
                await ws.send(manage(call="post", target=target, data="hi"))
                assert await receive_json(ws) == "GoneException"
            await ws.send(manage(call="get", target=gone_id))
            assert await receive_json(ws) == "GoneException"


async def test_post_over_128_kb_raises_payload_too_large(emulator):
    async with emulator(probe_template(ROUTES)) as gateway, websockets.connect(gateway.url) as ws:
        await ws.send(manage(call="post", size=128 * 1024))
        assert await ws.recv() == b"\xff" * 128 * 1024
        assert await receive_json(ws) == "posted"
        await ws.send(manage(call="post", size=128 * 1024 + 1))
        assert await receive_json(ws) == "PayloadTooLargeException"


async def test_get_returns_connection_info_that_boto3_parses(emulator):
    async with (
        emulator(probe_template(ROUTES)) as gateway,
        websockets.connect(gateway.url, user_agent_header="probe/2") as ws,
    ):
        await ws.send(manage(call="get"))
        info = await receive_json(ws)
    assert info["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "probe/2"}
    assert info["ConnectedAt"].endswith("+00:00") and info["ConnectedAt"] <= info["LastActiveAt"]


async def test_delete_closes_the_socket_and_disconnect_runs(emulator, tmp_path: Path):
    async with emulator(probe_template(ROUTES)) as gateway:
        async with websockets.connect(gateway.url) as ws:
            (connection_id,) = gateway.registry.open
            await ws.send(manage(call="delete"))
            with pytest.raises(ConnectionClosed) as closed:
                await receive_json(ws)
        assert closed.value.rcvd.code == 1000
        await eventually(lambda: (tmp_path / f"{connection_id}.DISCONNECT.json").exists())
    assert records(tmp_path, connection_id, "DISCONNECT")["requestContext"]["disconnectStatusCode"] == 1000


async def test_error_responses_are_rest_json_with_the_error_type_header(emulator):
    async with emulator(probe_template(ROUTES)) as gateway, aiohttp.ClientSession() as http:
        url = f"{gateway.endpoint}/{gateway.api.stage}/@connections/Zx1mHdJ-tjMCJgQ%3D"
        for method, status in [("POST", 410), ("GET", 410), ("DELETE", 410)]:
            async with http.request(method, url, data=b"x") as response:
                assert response.status == status
                assert response.headers["x-amzn-ErrorType"] == "GoneException"
                assert "message" in await response.json()


async def test_post_latency_delays_every_post(emulator):
    async with (
        emulator(probe_template(ROUTES), post_latency_ms=300, record_frames=True) as gateway,
        websockets.connect(gateway.url) as ws,
    ):
        started = time.monotonic()
        await ws.send(manage(call="post", data="late"))
        assert await ws.recv() == "late"
        (connection,) = gateway.registry.open.values()
        assert connection.frames[0].at - started >= 0.3
