"""A reply's place in its conversation: `begin` (find or start the conversation, read its history, reserve the next
turn) -> stream the reply -> `finish` (store the reply as the client received it, before the end frame).

`begin` and `finish` are the only steps that touch the store around a reply, so the streaming between them can
move elsewhere (another function, invoked asynchronously) with the turn handed over as it is.
"""

import contextlib
import os
import secrets
from dataclasses import dataclass, field
from itertools import chain

from botocore.exceptions import BotoCoreError, ClientError

import history
import store
from protocol import ErrorCode, ProtocolError, SendText
from relay import Outcome

HISTORY_MAX_TOKENS = int(os.environ.get("HISTORY_MAX_TOKENS", "20000"))
HISTORY_TTL_DAYS = int(os.environ.get("HISTORY_TTL_DAYS", "30"))
CONNECTION_TTL_S = 3 * 3600  # a connection lasts at most 2 hours (API Gateway's quota); its record a little longer
ID_BYTES = 24  # 192 random bits: whoever holds an id can read and continue the conversation

NOT_FOUND = ProtocolError(ErrorCode.CONVERSATION_NOT_FOUND, "No such conversation: it expired or was deleted.")
BUSY = ProtocolError(ErrorCode.CONVERSATION_BUSY, "A reply in this conversation is still streaming; wait for its end.")
STORE_FAILED = ProtocolError(ErrorCode.INTERNAL, "The conversation store failed; try again shortly.")


@dataclass(frozen=True)
class Refusal(Exception):
    """Why a message gets no reply, and the conversation it concerns (None if there is none yet)."""

    error: ProtocolError
    conversation_id: str | None = None
    cause: Exception | None = field(default=None, compare=False)


@dataclass
class Begun:
    turn: store.Turn  # reserved (pending) in the store
    messages: list[dict]  # what the model is sent: history within HISTORY_MAX_TOKENS, then the new text
    history_turns: int  # how many stored turns those messages carry


def owner_of(request_context: dict) -> str:
    """The signed-in principal (an authorizer's principalId), or "-" when sign-in is off."""
    return (request_context.get("authorizer") or {}).get("principalId") or "-"


def new_id() -> str:
    return secrets.token_urlsafe(ID_BYTES)


def is_live(turn: store.Turn, now: float) -> bool:
    """TTL deletes items days after `expiresAt`; until then they are still read, and must be ignored."""
    return turn.expires_at > now


def begin(connection_id: str, owner: str, request: SendText, now: float, request_id: str, deadline_ms: int) -> Begun:
    """Resolve the conversation, read its newest turns, and reserve the next turn number; or Refusal.

    The reservation is a conditional put of a turn number nobody holds: of two replies racing for one
    conversation, exactly one gets it and the other is told ConversationBusy.
    """
    conversation_id, newest = request.conversation_id, None
    try:
        previous = store.current(connection_id, now)
        if not request.new and conversation_id is None:
            conversation_id = previous
        turns = store.newest_first(conversation_id, for_reply=True) if conversation_id else iter(())
        newest = next(turns, None)
        if newest is None or not is_live(newest, now) or newest.owner != owner:
            if request.conversation_id is not None:  # asked for by id: tell the client it is gone
                raise Refusal(NOT_FOUND)
            conversation_id, newest = new_id(), None  # the connection's own went away: start afresh
        if newest is not None and newest.status == "pending" and newest.deadline_at > now * 1000:
            raise Refusal(BUSY, conversation_id)
        live = (turn for turn in chain([newest] if newest else [], turns) if is_live(turn, now))
        messages, history_turns = history.messages(live, request.text, HISTORY_MAX_TOKENS)
        turn = store.Turn(
            conversation_id=conversation_id,
            number=newest.number + 1 if newest else 1,
            owner=owner,
            user=request.text,
            started_at=int(now * 1000),
            deadline_at=deadline_ms,
            request_id=request_id,
            expires_at=int(now) + HISTORY_TTL_DAYS * 86400,
        )
        if conversation_id != previous:
            store.set_current(connection_id, conversation_id, previous, int(now) + CONNECTION_TTL_S)
        store.reserve(turn)
    except store.Conflict:
        raise Refusal(BUSY, conversation_id if newest else None) from None
    except (ClientError, BotoCoreError) as exc:
        raise Refusal(STORE_FAILED, conversation_id if newest else None, exc) from None
    return Begun(turn, messages, history_turns)


def finish(begun: Begun, outcome: Outcome) -> None:
    """Store the reply on its turn: complete; partial (the model failed mid-reply, or the client left) with the
    text the client did receive; failed (no text). A turn deleted meanwhile (forget) stays deleted."""
    turn = begun.turn
    turn.assistant = outcome.text
    if outcome.error is None and not outcome.gone and outcome.cause is None:
        turn.status = "complete"
    else:
        turn.status = "partial" if turn.assistant.strip() else "failed"
    turn.stop_reason = outcome.stop_reason
    turn.input_tokens, turn.output_tokens = outcome.input_tokens, outcome.output_tokens
    with contextlib.suppress(store.Conflict):  # forgotten while it streamed: nothing to keep
        store.finish(turn)


def _resolve(connection_id: str, requested: str | None, now: float) -> str:
    conversation_id = requested or store.current(connection_id, now)
    if conversation_id is None:
        raise Refusal(NOT_FOUND)
    return conversation_id


def _stored(conversation_id: str, owner: str, now: float) -> list[store.Turn]:
    """Every stored turn, newest first (expired ones included); NOT_FOUND unless the newest is live and ours."""
    turns = list(store.newest_first(conversation_id))
    if not turns or not is_live(turns[0], now) or turns[0].owner != owner:
        raise Refusal(NOT_FOUND)
    return turns


def read(connection_id: str, owner: str, requested: str | None, now: float) -> tuple[str, list[store.Turn]]:
    """The conversation (`requested`, else the connection's current one) and its live turns, oldest first."""
    try:
        conversation_id = _resolve(connection_id, requested, now)
        turns = _stored(conversation_id, owner, now)
    except (ClientError, BotoCoreError) as exc:
        raise Refusal(STORE_FAILED, requested, exc) from None
    return conversation_id, [turn for turn in reversed(turns) if is_live(turn, now)]


def forget(connection_id: str, owner: str, requested: str | None, now: float) -> str:
    """Delete every stored turn of the conversation now (expired ones too), and the connection's pointer to it."""
    try:
        conversation_id = _resolve(connection_id, requested, now)
        turns = _stored(conversation_id, owner, now)
        store.delete(conversation_id, [turn.number for turn in turns])
        store.clear_current(connection_id, conversation_id)
    except (ClientError, BotoCoreError, RuntimeError) as exc:
        raise Refusal(STORE_FAILED, requested, exc) from None
    return conversation_id
