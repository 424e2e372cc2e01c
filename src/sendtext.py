"""sendtext: stream the model's reply to the caller, one JSON-string frame per delta, then an end frame."""

import time

import model
import reply
from logs import log


def handler(event: dict, context: object) -> dict:
    request = event["requestContext"]
    started = time.monotonic()
    outcome = reply.answer(request["connectionId"], event.get("body"))
    log(
        "reply",
        level="ERROR" if outcome.cause else "INFO",
        connectionId=request["connectionId"],
        route=request.get("routeKey"),
        model=model.MODEL_ID,
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
