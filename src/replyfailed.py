"""replyfailed: StreamReply's OnFailure destination. Lambda sends it the invocation record of a reply that never
finished: an event dropped before it ran (EventAgeExceeded: throttled past its age) or an invocation that crashed
or timed out (RetriesExhausted, with no retries). The client gets the error frame it would otherwise never see,
and the turn is marked failed, so the conversation takes the next message at once."""

import contextlib

from botocore.exceptions import BotoCoreError, ClientError

import connections
import handover
import metrics
import store
from logs import log
from protocol import REPLY_FAILED, REPLY_NOT_STARTED, error_frame


def handler(record: dict, context: object) -> dict:
    given = handover.decode(record["requestPayload"])
    context_ = record.get("requestContext", {})
    condition = context_.get("condition")
    error = REPLY_NOT_STARTED if condition == "EventAgeExceeded" else REPLY_FAILED
    metrics.refused("ReplyNotStarted" if error is REPLY_NOT_STARTED else "ReplyFailed")
    turn = given.begun.turn
    stored = _fail(turn, claimed_by=context_.get("requestId"))
    gone = not connections.tell(given.connection_id, error_frame(error, turn.conversation_id))
    log(
        "reply_failed",
        level="ERROR",
        connectionId=given.connection_id,
        condition=condition,
        attempts=context_.get("approximateInvokeCount"),
        function_error=(record.get("responsePayload") or {}).get("errorType"),
        code=str(error.code),
        turn_failed=stored,
        gone=gone,
    )
    return {"statusCode": 200}


def _fail(turn: store.Turn, claimed_by: str | None) -> bool:
    """Mark the turn failed, whoever holds it: the invocation that claimed it (the record's request id), or still
    SendText's reservation (the event never ran). A turn finished or deleted meanwhile is left as it is."""
    turn.status, turn.assistant = "failed", ""
    for holder in (claimed_by, turn.request_id):
        if not holder:
            continue
        turn.request_id = holder
        with contextlib.suppress(store.Conflict, ClientError, BotoCoreError):
            store.finish(turn)
            return True
    return False
