"""StreamReply's work, one step after another: reserve the turn SendText chose (once: a duplicate delivery ends
here, silently), open the model's stream, relay its deltas to the caller's connection within the time left (or to
the connection that resumed the reply, issue 27), store the turn, count its tokens, close the reply's control item,
and only then send the closing frame, so the next message sees the turn stored."""

import time
from functools import partial

import connections
from conversation import budget, listing, store, turns
from protocol import NOT_STORED, model_failure
from reply import bedrock
from reply.deadline import Bounded, seconds_until_stop
from reply.handover import Handover
from reply.outcome import Outcome
from reply.relay import close, relay
from reply.steering import Controlled, conclude
from telemetry.logs import log


def answer(given: Handover, request_id: str, remaining_ms: int) -> Outcome | None:
    """Stream the model's reply to the connection; every failure ends in one error frame. None: another delivery
    of this event holds the turn, and this one must send nothing."""
    stop_at = time.monotonic() + seconds_until_stop(remaining_ms)
    begun = given.begun
    send = partial(connections.post, given.connection_id)
    outcome = Outcome(turn=begun.turn.number, history_turns=begun.history_turns, model=given.model or bedrock.MODEL_ID)
    try:  # pending until this invocation's own end at the latest: then the conversation takes the next message
        turns.reserve(begun, request_id, int(time.time() * 1000) + remaining_ms)
    except store.Duplicate:
        return None
    except turns.Refusal as refusal:  # nothing reserved, nothing to store, nothing spent
        outcome.error, outcome.cause = refusal.error, refusal.cause
        _settle(given.reservation, outcome, 0)
        close(outcome, send, refusal.conversation_id)
        return outcome
    steering = Controlled(send, begun.turn.conversation_id, begun.turn.number)
    try:
        events, read = bedrock.open_stream(begun.messages, outcome.model)
        stream = Bounded(events, stop_at - time.monotonic())
    except Exception as exc:
        outcome.error, outcome.cause = model_failure(exc), exc
    else:
        relay(stream, send, stream.halt, outcome, read=read, steering=steering)
    _store(begun, outcome)
    _settle(given.reservation, outcome, _billed(begun, outcome))
    try:  # a resume that won the race with the end is served here; after the close, the store answers resumes
        outcome.stopped = not conclude(steering, outcome.text, outcome.stopped)
    except Exception as exc:  # the control item cannot be closed: a late resume waits in vain, the reply stands
        log("control", level="ERROR", cause=repr(exc))
    close(outcome, steering.target or send, begun.turn.conversation_id)
    return outcome


def _store(begun: turns.Begun, outcome: Outcome) -> None:
    """Store the turn's outcome. A reply that could not be stored ends in an error frame, so the client knows the
    model will not remember it."""
    try:
        turns.finish(
            begun,
            outcome.text,
            outcome.complete,
            outcome.stop_reason,
            outcome.input_tokens,
            outcome.output_tokens,
        )
    except Exception as exc:
        outcome.error, outcome.cause = NOT_STORED, outcome.cause or exc
    else:
        try:  # the turn is stored either way; the list shows it a turn late
            listing.touch(begun.turn, time.time())
        except Exception as exc:
            log("listing", level="ERROR", cause=repr(exc))


def _billed(begun: turns.Begun, outcome: Outcome) -> int:
    """What the model billed, in input-token equivalents: its usage, cache reads and writes at their own prices;
    without one (it failed before reporting), the input estimated as the reservation did and ~1 token per delta;
    no stream at all, nothing."""
    if outcome.input_tokens is None and not outcome.deltas:
        return 0
    input_tokens = outcome.input_tokens if outcome.input_tokens is not None else budget.input_estimate(begun.messages)
    return budget.cost(
        input_tokens,
        outcome.output_tokens or outcome.deltas,
        cache_write_tokens=outcome.cache_write_tokens or 0,
        cache_read_tokens=outcome.cache_read_tokens or 0,
    )


def _settle(reservation: budget.Reservation | None, outcome: Outcome, units: int) -> None:
    """Settle the reply's reservation; the end frame says what is left. A failed settle is logged, not the
    client's problem (the reservation stays counted: the bound holds)."""
    try:
        remaining = budget.settle(reservation, units)
    except Exception as exc:
        log("budget", level="ERROR", cause=repr(exc))
        return
    if remaining is not None:
        outcome.budget = {"limit": budget.BUDGET, "remaining": remaining}
