"""API Gateway's WebSocket frame quota, checked on the wire: no data frame from a client may exceed 32 KB.

A message may be up to 128 KB, but only as fragments of at most 32 KB each ("API Gateway quotas for WebSocket
APIs": frame size 32 KB; a larger message or frame closes the connection with 1009). A browser sends every
message as one frame, so from a browser anything over 32 KB is refused on AWS. aiohttp reassembles fragments
before the gateway sees a message, so frame sizes are read here, from each frame's header: a FrameQuota scans
the bytes in front of aiohttp's parser for the connection, passes them on, and calls back when a frame is too
big (QuotaWebSocketResponse puts it in place). From then on only control frames (close, ping, pong) reach
aiohttp, so the oversized message is never delivered and the close handshake still completes. Issue 15.
"""

from collections.abc import Callable
from typing import Any

from aiohttp import web

_CONTROL = 0x8  # opcodes 0x8-0xF: close, ping, pong


def _header_size(header: bytearray) -> int | None:
    """The full header's length once its first two bytes are known (RFC 6455 section 5.2)."""
    if len(header) < 2:
        return None
    length7 = header[1] & 0x7F
    extended = 2 if length7 == 126 else 8 if length7 == 127 else 0
    return 2 + extended + (4 if header[1] & 0x80 else 0)


def _payload_length(header: bytearray) -> int:
    length7 = header[1] & 0x7F
    if length7 == 126:
        return int.from_bytes(header[2:4], "big")
    if length7 == 127:
        return int.from_bytes(header[2:10], "big")
    return length7


class FrameQuota:
    """A pass-through in front of aiohttp's WebSocket reader (same feed_data / feed_eof interface)."""

    def __init__(self, inner: Any, max_frame_bytes: int, on_violation: Callable[[int], None]) -> None:
        self.inner, self.max_frame_bytes, self.on_violation = inner, max_frame_bytes, on_violation
        self._header = bytearray()  # a header still arriving
        self._remaining = 0  # payload bytes of the current frame still to come
        self._forward = True  # whether the current frame goes on to aiohttp
        self._violated = False

    def feed_eof(self) -> None:
        self.inner.feed_eof()

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        data = bytes(data)
        out = bytearray()
        i = 0
        while i < len(data):
            if self._remaining:
                take = min(self._remaining, len(data) - i)
                if self._forward:
                    out += data[i : i + take]
                i, self._remaining = i + take, self._remaining - take
                continue
            self._header.append(data[i])
            i += 1
            size = _header_size(self._header)
            if size is None or len(self._header) < size:
                continue
            opcode, length = self._header[0] & 0x0F, _payload_length(self._header)
            if opcode < _CONTROL and length > self.max_frame_bytes and not self._violated:
                self._violated = True
                self.on_violation(length)
            self._forward = not self._violated or opcode >= _CONTROL
            if self._forward:
                out += self._header
            self._remaining = length
            self._header.clear()
        return self.inner.feed_data(bytes(out)) if out else (False, b"")


class QuotaWebSocketResponse(web.WebSocketResponse):
    """aiohttp's WebSocketResponse with a FrameQuota in front of its reader.

    aiohttp has no public hook for this: `_post_start` is where it gives the request's protocol the reader, after
    the 101 is buffered and before it is sent, so no client byte can have been read yet (RFC 6455: a client sends
    nothing before the 101) and the scan starts at a frame boundary. Both names are private to aiohttp, which is
    pinned; tests/e2e/test_gateway.py fails if they change.
    """

    def __init__(self, max_frame_bytes: int, on_violation: Callable[[int], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._quota = (max_frame_bytes, on_violation)

    def _post_start(self, request: web.BaseRequest, protocol: str, writer: Any) -> None:
        super()._post_start(request, protocol, writer)
        handler: Any = request.protocol
        handler._payload_parser = FrameQuota(handler._payload_parser, *self._quota)
