"""The `resume` and `stop` routes (issue 27): a client reaches the reply streaming in its conversation.

`resume` on a reply still streaming writes the control item (store/control.py), and the StreamReply that owns
the reply sends the catch-up itself, from what it generated, so nothing between stored and streaming is lost or
sent twice; this route then sends nothing. Of two resumes, the second is ConversationBusy while the first one's
connection is still open (at once), and wins once that one has gone (in sequence): the reply's first resume always
wins, since the connection it replaces may be half-open, still taking posts for nobody.

On a reply that has ended, this route answers from the stored turn: `resume` frames of the rest of its text, then
its `end` frame.
"""

import contextlib

from botocore.exceptions import BotoCoreError, ClientError

import connections
from conversation import store, turns
from conversation.store import control
from protocol import (
    CONVERSATION_BUSY,
    CONVERSATION_NOT_FOUND,
    REPLY_FAILED,
    STORE_FAILED,
    end_frame,
    error_frame,
    resume_frames,
)


def _newest(conversation_id: str, owner: str, now: float, connection_id: str | None = None) -> store.Turn | None:
    """The conversation's newest turn: the reply a resume or stop is about; ConversationNotFound unless it is live and
    the caller's. None only for `connection_id`'s own new conversation before its first turn is reserved."""
    newest = next(store.newest_first(conversation_id, page=1), None)
    if newest is None and connection_id and store.current(connection_id, now) == conversation_id:
        return None
    if newest is None or not turns.is_live(newest, now) or newest.owner != owner:
        raise turns.Refusal(CONVERSATION_NOT_FOUND)
    return newest


def _streaming(turn: store.Turn, now: float) -> bool:
    return turn.status == "pending" and turn.deadline_at > now * 1000


def _stored_rest(turn: store.Turn, offset: int) -> list[str]:
    """What a resume of an ended reply gets: the rest of the stored text, then the end frame as the reply ended (an
    error frame if it failed, or it never got stored)."""
    if turn.status in ("pending", "failed"):
        return [error_frame(REPLY_FAILED, turn.conversation_id)]
    usage = {"input_tokens": turn.input_tokens, "output_tokens": turn.output_tokens}
    rest = resume_frames(turn.conversation_id, turn.assistant[offset:], min(offset, len(turn.assistant)))
    return [*rest, end_frame(turn.stop_reason, usage, turn.conversation_id)]


def resume(connection_id: str, owner: str, conversation_id: str, offset: int, now: float) -> list[str]:
    """The frames this route sends: none when the streaming reply takes the new connection (it sends them)."""
    try:
        turn = _newest(conversation_id, owner, now)
        if not _streaming(turn, now):
            return _stored_rest(turn, offset)
        seen = control.read(conversation_id, turn.number)
        if not seen.closed:
            # The reply already went to another connection that resumed it, and that one is still there: busy.
            if seen.connection_id not in (None, connection_id) and connections.alive(seen.connection_id):
                raise turns.Refusal(CONVERSATION_BUSY, conversation_id)
            try:
                expires_at = int(now) + control.TTL_S
                control.resume(conversation_id, turn.number, connection_id, offset, seen.version, expires_at)
                return []
            except store.Conflict:
                if not control.read(conversation_id, turn.number).closed:
                    raise turns.Refusal(CONVERSATION_BUSY, conversation_id) from None
        # Closed: the reply ended and its turn was stored before the close.
        return _stored_rest(_newest(conversation_id, owner, now), offset)
    except (ClientError, BotoCoreError) as exc:
        raise turns.Refusal(STORE_FAILED, conversation_id, exc) from None


def stop(connection_id: str, owner: str, conversation_id: str, now: float) -> None:
    """Ask the streaming reply to stop; it sends its end frame. Nothing to do when the reply has ended, nor when the
    connection's own new conversation has no turn yet (its first reply is still on its way to StreamReply: the
    client asks again at the first delta); any other conversation without a turn is ConversationNotFound."""
    try:
        turn = _newest(conversation_id, owner, now, connection_id)
        if turn is not None and _streaming(turn, now):
            with contextlib.suppress(store.Conflict):  # it ended meanwhile
                control.stop(conversation_id, turn.number, int(now) + control.TTL_S)
    except (ClientError, BotoCoreError) as exc:
        raise turns.Refusal(STORE_FAILED, conversation_id, exc) from None
