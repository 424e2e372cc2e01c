"""history and forget: read a conversation back in frames of at most 32 KB, or delete all of it at once.

`{"action": "history", "conversationId": "<id>"}` and `{"action": "forget", "conversationId": "<id>"}`; without
`conversationId`, the connection's current conversation.
"""

import time

import connections
from conversation import turns
from conversation.history import history_frames
from protocol import ProtocolError, conversation_id_of, error_frame, forgotten_frame, parse_message
from signin import session
from telemetry.logs import bind, log


def handler(event: dict, context: object) -> dict:
    request = event["requestContext"]
    connection_id, route = request["connectionId"], request.get("routeKey")
    bind(context, connectionId=connection_id)
    owner, now = session.owner_of(request), time.time()
    error = cause = None
    count = 0
    try:
        session.check(request, now)  # a connection outlives its token: reading and deleting end with it
        requested = conversation_id_of(parse_message(event.get("body")))
        if route == "forget":
            frames = [forgotten_frame(turns.forget(connection_id, owner, requested, now))]
        else:
            conversation_id, stored = turns.read(connection_id, owner, requested, now)
            frames, count = history_frames(conversation_id, stored), len(stored)
    except ProtocolError as refused:
        error, frames = refused, [error_frame(refused)]
    except turns.Refusal as refusal:
        error, cause, frames = refusal.error, refusal.cause, [error_frame(refusal.error, refusal.conversation_id)]
    gone = not all(connections.tell(connection_id, frame) for frame in frames)  # stops at the first undelivered
    log(
        route or "conversations",
        level="ERROR" if cause else "INFO",
        turns=count,
        frames=len(frames),
        error=str(error.code) if error else None,
        cause=repr(cause) if cause else None,
        gone=gone,
    )
    return {"statusCode": 200}
