"""API Gateway's WebSocket API apart from the server (stage.py): its quotas, the open connections and
their registry (which the @connections API reads too), route selection, API Gateway's own error frame and the names
of close codes."""

import asyncio
import json
import time
from dataclasses import dataclass, field

from aiohttp import WSCloseCode, web

from emulator.apigateway import events
from emulator.template import Api


@dataclass(frozen=True)
class Quotas:
    """API Gateway's WebSocket quotas (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html)."""

    max_message_bytes: int = 128 * 1024
    idle_timeout: float = 10 * 60
    max_duration: float = 2 * 60 * 60
    integration_timeout: float = 29.0
    max_frame_bytes: int = 32 * 1024  # per frame: a bigger message must come as fragments (frames.py)


@dataclass(frozen=True)
class Frame:
    at: float  # time.monotonic() when it was written to the socket
    data: str | bytes


@dataclass
class Connection:
    origin: events.Origin
    socket: web.WebSocketResponse
    last_active: float = field(default_factory=time.monotonic)
    last_active_at: int = field(default_factory=events.epoch_ms)  # epoch ms, for GET @connections
    frames: list[Frame] | None = None  # every frame sent, when the registry records them
    closed: bool = False
    # Close code and reason when the emulator (not the client) ends the connection, for $disconnect.
    server_close: tuple[int, str] | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def touch(self) -> None:
        self.last_active, self.last_active_at = time.monotonic(), events.epoch_ms()

    async def send(self, data: str | bytes) -> None:
        """One frame to the client: text for a str, binary for bytes."""
        async with self._lock:  # frames from concurrent posts leave whole and in the order they were taken
            if isinstance(data, bytes):
                await self.socket.send_bytes(data)
            else:
                await self.socket.send_str(data)
            if self.frames is not None:
                self.frames.append(Frame(time.monotonic(), data))
        self.touch()

    async def close(self, code: int, reason: str) -> None:
        if self.server_close is None:
            self.server_close = (code, reason)
        await self.socket.close(code=code, message=reason.encode())


@dataclass
class Registry:
    """Open connections by id; with `record`, also every closed one, frames included, for benchmarks."""

    record: bool = False
    open: dict[str, Connection] = field(default_factory=dict)
    closed: dict[str, Connection] = field(default_factory=dict)

    def get(self, connection_id: str) -> Connection | None:
        return self.open.get(connection_id)

    def add(self, connection: Connection) -> None:
        if self.record:
            connection.frames = []
        self.open[connection.origin.connection_id] = connection

    def remove(self, connection: Connection) -> None:
        connection.closed = True
        self.open.pop(connection.origin.connection_id, None)
        if self.record:
            self.closed[connection.origin.connection_id] = connection


def select_route(api: Api, data: str) -> str:
    """Evaluate a `$request.body.<path>` expression on a JSON body as API Gateway does; `$default` otherwise."""
    prefix = "$request.body."
    expression = api.route_selection_expression
    if not expression.startswith(prefix):
        return "$default"
    try:
        value = json.loads(data)
    except ValueError:
        return "$default"
    for name in expression.removeprefix(prefix).split("."):
        value = value.get(name) if isinstance(value, dict) else None
    return value if isinstance(value, str) and value in api.routes else "$default"


def gateway_error(message: str, connection_id: str, request_id: str) -> str:
    """API Gateway's own error frame, e.g. `{"message": "Forbidden", "connectionId": ..., "requestId": ...}`."""
    return json.dumps({"message": message, "connectionId": connection_id, "requestId": request_id})


NO_STATUS_RECEIVED = 1005  # RFC 6455: a close frame without a code (aiohttp reports 0)


def close_name(code: int) -> str:
    if code == NO_STATUS_RECEIVED:
        return "NO_STATUS_RCVD"
    try:
        return WSCloseCode(code).name
    except ValueError:
        return "UNKNOWN"
