"""Bedrock stream -> WebSocket frames, with reading and posting overlapped: `relay` posts the deltas, `close` the
one closing frame (`end` or `error`) once the caller has stored the turn.

The handler's thread reads the stream; one sender thread posts frames in order. When the sender is idle,
a delta goes out as its own frame the moment it arrives (the original article's behaviour, no timers).
When a post is still in flight, the deltas that arrive meanwhile are joined into the next frame, so the
client is never more than one post behind the model however slow each post is (issue #5). With a frame
interval (issue 28), the sender also waits out the interval after each post, joining what arrives meanwhile: every
post counts against API Gateway's account-wide requests per second, so fewer, longer frames let more replies
stream at once. The first delta still goes at once, and the rest as soon as the model ends.

With a reply's steering (issue 27), a watcher thread reads its control item: a client gone keeps the model going for
the grace period, a `resume` switches the outbox to the new connection (catch-up first), a `stop` halts the model.
"""

import json
import os
import threading
import time
from collections.abc import Callable, Iterable

from connections import ClientGone
from protocol import FRAME_LIMIT_BYTES, STOPPED, end_frame, error_frame, model_failure, resume_frames
from reply import anthropic
from reply.outcome import GONE, Outcome
from reply.steering import Steering
from telemetry.logs import log

# The least time between the starts of two posts to one connection (main.yml's FrameIntervalMs). Unset: 0, every
# delta as soon as the sender is free.
FRAME_INTERVAL_MS = float(os.environ.get("FRAME_INTERVAL_MS", "0"))


class _Outbox:
    """Frames waiting for the sender until the reply has no more: deltas already JSON-escaped (joined into one frame
    when several wait), and whole object frames (a resume's catch-up). It also keeps every delta the model generated,
    and where frames go now: the catch-up after a resume is cut from that text under the same lock that drops the
    frames pending for the old connection, so nothing is lost or sent twice across the switch."""

    def __init__(
        self,
        send: Callable[[str], None],
        limit: int,
        interval_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._interval_s, self._clock = interval_s, clock
        self._due = float("-inf")  # when the next frame may go: the first goes at once
        self._cond = threading.Condition()
        self._pending: list[tuple[str, bool]] = []  # (piece, is a delta)
        self._closed = False
        self.stopped = False  # set once the sender can post no more
        self.generated: list[str] = []  # every text delta read, delivered or not
        self.target: Callable[[str], None] | None = send  # None while the client is gone, until a resume
        self.generation = 0  # one more per resume: a failed post to an earlier target says nothing of this one
        self.lost_at: float | None = None  # when the target was lost (clock)

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
            self.generated.append(text)
            if self.target is not None:
                self._pending.extend((piece, True) for piece in pieces)
                self._cond.notify()

    def switch(self, send: Callable[[str], None], offset: int, conversation_id: str | None) -> None:
        """From now on, frames go to `send`: first the text generated from character `offset` on."""
        with self._cond:
            text = "".join(self.generated)
            self.generated = [text]
            offset = min(offset, len(text))
            frames = resume_frames(conversation_id, text[offset:], offset, self._limit)
            self._pending = [(frame, False) for frame in frames]
            self.target, self.generation, self.lost_at = send, self.generation + 1, None
            self._due = float("-inf")
            self._cond.notify()

    def lose(self, generation: int) -> bool:
        """The target of `generation` is gone; True if it was the current one (its pending frames are dropped)."""
        with self._cond:
            if generation != self.generation or self.target is None:
                return False
            self.target, self.lost_at, self._pending = None, self._clock(), []
            return True

    def lost_for(self) -> float | None:
        with self._cond:
            return None if self.lost_at is None else self._clock() - self.lost_at

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self.stopped = True
            self._cond.notify()

    def take(self) -> tuple[str, Callable[[str], None], int] | None:
        """The next frame to post, where, and for which generation: a whole object frame, or every waiting delta
        that fits, joined; None once there are no more. Waits for the interval after the last frame was taken,
        unless the reply has ended (its end is never delayed)."""
        with self._cond:
            while not (self._closed or self.stopped) and (not self._pending or self._clock() < self._due):
                self._cond.wait(max(self._due - self._clock(), 0) if self._pending else None)
            if self.stopped or not self._pending:
                return None
            self._due = self._clock() + self._interval_s
            if not self._pending[0][1]:
                return self._pending.pop(0)[0], self.target, self.generation
            size, count = 2, 0
            for piece, delta in self._pending:
                if not delta or (count and size + len(piece) > self._limit):
                    break
                size, count = size + len(piece), count + 1
            joined, self._pending = self._pending[:count], self._pending[count:]
            return '"' + "".join(piece for piece, _ in joined) + '"', self.target, self.generation


def _send_all(outbox: _Outbox, outcome: Outcome, grace_s: float) -> None:
    while (taken := outbox.take()) is not None:
        frame, send, generation = taken
        try:
            send(frame)
        except ClientGone:
            if outbox.lose(generation):  # not a connection a resume already replaced
                outcome.gone = True
                if grace_s <= 0:
                    outcome.halted = GONE
                    outbox.stop()
        except Exception as exc:  # the connection cannot be posted to: the reply cannot reach anyone
            if generation == outbox.generation:
                outcome.cause = exc
                outbox.stop()
        else:
            if not outcome.frames:
                outcome.first_frame_at = time.time()
            outcome.frames += 1


def _watch(outbox: _Outbox, steering: Steering, outcome: Outcome, halt: Callable[[str], None], done: threading.Event):
    """Poll the control item until the reply ends: switch to a connection that resumed it, halt it on `stop`, or
    once nobody has resumed it within the grace period."""
    while not done.wait(steering.interval_s):
        lost_for = outbox.lost_for()
        if lost_for is not None and lost_for >= steering.grace_s:
            halt(GONE)
            return
        try:
            order = steering.poll()
        except Exception as exc:  # a failed read: the next poll tries again
            log("control", level="WARNING", cause=repr(exc))
            continue
        if order is not None and order.stop:
            halt(STOPPED)
            return
        if order is not None:
            outbox.switch(steering.send_to(order.connection_id), order.offset, steering.conversation_id)
            outcome.gone = False


def relay(
    stream: Iterable[dict],
    send: Callable[[str], None],
    close_stream: Callable[[], None],
    outcome: Outcome,
    limit: int = FRAME_LIMIT_BYTES,
    interval_ms: float = FRAME_INTERVAL_MS,
    clock: Callable[[], float] = time.monotonic,
    read: Callable[[dict, Outcome], str | None] = anthropic.read,
    steering: Steering | None = None,
) -> Outcome:
    """Post every text delta of a model's event stream into `outcome`; the closing frame is `close`'s. `read`
    takes one event into `outcome` and gives its text, if any (reply.anthropic's, or reply.converse's).

    `send` posts one frame and raises ClientGone when the client has left. Without a grace period reading then stops
    at the next event and `close_stream` ends the model's work, so no tokens are generated for nobody; with one
    (`steering`), the model goes on until a `resume` names a new connection or the grace period ends. A `stop`
    ends the model's work at once. After the first frame, at most one frame per `interval_ms` (measured on
    `clock`, seconds), joining the deltas that arrive meanwhile. `steering.target` is left where the closing frame
    goes."""
    steering = steering or Steering(send)
    outbox = _Outbox(send, limit, interval_ms / 1000, clock)
    sender = threading.Thread(target=_send_all, args=(outbox, outcome, steering.grace_s), name="relay-sender")
    sender.start()
    done, halting = threading.Event(), threading.Lock()

    def halt(reason: str) -> None:  # from the watcher: a silent model must not keep the reader waiting
        with halting:
            if outcome.halted is None and not done.is_set():
                outcome.halted = reason
                close_stream()

    watcher = threading.Thread(target=_watch, args=(outbox, steering, outcome, halt, done), name="relay-watcher")
    if steering.watched:
        watcher.start()
    try:
        for event in stream:
            if outbox.stopped or outcome.halted:
                break
            text = read(event, outcome)
            if text is not None:
                outcome.deltas += 1
                if outcome.first_delta_at is None:
                    outcome.first_delta_at = time.time()
                outbox.put(text)
    except Exception as exc:
        if outcome.halted is None:  # else the watcher closed the stream under the reader
            outcome.error, outcome.cause = model_failure(exc), exc
    done.set()
    if steering.watched:
        watcher.join()
    if outbox.stopped:
        close_stream()
    outbox.close()
    sender.join()
    if outcome.halted == STOPPED:
        outcome.stop_reason = STOPPED
    outcome.generated = outbox.generated
    outcome.stopped = outbox.stopped or outbox.target is None
    steering.target = outbox.target
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
