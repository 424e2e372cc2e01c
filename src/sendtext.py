"""sendtext: stream the model's reply to the caller, one JSON-string frame per delta, then an end frame."""

import time
import uuid

import conversation
import model
import reply
from logs import log

DEFAULT_DEADLINE_MS = 120_000  # when there is no Lambda context (a direct call): main.yml's Timeout


def handler(event: dict, context: object) -> dict:
    request = event["requestContext"]
    started = time.monotonic()
    now = time.time()
    remaining_ms = context.get_remaining_time_in_millis() if context else DEFAULT_DEADLINE_MS
    outcome = reply.answer(
        request["connectionId"],
        conversation.owner_of(request),
        event.get("body"),
        now=now,
        request_id=getattr(context, "aws_request_id", None) or str(uuid.uuid4()),
        deadline_ms=int(now * 1000) + remaining_ms,
    )
    log(
        "reply",
        level="ERROR" if outcome.cause else "INFO",
        connectionId=request["connectionId"],
        route=request.get("routeKey"),
        model=model.MODEL_ID,
        turn=outcome.turn,
        history_turns=outcome.history_turns,
        deltas=outcome.deltas,
        frames=outcome.frames,
        stop_reason=outcome.stop_reason,
        input_tokens=outcome.input_tokens,
        output_tokens=outcome.output_tokens,
        error=str(outcome.error.code) if outcome.error else None,
        cause=repr(outcome.cause) if outcome.cause else None,
        gone=outcome.gone,
        duration_ms=round((time.monotonic() - started) * 1000),
    )
    return {"statusCode": 200}
