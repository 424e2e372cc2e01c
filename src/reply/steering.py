"""What StreamReply learns, while it streams, from its reply's control item (store/control.py): a `resume` from a
new connection, or a `stop` (issue 27); and how long it keeps the model going for nobody (ResumeGraceSeconds).

The relay polls `poll` from a watcher thread and switches its outbox to the new connection; `conclude` closes the
item once the turn is stored, serving any resume that won the race with the close."""

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import connections
from conversation import store
from conversation.store import control
from protocol import resume_frames

# How long a reply whose client has left keeps the model going, waiting for a `resume` (main.yml's
# ResumeGraceSeconds). 0: the model stops at the next delta after the client left.
GRACE_S = float(os.environ.get("RESUME_GRACE_SECONDS", "0"))
POLL_S = 0.25  # how often the control item is read: a `stop` takes effect within this (and a post)


@dataclass(frozen=True)
class Order:
    """One thing the control item says that the reply has not yet acted on."""

    stop: bool = False
    connection_id: str | None = None  # resume: send the rest here
    offset: int = 0  # ... from this character


class Steering:
    """One reply's view of its control item. The base class is a reply nobody can steer (no control item: the
    relay's own tests, and a reply with no turn); `Controlled` reads the table."""

    interval_s = POLL_S

    def __init__(self, send: Callable[[str], None], conversation_id: str | None = None, grace_s: float = 0.0) -> None:
        self.target: Callable[[str], None] | None = send  # where the reply's frames go now (None: nobody)
        self.conversation_id = conversation_id
        self.grace_s = grace_s

    @property
    def watched(self) -> bool:
        return False

    def poll(self) -> Order | None:
        return None

    def close(self) -> Order | None:
        """Mark the reply ended; a resume that came in first (serve it, then close again), else None."""
        return None

    def send_to(self, connection_id: str) -> Callable[[str], None]:
        return partial(connections.post, connection_id)


class Controlled(Steering):
    def __init__(self, send: Callable[[str], None], conversation_id: str, number: int, grace_s: float = GRACE_S):
        super().__init__(send, conversation_id, grace_s)
        self._number = number
        self._version = 0  # the newest resume acted on
        self._stop_seen = False

    @property
    def watched(self) -> bool:
        return True

    def poll(self) -> Order | None:
        now = control.read(self.conversation_id, self._number)
        if now.version > self._version:
            self._version = now.version
            return Order(connection_id=now.connection_id, offset=now.offset)
        if now.stopped and not self._stop_seen:
            self._stop_seen = True
            return Order(stop=True)
        return None

    def close(self) -> Order | None:
        try:
            control.close(self.conversation_id, self._number, self._version, int(time.time()) + control.TTL_S)
        except store.Conflict:
            return self.poll() or Order()  # an empty order: nothing to serve, close again
        return None


def conclude(steering: Steering, text: str, stopped: bool) -> bool:
    """After the turn is stored: close the control item, so that a later `resume` is answered from the store; a
    resume that won the race gets the rest of `text` here, on its connection. True when the closing frame has
    someone to go to (the reply's target, or the connection that resumed it); `stopped`: the target can take no
    more posts."""
    reachable = steering.target is not None and not stopped
    while (order := steering.close()) is not None:
        if order.connection_id is None:
            continue
        steering.target = steering.send_to(order.connection_id)
        offset = min(order.offset, len(text))
        try:
            for frame in resume_frames(steering.conversation_id, text[offset:], offset):
                steering.target(frame)
            reachable = True
        except Exception:  # gone or refused: that connection cannot be told, as any client that left
            reachable = False
    return reachable
