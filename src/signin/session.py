"""After the door: a connection's sign-in ends with its token, and a principal's daily budget of output tokens.

The authorizer's context reaches every route as requestContext.authorizer (principalId, exp). SendText refuses a
message with `Unauthorized` once `exp` has passed: API Gateway never re-checks a token, and connections last
2 hours. With DAILY_TOKEN_BUDGET > 0, each principal (or, with sign-in off, everyone together as "-") may receive
that many output tokens per UTC day: SendText checks before the model is called (`QuotaExceeded`), StreamReply
counts each reply from the usage the model reports, with DynamoDB's atomic ADD on the conversation table's item
pk = `budget#<principal>#<YYYY-MM-DD>`, sk = 0. The check and the count are not one transaction: replies already
running when the budget runs out still finish, so a day can end over budget by at most what those generate.
"""

import os
import time

from conversation import store
from conversation.turns import owner_of
from protocol import ErrorCode, ProtocolError

EXPIRED = ProtocolError(ErrorCode.UNAUTHORIZED, "Your sign-in has expired. Reconnect with a fresh token.")
EXHAUSTED = ProtocolError(ErrorCode.QUOTA_EXCEEDED, "Today's token budget is used up; it renews at 00:00 UTC.")
BUDGET = int(os.environ.get("DAILY_TOKEN_BUDGET") or 0)  # output tokens per principal per UTC day; 0: unlimited
KEEP_SECONDS = 2 * 86400  # a day's counter outlives its day (TTL attribute expiresAt)


def _key(owner: str, now: float) -> dict:
    day = time.strftime("%Y-%m-%d", time.gmtime(now))
    return {"pk": {"S": f"budget#{owner}#{day}"}, "sk": {"N": "0"}}


def check(request_context: dict, now: float) -> None:
    """Raise EXPIRED or EXHAUSTED when this connection may not have another reply now."""
    expires = (request_context.get("authorizer") or {}).get("exp")
    if expires is not None and now >= int(expires):
        raise EXPIRED
    if not BUDGET:
        return
    item = store.client.get_item(TableName=store.TABLE, Key=_key(owner_of(request_context), now), ConsistentRead=True)
    if int(item.get("Item", {}).get("outputTokens", {}).get("N", "0")) >= BUDGET:
        raise EXHAUSTED


def spend(owner: str, output_tokens: int | None, now: float) -> None:
    """Add a reply's output tokens to the owner's counter for the day (one atomic ADD; nothing when unlimited)."""
    if not BUDGET or not output_tokens:
        return
    store.client.update_item(
        TableName=store.TABLE,
        Key=_key(owner, now),
        UpdateExpression="ADD outputTokens :n SET expiresAt = if_not_exists(expiresAt, :expires)",
        ExpressionAttributeValues={":n": {"N": str(output_tokens)}, ":expires": {"N": str(int(now) + KEEP_SECONDS)}},
    )
