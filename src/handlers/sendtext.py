"""sendtext: validate the message, reserve its turn and start its reply (StreamReply, invoked asynchronously).
It never streams, so it answers within milliseconds, far inside API Gateway's 29 s integration timeout (issue 10)."""

import time
import uuid

from conversation import turns
from reply import start
from telemetry import metrics
from telemetry.logs import log

# Outcome names for the errors that share a client-facing code with others (src/metrics.py).
NAMED = {start.NOT_STARTED: "ReplyNotStarted", turns.STORE_FAILED: "StoreFailed"}


def handler(event: dict, context: object) -> dict:
    request = event["requestContext"]
    started = time.monotonic()
    outcome = start.start(
        request["connectionId"],
        turns.owner_of(request),
        event.get("body"),
        now=time.time(),
        request_id=getattr(context, "aws_request_id", None) or str(uuid.uuid4()),
        request_context=request,
    )
    if outcome.error:  # no reply will stream: count the refusal here (StreamReply counts the replies)
        metrics.refused(metrics.outcome_name(outcome.error, outcome.gone, outcome.cause, NAMED))
    log(
        "start",
        level="ERROR" if outcome.cause else "INFO",
        connectionId=request["connectionId"],
        route=request.get("routeKey"),
        started=outcome.error is None,
        turn=outcome.turn,
        history_turns=outcome.history_turns,
        error=str(outcome.error.code) if outcome.error else None,
        cause=repr(outcome.cause) if outcome.cause else None,
        gone=outcome.gone,
        principalId=turns.owner_of(request),
        duration_ms=round((time.monotonic() - started) * 1000),
    )
    return {"statusCode": 200}
