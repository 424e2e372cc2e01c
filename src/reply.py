"""SendText's work: validate the message, begin the turn in its conversation, stream the model's reply to the
caller's connection, and store it before the closing frame."""

from collections.abc import Callable
from functools import partial

import connections
import conversation
import model
from logs import log
from protocol import ErrorCode, ProtocolError, error_frame, model_failure, parse_sendtext
from relay import Outcome, relay

NOT_STORED = ProtocolError(ErrorCode.INTERNAL, "The reply was not saved to the conversation; it is not remembered.")


def answer(
    connection_id: str,
    owner: str,
    body: str | None,
    now: float,
    request_id: str,
    deadline_ms: int,
) -> Outcome:
    """Stream the model's reply to the connection; every failure ends in one error frame."""
    send = partial(connections.post, connection_id)
    try:
        request = parse_sendtext(body)
        begun = conversation.begin(connection_id, owner, request, now, request_id, deadline_ms)
    except ProtocolError as error:
        return _refuse(send, Outcome(error=error))
    except conversation.Refusal as refusal:
        return _refuse(send, Outcome(error=refusal.error, cause=refusal.cause), refusal.conversation_id)
    log("request", level="DEBUG", connectionId=connection_id, text=request.text)  # the user's text: DEBUG only
    try:
        stream = model.open_stream(begun.messages)
    except Exception as exc:
        outcome = Outcome(error=model_failure(exc), cause=exc)
        return _refuse(send, outcome, _finish(begun, outcome))
    outcome = relay(stream, send, stream.close, finish=partial(_finish, begun))
    outcome.turn, outcome.history_turns = begun.turn.number, begun.history_turns
    return outcome


def _finish(begun: conversation.Begun, outcome: Outcome) -> str:
    """Store the turn's outcome; the closing frame names the conversation. A reply that could not be stored
    ends in an error frame, so the client knows the model will not remember it."""
    try:
        conversation.finish(begun, outcome)
    except Exception as exc:
        outcome.error, outcome.cause = NOT_STORED, outcome.cause or exc
    return begun.turn.conversation_id


def _refuse(send: Callable[[str], None], outcome: Outcome, conversation_id: str | None = None) -> Outcome:
    """Tell the client why there is no reply: its one error frame."""
    try:
        send(error_frame(outcome.error, conversation_id))
        outcome.frames = 1
    except connections.ClientGone:
        outcome.gone = True
    return outcome
