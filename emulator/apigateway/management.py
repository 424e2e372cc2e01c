"""The @connections management API: `POST|GET|DELETE /<stage>/@connections/{connectionId}` on the gateway's port.

Responses follow botocore's `apigatewaymanagementapi` model (rest-json), so the unchanged boto3 client in a
handler gets what it gets from AWS: errors carry `x-amzn-ErrorType`, which botocore raises as
`client.exceptions.GoneException`, `PayloadTooLargeException` …, and the body AWS sends (issue 15): none for 410
(the model's GoneException has no members; botocore reports an empty message, as the CLI prints from AWS),
`{"message": "Forbidden"}` for a path that is not the stage's @connections, `{"message": ...}` for 413 at every
size. Requests are not SigV4-verified.
"""

import asyncio
import datetime
import json

from aiohttp import WSCloseCode, web

from emulator.apigateway.registry import Connection, Registry

# PostToConnection's Data is at most 128 KB (the model's `max` for the Data blob).
MAX_POST_BYTES = 128 * 1024


def add_routes(app: web.Application, stage: str, registry: Registry, post_latency: float = 0.0) -> None:
    """Serve the API for `registry`'s connections; every POST answers `post_latency` seconds late (issue 5's
    benchmark models API Gateway's round trip with it)."""
    path = f"/{stage}/@connections/{{connection_id}}"

    def connection(request: web.Request) -> Connection | None:
        found = registry.get(request.match_info["connection_id"])
        return None if found is None or found.closed or found.socket.closed else found

    async def post(request: web.Request) -> web.Response:
        if post_latency:
            await asyncio.sleep(post_latency)
        target = connection(request)
        if target is None:
            return _error(410, "GoneException")
        data = await _read_capped(request, MAX_POST_BYTES)
        if data is None:
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
    # Another stage, or none: API Gateway's own 403 (a signed call to the endpoint without its stage gets it).
    app.router.add_route("*", "/{path:.*@connections.*}", forbidden)


async def forbidden(_request: web.Request) -> web.Response:
    return _error(403, "ForbiddenException", "Forbidden")


async def _read_capped(request: web.Request, cap: int) -> bytes | None:
    """The body, or None past `cap` bytes. Read here rather than with request.read(), whose own 1 MiB limit
    would answer a bare 413 that botocore cannot name (issue 15); the rest is drained so the client gets the
    answer rather than a reset."""
    parts, size = [], 0
    async for part in request.content.iter_chunked(64 * 1024):
        size += len(part)
        if size <= cap:
            parts.append(part)
    return b"".join(parts) if size <= cap else None


def _error(status: int, error_type: str, message: str | None = None) -> web.Response:
    """Without a message, no body at all: AWS never sends `{"message": null}`."""
    return web.Response(
        status=status,
        body=b"" if message is None else json.dumps({"message": message}).encode(),
        content_type="application/json",
        headers={"x-amzn-ErrorType": error_type},
    )


def _iso(epoch_ms: int) -> str:
    moment = datetime.datetime.fromtimestamp(epoch_ms / 1000, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
