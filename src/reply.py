"""SendText's work: validate the message, open the model's stream, relay it to the caller's connection."""

from collections.abc import Callable
from functools import partial

import connections
import model
from logs import log
from protocol import ProtocolError, error_frame, model_failure, parse_sendtext
from relay import Outcome, relay


def answer(connection_id: str, body: str | None) -> Outcome:
    """Stream the model's reply to `text` to the connection; every failure ends in one error frame."""
    send = partial(connections.post, connection_id)
    try:
        text = parse_sendtext(body)
    except ProtocolError as error:
        return _refuse(send, Outcome(error=error))
    log("request", level="DEBUG", connectionId=connection_id, text=text)  # the user's text: DEBUG only
    try:
        stream = model.open_stream(text)
    except Exception as exc:
        return _refuse(send, Outcome(error=model_failure(exc), cause=exc))
    return relay(stream, send, stream.close)


def _refuse(send: Callable[[str], None], outcome: Outcome) -> Outcome:
    """Tell the client why there is no reply: its one error frame."""
    try:
        send(error_frame(outcome.error))
        outcome.frames = 1
    except connections.ClientGone:
        outcome.gone = True
    return outcome
