"""streamreply: the asynchronous invocation SendText starts. Streams the model's reply to the caller, one
JSON-string frame per delta, then an end (or error) frame; stops with an error frame before its own timeout."""

import time

from reply import handover, stream
from telemetry import metrics
from telemetry.logs import bind, log


def handler(event: dict, context: object) -> dict:
    started, started_at = time.monotonic(), metrics.now()
    given = handover.decode(event)
    request_id = bind(context, given.begun.turn.event_id, connectionId=given.connection_id)
    outcome = stream.answer(given, request_id, context.get_remaining_time_in_millis())
    if outcome is None:
        log("duplicate")  # Lambda delivered the event again: already claimed
        return {"statusCode": 200}
    name = metrics.outcome_name(outcome)
    # The client's wait is counted from SendText's start, when the message arrived (the turn's startedAt).
    metrics.reply(outcome, started_at, given.begun.turn.started_at, name)
    log(
        "reply",
        level="ERROR" if outcome.cause else "INFO",
        model=outcome.model,
        turn=outcome.turn,
        history_turns=outcome.history_turns,
        deltas=outcome.deltas,
        frames=outcome.frames,
        stop_reason=outcome.stop_reason,
        input_tokens=outcome.input_tokens,
        output_tokens=outcome.output_tokens,
        cache_read_tokens=outcome.cache_read_tokens,
        cache_write_tokens=outcome.cache_write_tokens,
        error=str(outcome.error.code) if outcome.error else None,
        cause=repr(outcome.cause) if outcome.cause else None,
        gone=outcome.gone,
        halted=outcome.halted,  # "stopped" (the client's stop) or "gone" (nobody resumed within the grace period)
        duration_ms=round((time.monotonic() - started) * 1000),
    )
    return {"statusCode": 200}
