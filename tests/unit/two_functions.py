"""SendText, then StreamReply on what it handed over, as Lambda runs the two."""

from reply import handover, stream
from reply.outcome import Outcome


def through_both(
    handed_over: list[dict], started: Outcome, request_id: str = "stream-request", remaining_ms: int = 900_000
) -> Outcome | None:
    """After SendText (`started`, its outcome): StreamReply on what it handed over, as Lambda would run it."""
    if started.error is None:
        return stream.answer(handover.decode(handed_over[-1]), request_id, remaining_ms)
    return None
