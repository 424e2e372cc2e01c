"""A reply stops cleanly before its function's own timeout (Lambda's 15 minutes at most): past the deadline the
model's stream is closed and reading it raises TimeLimit, so the relay ends with an error frame and the turn is
stored, instead of the function being killed mid-post."""

import contextlib
import threading
from collections.abc import Iterator

from botocore.eventstream import EventStream

MARGIN_S = 10.0  # time left for the closing frame and storing the turn
MARGIN_SHARE = 0.1  # ... or this share of a shorter function's time


class TimeLimit(Exception):
    """The reply reached the function's time limit and was cut short."""


def seconds_until_stop(remaining_ms: int) -> float:
    """How long a reply may stream in an invocation that has `remaining_ms` left."""
    remaining = remaining_ms / 1000
    return max(0.0, remaining - min(MARGIN_S, remaining * MARGIN_SHARE))


class Bounded:
    """The model's stream, cut at a deadline. A timer closes it then, so a silent model cannot hold the reader
    past the deadline; whatever reading it raises then becomes TimeLimit."""

    def __init__(self, stream: EventStream, seconds: float) -> None:
        self._stream = stream
        self.expired = False
        self.halted = False  # closed on purpose (a `stop`, or nobody to send to): reading simply ends
        self._timer = threading.Timer(max(0.0, seconds), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        self.expired = True
        with contextlib.suppress(Exception):
            self._stream.close()

    def __iter__(self) -> Iterator[dict]:
        try:
            for event in self._stream:
                if self.expired:
                    raise TimeLimit
                yield event
        except TimeLimit:
            raise
        except Exception:
            if self.expired:
                raise TimeLimit from None
            if self.halted:
                return
            raise
        finally:
            self._timer.cancel()
        if self.expired:  # the closed stream simply ended
            raise TimeLimit

    def close(self) -> None:
        self._timer.cancel()
        self._stream.close()

    def halt(self) -> None:
        """Close the stream from another thread: the reader's loop ends, with no error."""
        self.halted = True
        with contextlib.suppress(Exception):
            self.close()
