"""SendText's work: validate the message, begin its turn in the conversation (find or start it, read its history),
then start the reply with an asynchronous invocation of StreamReply (REPLY_FUNCTION), which reserves the turn. A
message that cannot start gets its error frame here, at once."""

import os
from functools import partial

import boto3
from botocore.config import Config

import connections
from conversation import budget, turns
from protocol import NOT_STARTED, STORE_FAILED, ProtocolError, parse_sendtext, started_frame
from reply import handover
from reply.outcome import Outcome
from reply.relay import close
from signin import session
from telemetry.logs import log

REPLY_FUNCTION = os.environ["REPLY_FUNCTION"]
# An Event invoke only queues the event: it answers in milliseconds. Standard retries absorb a throttle; a retry
# after a lost answer may queue the event twice, which StreamReply's once-only reservation makes harmless.
client = boto3.client(
    "lambda", config=Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 3})
)


def start(connection_id: str, request_context: dict, body: str | None, now: float, request_id: str) -> Outcome:
    """The message's outcome so far: its turn and history when the reply started, else the error it was sent."""
    owner = session.owner_of(request_context)
    send = partial(connections.post, connection_id)
    outcome = Outcome()
    try:
        session.check(request_context, now)  # an expired sign-in: no reply at all
        request = parse_sendtext(body)
        begun = turns.begin(connection_id, owner, request, now, request_id)
        reservation = budget.reserve(owner, begun.messages, now)  # or QuotaExceeded, TooManyReplies
    except ProtocolError as error:
        outcome.error = error
        close(outcome, send)
        return outcome
    except turns.Refusal as refusal:
        outcome.error, outcome.cause = refusal.error, refusal.cause
        close(outcome, send, refusal.conversation_id)
        return outcome
    except Exception as exc:  # the meter could not be read or written: no reply without a bound on its cost
        outcome.error, outcome.cause = STORE_FAILED, exc
        close(outcome, send)
        return outcome
    log("request", level="DEBUG", text=request.text)  # the user's text: DEBUG only
    outcome.turn, outcome.history_turns = begun.turn.number, begun.history_turns
    if request.resumable:  # before the invoke, so it arrives before the reply's first frame
        connections.tell(connection_id, started_frame(begun.turn.conversation_id))
    try:
        payload = handover.encode(connection_id, begun, reservation, request.model)
        client.invoke(FunctionName=REPLY_FUNCTION, InvocationType="Event", Payload=payload)
    except Exception as exc:  # no turn was reserved: the conversation takes the next message as it is
        outcome.error, outcome.cause = NOT_STARTED, exc
        budget.settle(reservation, 0)
        close(outcome, send, begun.turn.conversation_id)
    return outcome
