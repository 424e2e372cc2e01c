"""The @connections management API: `POST|GET|DELETE /<stage>/@connections/{connectionId}` on the gateway's port.

Responses follow botocore's `apigatewaymanagementapi` model (rest-json), so the unchanged boto3 client in a
handler gets what it gets from AWS: errors carry `x-amzn-ErrorType` and a `{"message": ...}` body, which botocore
raises as `client.exceptions.GoneException`, `PayloadTooLargeException` …. Requests are not SigV4-verified.
"""

import asyncio
import datetime
import json
from typing import TYPE_CHECKING

from aiohttp import WSCloseCode, web

if TYPE_CHECKING:
    from emulator.gateway import Connection, Registry

# PostToConnection's Data is at most 128 KB (the model's `max` for the Data blob).
MAX_POST_BYTES = 128 * 1024


def add_routes(app: web.Application, stage: str, registry: "Registry", post_latency: float = 0.0) -> None:
    """Serve the API for `registry`'s connections; every POST answers `post_latency` seconds late (issue 5's
    benchmark models API Gateway's round trip with it)."""
    path = f"/{stage}/@connections/{{connection_id}}"

    def connection(request: web.Request) -> "Connection | None":
        found = registry.get(request.match_info["connection_id"])
        return None if found is None or found.closed or found.socket.closed else found

    async def post(request: web.Request) -> web.Response:
        if post_latency:
            await asyncio.sleep(post_latency)
        target = connection(request)
        if target is None:
            return _error(410, "GoneException")
        data = await request.read()
        if len(data) > MAX_POST_BYTES:
            return _error(413, "PayloadTooLargeException", "Message too long")
        try:
            frame: str | bytes = data.decode("utf-8")
        except UnicodeDecodeError:  # not text: the client gets a binary frame
            frame = data
        try:
            await target.send(frame)
        except (ConnectionError, RuntimeError):  # the socket closed while we were writing
            return _error(410, "GoneException")
        return web.Response(status=200)

    async def get(request: web.Request) -> web.Response:
        target = connection(request)
        if target is None:
            return _error(410, "GoneException")
        origin = target.origin
        body = {
            "connectedAt": _iso(origin.connected_at),
            "identity": {"sourceIp": origin.source_ip, "userAgent": origin.user_agent},
            "lastActiveAt": _iso(target.last_active_at),
        }
        return web.json_response(body)

    async def delete(request: web.Request) -> web.Response:
        target = connection(request)
        if target is None:
            return _error(410, "GoneException")
        await target.close(WSCloseCode.OK, "Connection Closed Normally")
        return web.Response(status=204)

    app.router.add_post(path, post)
    app.router.add_get(path, get)
    app.router.add_delete(path, delete)


def _error(status: int, error_type: str, message: str | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps({"message": message}),
        content_type="application/json",
        headers={"x-amzn-ErrorType": error_type},
    )


def _iso(epoch_ms: int) -> str:
    moment = datetime.datetime.fromtimestamp(epoch_ms / 1000, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
