"""A principal's daily budget of output tokens (DAILY_TOKEN_BUDGET; 0: unlimited).

Each principal (or, with sign-in off, everyone together as "-") may receive that many output tokens per UTC day:
SendText checks before the model is called (`QuotaExceeded`), StreamReply counts each reply from the usage the
model reports. The check and the count are not one transaction: replies already running when the budget runs out
still finish, so a day can end over budget by at most what those generate.
"""

import os
import time

from conversation import store
from protocol import BUDGET_EXHAUSTED

BUDGET = int(os.environ.get("DAILY_TOKEN_BUDGET") or 0)  # output tokens per principal per UTC day; 0: unlimited
KEEP_SECONDS = 2 * 86400  # a day's counter outlives its day (TTL attribute expiresAt)


def _day(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now))


def check(owner: str, now: float) -> None:
    """Raise BUDGET_EXHAUSTED when the owner has no budget left today."""
    if BUDGET and store.spent(owner, _day(now)) >= BUDGET:
        raise BUDGET_EXHAUSTED


def spend(owner: str, output_tokens: int | None, now: float) -> None:
    """Count a reply's output tokens against the owner's day (nothing when unlimited)."""
    if BUDGET and output_tokens:
        store.spend(owner, _day(now), output_tokens, int(now) + KEEP_SECONDS)
