"""A reply's place in its conversation: `begin` (SendText: find or start the conversation, read its history) ->
`reserve` (StreamReply: take the next turn number, once) -> stream the reply -> `finish` (store the reply as the
client received it, before the end frame). A turn costs 2 reads (the connection's record, the history) and 2 writes
(the reservation, the reply); a conversation's first also writes the connection's record.

Why StreamReply reserves, not SendText: its reservation is also its once-only claim (a second delivery of the same
event finds the turn taken by its own message, and sends nothing), so one write does both. Of two messages racing
for one conversation, exactly one gets the number; the other is told ConversationBusy, by StreamReply. `forget`
leaves a marker where the next turn would go, so a reply already on its way is not stored into a deleted
conversation.
"""

import contextlib
import os
import secrets
from dataclasses import dataclass, field
from itertools import chain

from botocore.exceptions import BotoCoreError, ClientError

from conversation import history, store
from protocol import CONVERSATION_BUSY, CONVERSATION_NOT_FOUND, STORE_FAILED, ProtocolError, SendText

HISTORY_MAX_TOKENS = int(os.environ.get("HISTORY_MAX_TOKENS", "20000"))
# With prompt caching on, trim the history in coarse steps so its cached prefix lasts (history._stable_start).
STABLE_TRIM = os.environ.get("PROMPT_CACHING", "off") == "on"
HISTORY_TTL_DAYS = int(os.environ.get("HISTORY_TTL_DAYS", "30"))
CONNECTION_TTL_S = 3 * 3600  # a connection lasts at most 2 hours (API Gateway's quota); its record a little longer
# How long `forget`'s marker must outlive a reply already on its way: the event may wait 60 s
# (MaximumEventAgeInSeconds), and StreamReply then reserves at once.
MARKER_TTL_S = 3600
CLAIM_BYTES = 16  # 128 random bits: a reserving attempt's own mark, never guessed by another delivery
ID_BYTES = 24  # 192 random bits: whoever holds an id can read and continue the conversation


@dataclass(frozen=True)
class Refusal(Exception):
    """Why a message gets no reply, and the conversation it concerns (None if there is none yet)."""

    error: ProtocolError
    conversation_id: str | None = None
    cause: Exception | None = field(default=None, compare=False)


@dataclass
class Begun:
    turn: store.Turn  # the next turn, not yet in the store (`reserve` writes it)
    messages: list[dict]  # what the model is sent: history within HISTORY_MAX_TOKENS, then the new text
    history_turns: int  # how many stored turns those messages carry


def new_id() -> str:
    return secrets.token_urlsafe(ID_BYTES)


def is_live(turn: store.Turn, now: float) -> bool:
    """TTL deletes items days after `expiresAt`; until then they are still read, and must be ignored. A
    conversation whose newest item is `forget`'s marker is gone."""
    return turn.expires_at > now and turn.status != store.FORGOTTEN


def begin(connection_id: str, owner: str, request: SendText, now: float, event_id: str) -> Begun:
    """Resolve the conversation, read its newest turns and choose the next turn number; or Refusal (a reply still
    streaming in it: ConversationBusy at once)."""
    conversation_id, newest = request.conversation_id, None
    try:
        previous = store.current(connection_id, now)
        if not request.new and conversation_id is None:
            conversation_id = previous
        turns = store.newest_first(conversation_id, for_reply=True) if conversation_id else iter(())
        newest = next(turns, None)
        # The connection's own conversation may have no turn yet: its first reply is on its way, or never started.
        unstored = newest is None and conversation_id is not None and conversation_id == previous
        if not unstored and (newest is None or not is_live(newest, now) or newest.owner != owner):
            if request.conversation_id is not None:  # asked for by id: tell the client it is gone
                raise Refusal(CONVERSATION_NOT_FOUND)
            conversation_id, newest = new_id(), None  # the connection's own went away: start afresh
        if newest is not None and newest.status == "pending" and newest.deadline_at > now * 1000:
            raise Refusal(CONVERSATION_BUSY, conversation_id)
        live = (turn for turn in chain([newest] if newest else [], turns) if is_live(turn, now))
        messages, history_turns = history.messages(live, request.text, HISTORY_MAX_TOKENS, STABLE_TRIM)
        turn = store.Turn(
            conversation_id=conversation_id,
            number=newest.number + 1 if newest else 1,
            owner=owner,
            user=request.text,
            started_at=int(now * 1000),
            event_id=event_id,
            expires_at=int(now) + HISTORY_TTL_DAYS * 86400,
        )
        if conversation_id != previous:
            store.set_current(connection_id, conversation_id, previous, int(now) + CONNECTION_TTL_S)
    except store.Conflict:
        raise Refusal(CONVERSATION_BUSY, conversation_id if newest else None) from None
    except (ClientError, BotoCoreError) as exc:
        raise Refusal(STORE_FAILED, conversation_id if newest else None, exc) from None
    return Begun(turn, messages, history_turns)


def reserve(begun: Begun, request_id: str, deadline_ms: int) -> None:
    """Write the turn, pending, for the invocation `request_id` until `deadline_ms` (its own timeout); or Refusal
    (ConversationBusy: another message got the number; ConversationNotFound: forgotten meanwhile). store.Duplicate
    passes through: this message's event was delivered again, and this delivery must send nothing."""
    turn = begun.turn
    turn.request_id, turn.claim, turn.deadline_at = request_id, secrets.token_hex(CLAIM_BYTES), deadline_ms
    try:
        store.reserve(turn)
    except store.Conflict as conflict:
        if conflict.status == store.FORGOTTEN:
            raise Refusal(CONVERSATION_NOT_FOUND) from None  # named by no frame, as a conversation that does not exist
        raise Refusal(CONVERSATION_BUSY, turn.conversation_id) from None
    except (ClientError, BotoCoreError) as exc:
        raise Refusal(STORE_FAILED, turn.conversation_id, exc) from None


def finish(
    begun: Begun,
    text: str,
    complete: bool,
    stop_reason: str | None,
    input_tokens: int | None,
    output_tokens: int | None,
) -> None:
    """Store the reply on its turn: complete; partial (the model failed mid-reply, or the client left) with the
    text the client did receive; failed (no text). A turn deleted meanwhile (forget) stays deleted."""
    turn = begun.turn
    turn.assistant = text
    turn.status = "complete" if complete else "partial" if text.strip() else "failed"
    turn.stop_reason = stop_reason
    turn.input_tokens, turn.output_tokens = input_tokens, output_tokens
    with contextlib.suppress(store.Conflict):  # forgotten while it streamed: nothing to keep
        store.finish(turn)


def _resolve(connection_id: str, requested: str | None, now: float) -> str:
    conversation_id = requested or store.current(connection_id, now)
    if conversation_id is None:
        raise Refusal(CONVERSATION_NOT_FOUND)
    return conversation_id


def _stored(conversation_id: str, owner: str, now: float, empty_ok: bool = False) -> list[store.Turn]:
    """Every stored turn, newest first (expired ones included); CONVERSATION_NOT_FOUND unless the newest is live and
    ours (or, `empty_ok`, there is none yet: the connection's own conversation before its first reply is stored)."""
    turns = list(store.newest_first(conversation_id))
    if not turns and empty_ok:
        return turns
    if not turns or not is_live(turns[0], now) or turns[0].owner != owner:
        raise Refusal(CONVERSATION_NOT_FOUND)
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
    """Delete every stored turn of the conversation now (expired ones too), and the connection's pointer to it.
    First a marker where the next turn would go: a reply already on its way there then finds it taken (if one got
    there first, read again, so that turn is deleted too). Every turn becomes a tombstone holding no text, so a
    late second delivery of a message (Lambda's asynchronous queue is at-least-once) can never store it again."""
    try:
        conversation_id = _resolve(connection_id, requested, now)
        for _ in range(3):
            turns = _stored(conversation_id, owner, now, empty_ok=requested is None)
            try:
                store.forgotten(conversation_id, turns[0].number + 1 if turns else 1, int(now) + MARKER_TTL_S)
                break
            except store.Conflict:
                continue
        else:
            raise Refusal(CONVERSATION_BUSY, conversation_id)
        store.bury([turn for turn in turns if turn.status != store.FORGOTTEN], int(now) + MARKER_TTL_S)
        store.clear_current(connection_id, conversation_id)
    except (ClientError, BotoCoreError, RuntimeError) as exc:
        raise Refusal(STORE_FAILED, requested, exc) from None
    return conversation_id
