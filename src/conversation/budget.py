"""What a principal may spend on Bedrock per UTC day, and how many replies it may have streaming at once.

The unit is the input-token equivalent: what Bedrock bills, weighted by price relative to an input token (Claude
Haiku 4.5's list prices: input 1, output 5, cache write 1.25, cache read 0.1). DAILY_TOKEN_BUDGET of them per
principal per day (with sign-in off, everyone together as "-"; 0: unlimited); MAX_REPLIES_IN_FLIGHT replies
streaming at once per signed-in principal (0: no limit; anonymous use has no principal to count by, and is bounded by
the daily budget and StreamReply's reserved concurrency instead).

SendText reserves a reply's worst case before it starts: its input estimated on the high side, plus MAX_TOKENS of
output, in one conditional update that also counts the reply in flight, so replies started in parallel cannot
overrun the budget. StreamReply settles when the reply ends: the difference to what was billed, and one reply fewer
in flight. What can still overrun: input that tokenizes to more than the estimate (bytes / 3).
"""

import math
import os
import time
from dataclasses import asdict, dataclass

from conversation.history import estimate_tokens
from conversation.store import meters
from protocol import BUDGET_EXHAUSTED, TOO_MANY_REPLIES

BUDGET = int(os.environ.get("DAILY_TOKEN_BUDGET") or 0)
MAX_IN_FLIGHT = int(os.environ.get("MAX_REPLIES_IN_FLIGHT") or 0)
MAX_TOKENS = int(os.environ.get("MAX_TOKENS", "1024"))
SYSTEM_PROMPT_TOKENS = estimate_tokens(os.environ.get("SYSTEM_PROMPT", ""))
WEIGHTS = {"input": 1.0, "output": 5.0, "cache_write": 1.25, "cache_read": 0.1}
KEEP_SECONDS = 2 * 86400  # a day's counter outlives its day (TTL attribute expiresAt)


@dataclass(frozen=True)
class Reservation:
    """What SendText reserved for one reply; the handover carries it to StreamReply and ReplyFailed."""

    owner: str
    day: str  # the UTC day the reservation was counted on: settled there, even after midnight
    units: int  # input-token equivalents reserved
    in_flight: bool  # counted among the owner's replies in flight

    def to_json(self) -> dict:
        return asdict(self)


def _day(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now))


def cost(input_tokens: int, output_tokens: int, cache_write_tokens: int = 0, cache_read_tokens: int = 0) -> int:
    """Input-token equivalents of one call, rounded up."""
    return math.ceil(
        input_tokens * WEIGHTS["input"]
        + output_tokens * WEIGHTS["output"]
        + cache_write_tokens * WEIGHTS["cache_write"]
        + cache_read_tokens * WEIGHTS["cache_read"]
    )


def input_estimate(messages: list[dict]) -> int:
    """The request's input tokens on the high side: every text block (and the system prompt), bytes / 3."""
    texts = (block.get("text", "") for message in messages for block in message["content"])
    return SYSTEM_PROMPT_TOKENS + sum(estimate_tokens(text) for text in texts)


def reserve(owner: str, messages: list[dict], now: float) -> Reservation | None:
    """Reserve the reply's worst case (every input token written to the cache, MAX_TOKENS of output); raise
    BUDGET_EXHAUSTED or TOO_MANY_REPLIES instead when it does not fit. None when nothing is metered."""
    counted = bool(MAX_IN_FLIGHT) and owner != "-"
    if not BUDGET and not counted:
        return None
    worst = cost(0, MAX_TOKENS, cache_write_tokens=input_estimate(messages)) if BUDGET else 0
    if BUDGET and worst > BUDGET:
        raise BUDGET_EXHAUSTED
    reservation = Reservation(owner, _day(now), worst, counted)
    try:
        meters.add(
            owner,
            reservation.day,
            worst,
            1 if counted else 0,
            room=BUDGET - worst if BUDGET else None,
            max_in_flight=MAX_IN_FLIGHT if counted else None,
            expires_at=int(now) + KEEP_SECONDS,
        )
    except meters.Conflict:
        _, in_flight = meters.reading(owner, reservation.day)
        if counted and in_flight >= MAX_IN_FLIGHT:
            raise TOO_MANY_REPLIES from None
        raise BUDGET_EXHAUSTED from None
    return reservation


def settle(reservation: Reservation | None, units: int) -> int | None:
    """The reply is over and cost `units`: count that instead of the reservation, and one reply fewer in flight.
    Returns what is left of the day's budget (None when unlimited)."""
    if reservation is None:
        return None
    spent = meters.add(
        reservation.owner,
        reservation.day,
        units - reservation.units,
        -1 if reservation.in_flight else 0,
        expires_at=None,
    )
    return max(0, BUDGET - spent) if BUDGET else None
