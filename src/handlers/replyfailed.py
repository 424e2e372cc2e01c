"""replyfailed: StreamReply's OnFailure destination. Lambda sends it the invocation record of a reply that never
finished: an event dropped before it ran (EventAgeExceeded: throttled past its age; nothing was reserved) or an
invocation that crashed or timed out (RetriesExhausted, with no retries). The client gets the error frame it would
otherwise never see, and a turn the crashed invocation reserved is marked failed, so the conversation takes the
next message at once."""

from botocore.exceptions import BotoCoreError, ClientError

import connections
from conversation import store
from protocol import REPLY_FAILED, REPLY_NOT_STARTED, error_frame
from reply import handover
from telemetry import metrics
from telemetry.logs import bind, log


def handler(record: dict, context: object) -> dict:
    given = handover.decode(record["requestPayload"])
    turn = given.begun.turn
    bind(context, turn.event_id, connectionId=given.connection_id)
    context_ = record.get("requestContext", {})
    condition = context_.get("condition")
    error = REPLY_NOT_STARTED if condition == "EventAgeExceeded" else REPLY_FAILED
    metrics.refused(error.outcome_name)
    # A dropped event never ran, so it reserved no turn to mark.
    stored = error is REPLY_FAILED and _fail(turn, reserved_by=context_.get("requestId"))
    gone = not connections.tell(given.connection_id, error_frame(error, turn.conversation_id))
    log(
        "reply_failed",
        level="ERROR",
        condition=condition,
        attempts=context_.get("approximateInvokeCount"),
        function_error=(record.get("responsePayload") or {}).get("errorType"),
        code=str(error.code),
        turn_failed=stored,
        gone=gone,
    )
    return {"statusCode": 200}


def _fail(turn: store.Turn, reserved_by: str | None) -> bool:
    """Mark the turn failed if the invocation that failed (the record's request id) reserved it and it is still
    pending. A turn never reserved, finished or deleted meanwhile is left as it is."""
    if not reserved_by:
        return False
    turn.status, turn.assistant, turn.request_id = "failed", "", reserved_by
    try:
        store.finish(turn)
    except (store.Conflict, ClientError, BotoCoreError):
        return False
    return True
