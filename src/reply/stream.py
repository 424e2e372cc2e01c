"""StreamReply's work: reserve the turn SendText chose (once: a duplicate delivery ends here, silently), stream
the model's reply to the caller's connection within the time left, and store it before the closing frame."""

import time
from functools import partial

import connections
from conversation import store, turns
from protocol import ErrorCode, ProtocolError, error_frame, model_failure
from reply import bedrock, handover
from reply.deadline import Bounded, seconds_until_stop
from reply.relay import Outcome, relay
from signin import session
from telemetry.logs import log

NOT_STORED = ProtocolError(ErrorCode.INTERNAL, "The reply was not saved to the conversation; it is not remembered.")


def answer(payload: dict, request_id: str, remaining_ms: int) -> Outcome | None:
    """Stream the model's reply to the connection; every failure ends in one error frame. None: another delivery
    of this event holds the turn, and this one must send nothing."""
    stop_at = time.monotonic() + seconds_until_stop(remaining_ms)
    given = handover.decode(payload)
    begun = given.begun
    send = partial(connections.post, given.connection_id)
    try:  # pending until this invocation's own end at the latest: then the conversation takes the next message
        turns.reserve(begun, request_id, int(time.time() * 1000) + remaining_ms)
    except store.Duplicate:
        return None
    except turns.Refusal as refusal:
        outcome = Outcome(error=refusal.error, cause=refusal.cause)
        return _refuse(given.connection_id, outcome, refusal.conversation_id)
    try:
        stream = Bounded(bedrock.open_stream(begun.messages), stop_at - time.monotonic())
    except Exception as exc:
        outcome = Outcome(error=model_failure(exc), cause=exc)
        return _refuse(given.connection_id, outcome, _finish(begun, outcome))
    outcome = relay(stream, send, stream.close, finish=partial(_finish, begun))
    outcome.turn, outcome.history_turns = begun.turn.number, begun.history_turns
    return outcome


def _finish(begun: turns.Begun, outcome: Outcome) -> str:
    """Store the turn's outcome; the closing frame names the conversation. A reply that could not be stored
    ends in an error frame, so the client knows the model will not remember it."""
    try:
        turns.finish(begun, outcome)
    except Exception as exc:
        outcome.error, outcome.cause = NOT_STORED, outcome.cause or exc
    try:  # counted before the closing frame, so the next message sees it; without usage, the deltas (~1 token each)
        session.spend(begun.turn.owner, outcome.output_tokens or outcome.deltas, time.time())
    except Exception as exc:  # the reply stands: a failed count is logged, not the client's problem
        log("budget", level="ERROR", cause=repr(exc))
    return begun.turn.conversation_id


def _refuse(connection_id: str, outcome: Outcome, conversation_id: str | None = None) -> Outcome:
    """Tell the client why there is no reply: its one error frame."""
    if connections.tell(connection_id, error_frame(outcome.error, conversation_id)):
        outcome.frames, outcome.first_frame_at = 1, time.time()
    else:
        outcome.gone = True
    return outcome
