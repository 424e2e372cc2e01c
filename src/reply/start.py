"""SendText's work: validate the message, begin its turn in the conversation (find or start it, read its history),
then start the reply with an asynchronous invocation of StreamReply (REPLY_FUNCTION), which reserves the turn. A
message that cannot start gets its error frame here, at once."""

import os
from dataclasses import dataclass, field

import boto3
from botocore.config import Config

import connections
from conversation import turns
from protocol import ErrorCode, ProtocolError, error_frame, parse_sendtext
from reply import handover
from signin import session
from telemetry.logs import log

REPLY_FUNCTION = os.environ["REPLY_FUNCTION"]
# An Event invoke only queues the event: it answers in milliseconds. Standard retries absorb a throttle; a retry
# after a lost answer may queue the event twice, which StreamReply's once-only reservation makes harmless.
client = boto3.client(
    "lambda", config=Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 3})
)

NOT_STARTED = ProtocolError(ErrorCode.THROTTLED, "The reply could not start; try again shortly.")


@dataclass
class Started:
    error: ProtocolError | None = None  # what the client was told instead of a reply
    cause: Exception | None = field(default=None, repr=False)  # why, for the log only
    gone: bool = False
    turn: int | None = None
    history_turns: int | None = None


def start(
    connection_id: str, owner: str, body: str | None, now: float, request_id: str, request_context: dict | None = None
) -> Started:
    try:
        session.check(request_context or {}, now)  # an expired sign-in or a spent budget: no reply at all
        request = parse_sendtext(body)
        begun = turns.begin(connection_id, owner, request, now, request_id)
    except ProtocolError as error:
        return _refuse(connection_id, Started(error=error))
    except turns.Refusal as refusal:
        return _refuse(connection_id, Started(error=refusal.error, cause=refusal.cause), refusal.conversation_id)
    log("request", level="DEBUG", connectionId=connection_id, text=request.text)  # the user's text: DEBUG only
    started = Started(turn=begun.turn.number, history_turns=begun.history_turns)
    try:
        client.invoke(
            FunctionName=REPLY_FUNCTION, InvocationType="Event", Payload=handover.encode(connection_id, begun)
        )
    except Exception as exc:  # nothing was reserved: the conversation takes the next message as it is
        started.error, started.cause = NOT_STARTED, exc
        return _refuse(connection_id, started, begun.turn.conversation_id)
    return started


def _refuse(connection_id: str, started: Started, conversation_id: str | None = None) -> Started:
    started.gone = not connections.tell(connection_id, error_frame(started.error, conversation_id))
    return started
