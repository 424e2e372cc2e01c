"""replyfailed: StreamReply's OnFailure destination. Lambda sends it the invocation record of a reply that never
finished: an event dropped before it ran (EventAgeExceeded: throttled past its age) or an invocation that crashed
or timed out (RetriesExhausted, with no retries). reply/failed.py tells the client and tidies up."""

from reply import failed, handover
from telemetry import metrics
from telemetry.logs import bind, log


def handler(record: dict, context: object) -> dict:
    given = handover.decode(record["requestPayload"])
    bind(context, given.begun.turn.event_id, connectionId=given.connection_id)
    invocation = record.get("requestContext", {})
    outcome = failed.report(given, invocation.get("condition"), invocation.get("requestId"))
    metrics.refused(outcome.error.outcome_name)
    log(
        "reply_failed",
        level="ERROR",
        condition=invocation.get("condition"),
        attempts=invocation.get("approximateInvokeCount"),
        function_error=(record.get("responsePayload") or {}).get("errorType"),
        code=str(outcome.error.code),
        turn_failed=outcome.turn_failed,
        gone=outcome.gone,
    )
    return {"statusCode": 200}
