"""sendtext: validate the message, reserve its turn and start its reply (StreamReply, invoked asynchronously).
It never streams, so it answers within milliseconds, far inside API Gateway's 29 s integration timeout (issue 10)."""

import time

from reply import start
from signin import session
from telemetry import metrics
from telemetry.logs import bind, log


def handler(event: dict, context: object) -> dict:
    request = event["requestContext"]
    started = time.monotonic()
    request_id = bind(context, connectionId=request["connectionId"])  # this request id is the message's id
    outcome = start.start(request["connectionId"], request, event.get("body"), time.time(), request_id)
    if outcome.error:  # no reply will stream: count the refusal here (StreamReply counts the replies)
        metrics.refused(metrics.outcome_name(outcome))
    log(
        "start",
        level="ERROR" if outcome.cause else "INFO",
        route=request.get("routeKey"),
        started=outcome.error is None,
        turn=outcome.turn,
        history_turns=outcome.history_turns,
        error=str(outcome.error.code) if outcome.error else None,
        cause=repr(outcome.cause) if outcome.cause else None,
        gone=outcome.gone,
        principalId=session.owner_of(request),
        duration_ms=round((time.monotonic() - started) * 1000),
    )
    return {"statusCode": 200}
