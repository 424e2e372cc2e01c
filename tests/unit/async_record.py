"""Lambda's record of an asynchronous invocation that failed, as StreamReply's OnFailure destination receives it."""

import json

from table_items import CONVERSATION_ID

from conversation import budget, store, turns
from reply import handover

CONNECTION = "Zx1mHdJ-tjMCJgQ="
MESSAGE = "sendtext-request"  # SendText's request id: the event's
INVOCATION = "c0ffee00-0000-4000-8000-000000000000"  # the asynchronous invocation's request id


def record(
    condition: str, attempts: int, error_type: str | None = None, reservation: budget.Reservation | None = None
) -> dict:
    """Lambda's invocation record (invocation-async-retain-records), as the destination receives it."""
    turn = store.Turn(CONVERSATION_ID, 3, "-", "", status="pending", event_id=MESSAGE)  # as handed over
    begun = turns.Begun(turn, [{"role": "user", "content": [{"type": "text", "text": "my secret"}]}], 2)
    record = {
        "version": "1.0",
        "timestamp": "2026-11-27T15:00:00.000Z",
        "requestContext": {
            "requestId": INVOCATION,
            "functionArn": "arn:aws:lambda:ap-northeast-1:123456789012:function:chat-StreamReply:$LATEST",
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": json.loads(handover.encode(CONNECTION, begun, reservation)),
    }
    if error_type:
        record["responseContext"] = {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
        record["responsePayload"] = {"errorType": error_type, "errorMessage": "RequestId: x Error: it failed"}
    return record
