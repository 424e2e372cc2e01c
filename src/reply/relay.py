"""Bedrock stream -> WebSocket frames, with reading and posting overlapped: `relay` posts the deltas, `close` the
one closing frame (`end` or `error`) once the caller has stored the turn.

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

from connections import ClientGone
from protocol import FRAME_LIMIT_BYTES, end_frame, error_frame, model_failure
from reply import anthropic
from reply.outcome import Outcome

# The least time between the starts of two posts to one connection (main.yml's FrameIntervalMs). Unset: 0, every
# delta as soon as the sender is free.
FRAME_INTERVAL_MS = float(os.environ.get("FRAME_INTERVAL_MS", "0"))


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
    outcome: Outcome,
    limit: int = FRAME_LIMIT_BYTES,
    interval_ms: float = FRAME_INTERVAL_MS,
    clock: Callable[[], float] = time.monotonic,
    read: Callable[[dict, Outcome], str | None] = anthropic.read,
) -> Outcome:
    """Post every text delta of a model's event stream into `outcome`; the closing frame is `close`'s. `read`
    takes one event into `outcome` and gives its text, if any (reply.anthropic's, or reply.converse's).

    `send` posts one frame and raises ClientGone when the client has left; then reading stops at the next
    event and `close_stream` ends the model's work, so no tokens are generated for nobody. After the first frame,
    at most one frame per `interval_ms` (measured on `clock`, seconds), joining the deltas that arrive meanwhile.
    """
    outbox = _Outbox(limit, interval_ms / 1000, clock)
    sender = threading.Thread(target=_send_all, args=(outbox, send, outcome), name="relay-sender")
    sender.start()
    try:
        for event in stream:
            if outbox.stopped:
                break
            text = read(event, outcome)
            if text is not None:
                outcome.deltas += 1
                if outcome.first_delta_at is None:
                    outcome.first_delta_at = time.time()
                outbox.put(text)
    except Exception as exc:
        outcome.error, outcome.cause = model_failure(exc), exc
    if outbox.stopped:
        close_stream()
    outbox.close()
    sender.join()
    outcome.stopped = outbox.stopped
    return outcome


def close(outcome: Outcome, send: Callable[[str], None], conversation_id: str | None = None) -> None:
    """Post the reply's one closing frame: its error, else `end` (both name the conversation). Nothing when the
    client can no longer be posted to. The one way a reply, or a message refused before one, ends."""
    if outcome.stopped:
        return
    if outcome.error:
        frame = error_frame(outcome.error, conversation_id)
    else:
        frame = end_frame(outcome.stop_reason, outcome.usage(), conversation_id, outcome.budget)
    try:
        send(frame)
    except ClientGone:
        outcome.gone = outcome.stopped = True
    except Exception as exc:  # undeliverable: logged and counted (Undelivered), nobody left to tell
        outcome.cause, outcome.stopped = outcome.cause or exc, True
    else:
        if not outcome.frames:
            outcome.first_frame_at = time.time()
        outcome.frames += 1
