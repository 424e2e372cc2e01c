"""An API Gateway WebSocket stage, `ws://127.0.0.1:<port>/<stage>`: the handshake ($connect and its authorizer),
each message to its route's function, $disconnect, and the idle and duration limits.

One aiohttp app serves the socket and (management.py) the @connections API on the same port, as API Gateway serves
both from one host, plus the chat page's folder (emulator/page/) when given one. Everything about the API comes
from the template (emulator/template/); each route's function runs in Lambda's execution environments
(emulator/awslambda/). Quotas, the connection registry and route selection are in registry.py.
"""

import asyncio
import contextlib
import dataclasses
import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path

from aiohttp import WSCloseCode, WSMsgType, web

from emulator.apigateway import authorizer, events, frames, integration, management
from emulator.apigateway.registry import (
    NO_STATUS_RECEIVED,
    Connection,
    Quotas,
    Registry,
    close_name,
    gateway_error,
    select_route,
)
from emulator.awslambda.runtime import Result, Runtime
from emulator.page import static
from emulator.template import Api, Function, Route

log = logging.getLogger("emulator.apigateway")


class Stage:
    """One template's WebSocket API stage on localhost; its routes' functions run in `runtime`."""

    def __init__(
        self,
        api: Api,
        runtime: Runtime,
        quotas: Quotas | None = None,
        host: str = "127.0.0.1",
        port: int = 8080,
        post_latency_ms: float = 0,
        record_frames: bool = False,
        web_dir: Path | None = None,
        describe: Callable[[], dict] = dict,
    ) -> None:
        """`port` 0 picks a free one. `web_dir`: a folder with an index.html to serve at `/` (static.py);
        `describe`: what `/_emulator/outputs` and the page's config.json say about the stack."""
        self.api = api
        self.runtime = runtime
        self.quotas = quotas or Quotas()
        self.host, self.port = host, port
        self.registry = Registry(record=record_frames)
        self._post_latency = post_latency_ms / 1000
        self.web_dir = web_dir
        self.describe = describe
        self._tasks: set[asyncio.Task] = set()
        self._socket: socket.socket | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/{self.api.stage}"

    @property
    def page(self) -> str | None:
        """The address of the page served from `web_dir`, if any."""
        return f"http://{self.host}:{self.port}/" if self.web_dir else None

    @property
    def endpoint(self) -> str:
        """What handlers get for the API's https:// endpoint: the @connections API is on this host too."""
        return f"http://{self.host}:{self.port}"

    def bind(self) -> None:
        """Take the port (a free one for 0), so `endpoint` is known before anything is served."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._socket = sock

    async def start(self) -> str:
        """Serve (binding first if bind() was not called); returns the ws:// URL."""
        if self._socket is None:
            self.bind()
        app = web.Application()
        app.router.add_get(f"/{self.api.stage}", self._websocket)
        management.add_routes(app, self.api.stage, self.registry, self._post_latency)
        app.router.add_get("/_emulator/outputs", self._outputs)
        if self.web_dir is not None:
            static.add_routes(app, self.web_dir, self.describe)
        app.on_shutdown.append(self._close_all)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, self._socket).start()
        return self.url

    async def _outputs(self, _request: web.Request) -> web.Response:
        return web.json_response(self.describe())

    async def stop(self) -> None:
        """Close every connection (1001) and free the port; then end the invocations still in flight."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def own_origin(self, origin: str | None) -> bool:
        """A browser's WebSocket carries its page's Origin: only this emulator's own page may drive it, so a page
        on any other site the developer visits cannot (issue 23). Clients that send none (wscat, websockets) may."""
        if origin is None:
            return True
        return origin in {f"http://{host}:{self.port}" for host in {self.host, "127.0.0.1", "localhost"}}

    async def _close_all(self, _app: web.Application) -> None:
        await asyncio.gather(
            *(c.close(WSCloseCode.GOING_AWAY, "Going away") for c in list(self.registry.open.values())),
            return_exceptions=True,
        )

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _invoke(self, function: Function, event: dict) -> asyncio.Task[Result]:
        """Run an invocation as its own task: one API Gateway gave up on (a timeout) keeps running, as on AWS."""
        return self._spawn(self.runtime.invoke(function, event))

    async def _integrate(self, route: Route, event: dict) -> Result | str:
        return await integration.integrate(self.api, route, event, self._invoke, self.quotas.integration_timeout)

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if not self.own_origin(request.headers.get("Origin")):
            log.info("refused a WebSocket from Origin %s: not this emulator's page (403)", request.headers["Origin"])
            return web.Response(status=403, text="Forbidden: this Origin may not open the emulator's WebSocket")
        now = events.epoch_ms()
        origin = events.Origin(
            connection_id=events.new_id(),
            connected_at=now,
            source_ip=request.remote or "127.0.0.1",
            user_agent=request.headers.get("User-Agent", ""),
            domain_name=request.host,
            stage=self.api.stage,
            api_id=self.api.api_id,
        )
        outcome = await self._connect(request, origin)
        if isinstance(outcome, web.Response):
            return outcome
        origin, protocol = outcome
        # The subprotocol is answered only when $connect's response sets it, as API Gateway does (it never echoes
        # one by itself, and a browser drops a connection whose answer names none of its offered protocols).
        ws = frames.QuotaWebSocketResponse(
            self.quotas.max_frame_bytes,
            lambda size: self._frame_too_big(connection, size),
            max_msg_size=self.quotas.max_message_bytes,
            autoclose=False,
            protocols=(protocol,) if protocol else (),
        )
        connection = Connection(origin, ws)  # before prepare(): the frame quota may need it as soon as bytes arrive
        await ws.prepare(request)
        self.registry.add(connection)
        log.info("%s connected from %s (%s)", origin.connection_id, origin.source_ip, origin.user_agent or "-")
        watchdog = self._spawn(self._watch(connection))
        try:
            code, reason = await self._receive(connection)
        finally:
            watchdog.cancel()
            self.registry.remove(connection)
        if connection.server_close is not None:
            code, reason = connection.server_close
        log.info("%s disconnected: %s %s", origin.connection_id, code, reason)
        self._spawn(self._disconnect(origin, code, reason))
        return ws

    async def _connect(
        self, request: web.Request, origin: events.Origin
    ) -> web.Response | tuple[events.Origin, str | None]:
        """The route's authorizer, then $connect, decide the handshake: a refusal is an HTTP status; else the
        connection's origin (with the authorizer's context) and the subprotocol $connect's response names."""
        route = self.api.routes.get("$connect")
        if route is None:
            return origin, None
        event = events.connect_event(origin, route.key, events.new_id(), request.headers.items(), request.query.items())
        if route.authorizer is not None:
            decision = await authorizer.decide(
                self.api, route.key, route.authorizer, event, self._invoke, self.quotas.integration_timeout
            )
            if decision.status != 200:
                log.info("%s the authorizer refused the connection: HTTP %s", origin.connection_id, decision.status)
                return web.Response(status=decision.status)
            origin = dataclasses.replace(origin, authorizer=decision.authorizer)
            authorizer.attach(event, decision.authorizer)
        outcome = await self._integrate(route, event)
        headers: dict = {}
        if isinstance(outcome, str):
            status = 504 if outcome == "Endpoint request timed out" else 500
        else:
            payload = outcome.payload if isinstance(outcome.payload, dict) else {}
            status = int(payload.get("statusCode", 200))
            headers = payload.get("headers") or {}
        if 200 <= status < 300:
            protocol = next((str(v) for k, v in headers.items() if k.lower() == "sec-websocket-protocol"), None)
            return origin, protocol
        log.info("%s $connect refused the connection: HTTP %s", origin.connection_id, status)
        return web.Response(status=status)

    async def _receive(self, connection: Connection) -> tuple[int, str]:
        """Read frames until the socket closes; each message is routed on its own, as API Gateway does."""
        ws = connection.socket
        while True:
            message = await ws.receive()
            if message.type == WSMsgType.TEXT:
                connection.touch()
                self._spawn(self._message(connection, message.data))
            elif message.type == WSMsgType.BINARY:
                # API Gateway does not take binary frames from clients: it closes with 1003 ("Working with binary
                # media types for WebSocket APIs"); the reason text is the emulator's own.
                log.info("%s closing: a binary frame (1003)", connection.origin.connection_id)
                await connection.close(WSCloseCode.UNSUPPORTED_DATA, "Binary frames are not supported")
            elif message.type == WSMsgType.CLOSE:
                await ws.close()
                code = message.data or NO_STATUS_RECEIVED
                return code, (
                    f"Client-side close frame status code '{code}' ({close_name(code)}) - with reason: "
                    f"{message.extra or ''}"
                )
            elif message.type == WSMsgType.ERROR:
                # aiohttp has already closed the socket, e.g. with 1009 for a message over the quota.
                code = ws.close_code or WSCloseCode.ABNORMAL_CLOSURE
                await ws.close()
                return code, f"Server-side close: {close_name(code)} ({message.data})"
            else:  # CLOSING, CLOSED: our own close() (its code and reason are kept), or the TCP connection dropped
                return ws.close_code or WSCloseCode.ABNORMAL_CLOSURE, "Connection closed without a close frame"

    def _frame_too_big(self, connection: Connection, size: int) -> None:
        """A frame over the quota: API Gateway closes with 1009. The reason says what to do instead."""
        log.info("%s closing: a %d-byte frame is over the frame quota (1009)", connection.origin.connection_id, size)
        reason = f"Frame of {size} bytes is over the {self.quotas.max_frame_bytes}-byte quota; send fragments"
        self._spawn(connection.close(WSCloseCode.MESSAGE_TOO_BIG, reason))

    async def _message(self, connection: Connection, data: str) -> None:
        origin = connection.origin
        request_id = events.new_id()
        route = self.api.routes.get(select_route(self.api, data))
        if route is None:  # no $default: API Gateway answers itself
            log.info("%s no route matches and there is no $default: Forbidden", origin.connection_id)
            await self._reply(connection, gateway_error("Forbidden", origin.connection_id, request_id))
            return
        outcome = await self._integrate(route, events.message_event(origin, route.key, request_id, data))
        if isinstance(outcome, str):
            await self._reply(connection, gateway_error(outcome, origin.connection_id, request_id))
        elif route.two_way and isinstance(outcome.payload, dict) and "body" in outcome.payload:
            await self._reply(connection, str(outcome.payload["body"]))

    async def _reply(self, connection: Connection, frame: str) -> None:
        if not connection.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await connection.send(frame)

    async def _disconnect(self, origin: events.Origin, code: int, reason: str) -> None:
        """$disconnect is best effort, as on AWS: its result is only logged."""
        route = self.api.routes.get("$disconnect")
        if route is not None:
            await self._integrate(route, events.disconnect_event(origin, route.key, events.new_id(), code, reason))

    async def _watch(self, connection: Connection) -> None:
        """Close the connection at the idle timeout or the maximum duration, whichever comes first."""
        started = time.monotonic()
        while True:
            now = time.monotonic()
            deadline = min(connection.last_active + self.quotas.idle_timeout, started + self.quotas.max_duration)
            if now >= deadline:
                why = "idle timeout" if deadline < started + self.quotas.max_duration else "maximum duration"
                log.info("%s closing: %s", connection.origin.connection_id, why)
                await connection.close(WSCloseCode.GOING_AWAY, "Going away")
                return
            await asyncio.sleep(deadline - now)
