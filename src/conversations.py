"""history and forget: read a conversation back in frames of at most 32 KB, or delete all of it at once.

`{"action": "history", "conversationId": "<id>"}` and `{"action": "forget", "conversationId": "<id>"}`; without
`conversationId`, the connection's current conversation.
"""

import time

import connections
import conversation
from history import history_frames
from logs import log
from protocol import ProtocolError, conversation_id_of, error_frame, forgotten_frame, parse_message


def handler(event: dict, context: object) -> dict:
    request = event["requestContext"]
    connection_id, route = request["connectionId"], request.get("routeKey")
    owner, now = conversation.owner_of(request), time.time()
    error = cause = None
    turns = 0
    try:
        requested = conversation_id_of(parse_message(event.get("body")))
        if route == "forget":
            frames = [forgotten_frame(conversation.forget(connection_id, owner, requested, now))]
        else:
            conversation_id, stored = conversation.read(connection_id, owner, requested, now)
            frames, turns = history_frames(conversation_id, stored), len(stored)
    except ProtocolError as refused:
        error, frames = refused, [error_frame(refused)]
    except conversation.Refusal as refusal:
        error, cause, frames = refusal.error, refusal.cause, [error_frame(refusal.error, refusal.conversation_id)]
    gone = False
    try:
        for frame in frames:
            connections.post(connection_id, frame)
    except connections.ClientGone:
        gone = True
    log(
        route or "conversations",
        level="ERROR" if cause else "INFO",
        connectionId=connection_id,
        turns=turns,
        frames=len(frames),
        error=str(error.code) if error else None,
        cause=repr(cause) if cause else None,
        gone=gone,
    )
    return {"statusCode": 200}
