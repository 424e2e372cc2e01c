"""history, forget, conversations, rename, resume and stop: a person's conversations, read back, listed, renamed and
deleted, and the reply streaming in one resumed or stopped (issue 27).

`{"action": "history", "conversationId": "<id>"}` and `{"action": "forget", "conversationId": "<id>"}` (without
`conversationId`, the connection's current conversation; `"all": true` forgets every one of a signed-in
principal's); `{"action": "conversations"}` lists them (docs/protocol.md); `{"action": "rename", ...}` titles one;
`{"action": "resume", "conversationId": "<id>", "from": <characters held>}` and `{"action": "stop", ...}`.
"""

import time

import connections
from conversation import listing, resume, turns
from conversation.history import history_frames
from protocol import (
    ErrorCode,
    ProtocolError,
    conversation_id_of,
    error_frame,
    forgotten_frame,
    parse_message,
    resume_offset,
)
from protocol.listing import forget_all_of, forgotten_all_frame, parse_conversations, parse_title, renamed_frame
from signin import session
from telemetry.logs import bind, log


def _answer(route: str | None, connection_id: str, owner: str, message: dict, now: float) -> tuple[list[str], int]:
    """The route's frames, and how many turns (history) or conversations (conversations, forget all, rename) they
    concern, for the log line."""
    if route == "conversations":
        return listing.page(owner, parse_conversations(message), now)
    if route == "forget" and forget_all_of(message):
        count, more = listing.forget_all(connection_id, owner, now)
        return [forgotten_all_frame(count, more)], count
    requested = conversation_id_of(message)
    if route in ("resume", "stop"):
        if requested is None:
            raise ProtocolError(ErrorCode.BAD_REQUEST, '"conversationId" is missing: name the reply\'s conversation.')
        if route == "stop":
            resume.stop(connection_id, owner, requested, now)
            return [], 1
        return resume.resume(connection_id, owner, requested, resume_offset(message), now), 1
    if route == "rename":
        title = parse_title(message)
        return [renamed_frame(listing.rename(owner, requested, title, now), title)], 1
    if route == "forget":
        return [forgotten_frame(listing.forget(connection_id, owner, requested, now))], 0
    conversation_id, stored = turns.read(connection_id, owner, requested, now)
    return history_frames(conversation_id, stored), len(stored)


def handler(event: dict, context: object) -> dict:
    request = event["requestContext"]
    connection_id, route = request["connectionId"], request.get("routeKey")
    bind(context, connectionId=connection_id)
    owner, now = session.owner_of(request), time.time()
    error = cause = None
    count = 0
    try:
        session.check(request, now)  # a connection outlives its token: reading and deleting end with it
        frames, count = _answer(route, connection_id, owner, parse_message(event.get("body")), now)
    except ProtocolError as refused:
        error, frames = refused, [error_frame(refused)]
    except turns.Refusal as refusal:
        error, cause, frames = refusal.error, refusal.cause, [error_frame(refusal.error, refusal.conversation_id)]
    gone = not all(connections.tell(connection_id, frame) for frame in frames)  # stops at the first undelivered
    log(
        route or "conversations",
        level="ERROR" if cause else "INFO",
        count=count,
        frames=len(frames),
        error=str(error.code) if error else None,
        cause=repr(cause) if cause else None,
        gone=gone,
    )
    return {"statusCode": 200}
