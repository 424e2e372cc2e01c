"""HTTP/2 in cleartext (h2c, prior knowledge) beside HTTP/1.1, on the stand-in's one port.

Bedrock's runtime endpoint serves HTTP/2, and @aws-sdk/client-bedrock-runtime's default request handler talks
HTTP/2 with prior knowledge to an `http://` endpoint (issue 15), which aiohttp cannot parse. Each connection's first
bytes decide: the HTTP/2 connection preface goes to an h2 (python-hyper) connection, anything else to aiohttp as
before. Every HTTP/2 stream is relayed to the stand-in's own HTTP/1.1 handlers on the same port, so there is one
implementation of Bedrock's behaviour (records, pacing, faults): the response streams back as it is written, and a
client that resets its stream closes the relayed request, which the stand-in sees as a client leaving early.
"""

import asyncio
import contextlib
from collections.abc import Callable

import aiohttp
from aiohttp import web
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    RequestReceived,
    StreamEnded,
    StreamReset,
    WindowUpdated,
)
from h2.exceptions import H2Error

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_GOAWAY = 0x7
# Connection-specific headers (RFC 9113 section 8.2.2) and those the relay sets itself.
_NOT_RELAYED = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "host"}


class _Sniffer(asyncio.Protocol):
    """Holds a new connection's first bytes until they show which protocol it speaks, then hands it over."""

    def __init__(self, http1: Callable[[], asyncio.Protocol], http2: Callable[[], asyncio.Protocol]) -> None:
        self._factories = (http1, http2)
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        is_h2 = self._buffer.startswith(PREFACE)
        if not is_h2 and PREFACE.startswith(self._buffer):
            return  # too few bytes to tell yet
        assert self._transport is not None
        protocol = self._factories[is_h2]()
        self._transport.set_protocol(protocol)
        protocol.connection_made(self._transport)
        protocol.data_received(self._buffer)


class _Stream:
    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.headers = {name.decode(): value.decode() for name, value in headers}
        self.body = bytearray()
        self.task: asyncio.Task | None = None


class _H2Relay(asyncio.Protocol):
    """One HTTP/2 connection: each request stream becomes an HTTP/1.1 request to `upstream`."""

    def __init__(self, upstream: str, relays: set["_H2Relay"], streamed: Callable[[], None]) -> None:
        self._upstream, self._relays, self._streamed = upstream, relays, streamed
        self._h2 = H2Connection(H2Configuration(client_side=False, header_encoding=None))
        self._streams: dict[int, _Stream] = {}
        self._window = asyncio.Event()  # set when the peer widens a flow-control window
        self._session: aiohttp.ClientSession | None = None
        self._transport: asyncio.Transport | None = None
        self.closing: asyncio.Future | None = None  # the relayed requests' session, closing
        self._draining = False  # the peer sent a graceful GOAWAY: finish the streams it has, then close
        self._unread = bytearray()  # bytes not yet split into whole frames
        self._preface = False  # the client's connection preface has been passed on

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._relays.add(self)
        self._session = aiohttp.ClientSession(auto_decompress=False)
        self._h2.initiate_connection()
        self._flush()

    def _frames(self, data: bytes) -> bytes:
        """The whole frames received so far, without a graceful GOAWAY (NO_ERROR). Node's HTTP/2 client sends one
        as soon as its request is out, and its stream goes on (RFC 9113 section 6.8); h2 would close the whole
        connection on it instead (python-hyper/h2#1181), so it is noted here and never reaches h2."""
        self._unread += data
        whole = bytearray()
        if not self._preface and len(self._unread) >= len(PREFACE):
            whole += self._unread[: len(PREFACE)]
            del self._unread[: len(PREFACE)]
            self._preface = True
        while self._preface and len(self._unread) >= 9:
            end = 9 + int.from_bytes(self._unread[:3], "big")
            if len(self._unread) < end:
                break
            frame = bytes(self._unread[:end])
            del self._unread[:end]
            if frame[3] == _GOAWAY and frame[13:17] == bytes(4):
                self._draining = True
            else:
                whole += frame
        return bytes(whole)

    def data_received(self, data: bytes) -> None:
        try:
            events = self._h2.receive_data(self._frames(data))
        except H2Error:
            self._flush()
            self.close()
            return
        for event in events:
            if isinstance(event, RequestReceived):
                self._streams[event.stream_id] = _Stream(event.headers)
            elif isinstance(event, DataReceived) and event.stream_id in self._streams:
                self._streams[event.stream_id].body += event.data
                self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, StreamEnded) and event.stream_id in self._streams:
                stream = self._streams[event.stream_id]
                stream.task = asyncio.ensure_future(self._relay(event.stream_id, stream))
            elif isinstance(event, StreamReset):
                self._cancel(event.stream_id)
            elif isinstance(event, WindowUpdated):
                self._window.set()
            elif isinstance(event, ConnectionTerminated):  # a GOAWAY with an error: its streams end now
                self.close()
        self._flush()
        if self._draining and not self._streams:
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.close()

    def close(self) -> None:
        for stream_id in list(self._streams):
            self._cancel(stream_id)
        self._relays.discard(self)
        if self._session is not None:
            self.closing = asyncio.ensure_future(self._session.close())
            self._session = None
        if self._transport is not None:
            self._transport.close()

    def _cancel(self, stream_id: int) -> None:
        stream = self._streams.pop(stream_id, None)
        if stream is not None and stream.task is not None:
            stream.task.cancel()  # the relayed request closes: the stand-in sees its client leave

    def _flush(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(self._h2.data_to_send())

    async def _relay(self, stream_id: int, stream: _Stream) -> None:
        assert self._session is not None
        self._streamed()
        headers = {name: value for name, value in stream.headers.items() if not name.startswith(":")}
        headers = {name: value for name, value in headers.items() if name not in _NOT_RELAYED}
        url = self._upstream + stream.headers[":path"]
        try:
            async with self._session.request(
                stream.headers[":method"], url, headers=headers, data=bytes(stream.body)
            ) as response:
                head = [(":status", str(response.status))]
                head += [(k.lower(), v) for k, v in response.headers.items() if k.lower() not in _NOT_RELAYED]
                self._h2.send_headers(stream_id, head)
                self._flush()
                async for chunk in response.content.iter_any():
                    await self._send(stream_id, chunk)
            self._h2.end_stream(stream_id)
        except (aiohttp.ClientError, H2Error):  # the upstream cut the response (fault=stall then=drop)
            with contextlib.suppress(H2Error):
                self._h2.reset_stream(stream_id, ErrorCodes.INTERNAL_ERROR)
        finally:
            self._streams.pop(stream_id, None)
        self._flush()
        if self._draining and not self._streams:
            self.close()

    async def _send(self, stream_id: int, data: bytes) -> None:
        """DATA frames within the peer's flow-control windows and frame size."""
        while data:
            window = self._h2.local_flow_control_window(stream_id)
            if window < 1:
                self._window.clear()
                await self._window.wait()
                continue
            size = min(len(data), window, self._h2.max_outbound_frame_size)
            self._h2.send_data(stream_id, data[:size])
            self._flush()
            data = data[size:]


class DualServer:
    """aiohttp's `runner` (HTTP/1.1) and the h2c relay on one listening socket."""

    def __init__(self, runner: web.AppRunner) -> None:
        self._runner = runner
        self._server: asyncio.Server | None = None
        self._relays: set[_H2Relay] = set()
        self.h2_streams = 0  # HTTP/2 requests relayed so far

    async def start(self, host: str, port: int) -> str:
        """Listen on host:port (0: a free port); returns the endpoint URL."""
        loop = asyncio.get_running_loop()
        url = ""

        def relay() -> asyncio.Protocol:
            return _H2Relay(url, self._relays, self._count)

        http1 = self._runner.server
        assert http1 is not None, "runner.setup() first"
        self._server = await loop.create_server(lambda: _Sniffer(http1, relay), host, port)
        bound_host, bound_port = self._server.sockets[0].getsockname()[:2]
        url = f"http://{bound_host}:{bound_port}"
        return url

    def _count(self) -> None:
        self.h2_streams += 1

    async def stop(self) -> None:
        """Stop listening and end the HTTP/2 connections; aiohttp's runner ends its own."""
        if self._server is not None:
            self._server.close()
            self._server = None
        relays = list(self._relays)
        for relay in relays:
            relay.close()
        await asyncio.gather(*(relay.closing for relay in relays if relay.closing))
