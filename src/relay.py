"""Bedrock stream -> WebSocket frames, with reading and posting overlapped.

The handler's thread reads the stream; one sender thread posts frames in order. When the sender is idle,
a delta goes out as its own frame the moment it arrives (the original article's behaviour, no timers).
When a post is still in flight, the deltas that arrive meanwhile are joined into the next frame, so the
client is never more than one post behind the model however slow each post is (issue #5). With a frame
interval (issue 28), the sender also waits out the interval after each post, joining what arrives meanwhile: every
post counts against API Gateway's account-wide requests per second, so fewer, longer frames let more replies
stream at once. The first delta still goes at once, and the rest as soon as the model ends.
"""

import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from connections import ClientGone
from protocol import FRAME_LIMIT_BYTES, ProtocolError, end_frame, error_frame, model_failure

# The least time between the starts of two posts to one connection (main.yml's FrameIntervalMs). Unset: 0, every
# delta as soon as the sender is free.
FRAME_INTERVAL_MS = float(os.environ.get("FRAME_INTERVAL_MS", "0"))


@dataclass
class Outcome:
    deltas: int = 0  # text_delta events read from the model
    frames: int = 0  # frames the client was sent, control frames included
    stop_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    error: ProtocolError | None = None  # what the client was told went wrong
    cause: Exception | None = field(default=None, repr=False)  # why, for the log only
    gone: bool = False  # the client left before the reply was done
    first_delta_at: float | None = None  # time.time() when the model's first text delta was read (metrics)
    first_frame_at: float | None = None  # time.time() when the first frame reached API Gateway (metrics)
    turn: int | None = None  # the turn's number in its conversation
    history_turns: int | None = None  # stored turns the model was sent with the new text
    received: list[str] = field(default_factory=list, repr=False)  # the text of every delta frame delivered

    @property
    def text(self) -> str:
        """The reply exactly as the client received it."""
        return "".join(self.received)


class _Outbox:
    """Deltas waiting for the sender, already JSON-escaped, until the reply has no more."""

    def __init__(self, limit: int, interval_s: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._interval_s, self._clock = interval_s, clock
        self._due = float("-inf")  # when the next frame may go: the first goes at once
        self._cond = threading.Condition()
        self._pending: list[str] = []
        self._closed = False
        self.stopped = False  # set once the sender can post no more

    def put(self, text: str) -> None:
        escaped = json.dumps(text)[1:-1]  # JSON escapes per character, so escaped pieces concatenate
        # Every character escapes to at most 12 bytes (a surrogate pair), so slices of this size always fit.
        step = (self._limit - 2) // 12
        pieces = (
            [escaped]
            if len(escaped) + 2 <= self._limit
            else [json.dumps(text[i : i + step])[1:-1] for i in range(0, len(text), step)]
        )
        with self._cond:
            self._pending.extend(pieces)
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self.stopped = True
            self._cond.notify()

    def take(self) -> str | None:
        """The next frame to post: every waiting delta that fits, joined; None once there are no more. Waits
        for the interval after the last frame was taken, unless the reply has ended (its end is never delayed)."""
        with self._cond:
            while not (self._closed or self.stopped) and (not self._pending or self._clock() < self._due):
                self._cond.wait(max(self._due - self._clock(), 0) if self._pending else None)
            if self.stopped or not self._pending:
                return None
            self._due = self._clock() + self._interval_s
            size, count = 2, 0
            for piece in self._pending:
                if count and size + len(piece) > self._limit:
                    break
                size, count = size + len(piece), count + 1
            joined, self._pending = self._pending[:count], self._pending[count:]
            return '"' + "".join(joined) + '"'


def _send_all(outbox: _Outbox, send: Callable[[str], None], outcome: Outcome) -> None:
    while (frame := outbox.take()) is not None:
        try:
            send(frame)
        except ClientGone:
            outcome.gone = True
            outbox.stop()
        except Exception as exc:  # the connection cannot be posted to: the reply cannot reach anyone
            outcome.cause = exc
            outbox.stop()
        else:
            if not outcome.frames:
                outcome.first_frame_at = time.time()
            outcome.frames += 1
            outcome.received.append(json.loads(frame))


def relay(
    stream: Iterable[dict],
    send: Callable[[str], None],
    close_stream: Callable[[], None],
    limit: int = FRAME_LIMIT_BYTES,
    finish: Callable[[Outcome], str | None] | None = None,
    interval_ms: float = FRAME_INTERVAL_MS,
    clock: Callable[[], float] = time.monotonic,
) -> Outcome:
    """Post every text delta of an InvokeModelWithResponseStream body, then one `end` or `error` frame.

    `send` posts one frame and raises ClientGone when the client has left; then reading stops at the next
    event and `close_stream` ends the model's work, so no tokens are generated for nobody. `finish` runs once
    every delta has been posted (or could not be), before the closing frame: it may store the outcome and
    returns the conversation id the closing frame carries. After the first frame, at most one frame per
    `interval_ms` (measured on `clock`, seconds), joining the deltas that arrive meanwhile.
    """
    outcome = Outcome()
    outbox = _Outbox(limit, interval_ms / 1000, clock)
    sender = threading.Thread(target=_send_all, args=(outbox, send, outcome), name="relay-sender")
    sender.start()
    try:
        for event in stream:
            if outbox.stopped:
                break
            _read(event, outbox, outcome)
    except Exception as exc:
        outcome.error, outcome.cause = model_failure(exc), exc
    if outbox.stopped:
        close_stream()
    outbox.close()
    sender.join()
    conversation_id = finish(outcome) if finish else None
    if outbox.stopped:  # the client left, or cannot be posted to: nobody to tell
        return outcome
    if outcome.error:
        closing = error_frame(outcome.error, conversation_id)
    else:
        closing = end_frame(outcome.stop_reason, outcome.input_tokens, outcome.output_tokens, conversation_id)
    try:
        send(closing)
    except ClientGone:
        outcome.gone = True
    except Exception as exc:
        outcome.cause = outcome.cause or exc
    else:
        outcome.frames += 1
    return outcome


def _read(event: dict, outbox: _Outbox, outcome: Outcome) -> None:
    """One Anthropic stream event (https://docs.anthropic.com/en/api/messages-streaming)."""
    chunk = json.loads(event["chunk"]["bytes"])
    kind = chunk.get("type")
    if kind == "content_block_delta" and chunk["delta"].get("type") == "text_delta":
        outcome.deltas += 1
        if outcome.first_delta_at is None:
            outcome.first_delta_at = time.time()
        outbox.put(chunk["delta"]["text"])
    elif kind == "message_start":
        outcome.input_tokens = chunk["message"].get("usage", {}).get("input_tokens")
    elif kind == "message_delta":
        outcome.stop_reason = chunk["delta"].get("stop_reason")
        outcome.output_tokens = chunk.get("usage", {}).get("output_tokens", outcome.output_tokens)
