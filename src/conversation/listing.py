"""The conversation list: one small item per conversation (catalog.touch after each stored turn), listed newest
activity first, renamed, and taken off the list when the conversation is forgotten.

Whose list: signed in, the principal's own, one index Query per page. Anonymous, an id is a bearer secret and
there is no principal to list by, so the client names the ids it holds and gets those that exist and are its own
kind (anonymous): never a list of other people's chats.
"""

import contextlib
import re
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from conversation import store, turns
from conversation.store import catalog
from protocol import CONVERSATION_NOT_FOUND, FORGET_ALL_ANONYMOUS, LIST_ANONYMOUS, STORE_FAILED
from protocol.listing import LIST_PAGE, ListRequest, conversations_frame, cursor_of

TITLE_CHARS = 60  # a default title: about this much of the first message, cut on a word boundary
ANONYMOUS = "-"
FORGET_ALL_PAGE = 100  # conversations one `forget all` message deletes (each is a few requests; 30 s timeout)
_SPACE = re.compile(r"\s+")


def title_of(text: str) -> str:
    """The start of the first message on one line: whitespace runs become one space, control characters go, and a
    longer text is cut at the last space within TITLE_CHARS (or at TITLE_CHARS, for one long word), with "…"."""
    line = _SPACE.sub(" ", "".join(char for char in text if char.isprintable() or char.isspace())).strip()
    if len(line) <= TITLE_CHARS:
        return line
    cut = line[: TITLE_CHARS + 1].rsplit(" ", 1)[0] if " " in line[: TITLE_CHARS + 1] else line[:TITLE_CHARS]
    return cut.rstrip() + "…"


def touch(turn: store.Turn, now: float) -> None:
    """The turn is stored: put its conversation at the top of the owner's list (title from its text if the list has
    none yet). A conversation forgotten meanwhile stays off the list."""
    with contextlib.suppress(store.Conflict):
        catalog.touch(turn, title_of(turn.user), int(now * 1000))


def _entry(listed: catalog.Listed) -> dict:
    updated = datetime.fromtimestamp(listed.updated_at / 1000, UTC).isoformat(timespec="milliseconds")
    return {
        "conversationId": listed.conversation_id,
        "title": listed.title,
        "updatedAt": updated.replace("+00:00", "Z"),
        "turns": listed.turns,
    }


def _named(owner: str, request: ListRequest, now: float) -> tuple[list[catalog.Listed], tuple[int, str] | None]:
    """Of the ids the client named, the owner's live ones, newest first, one page after the cursor."""
    found = [
        listed
        for listed in catalog.listed_by_id(request.conversation_ids or [])
        if not listed.forgotten and listed.owner == owner and listed.expires_at > now
    ]
    found.sort(key=lambda listed: (-listed.updated_at, listed.conversation_id))
    if request.after is not None:
        after = (-request.after[0], request.after[1])
        found = [listed for listed in found if (-listed.updated_at, listed.conversation_id) > after]
    page = found[:LIST_PAGE]
    more = len(found) > LIST_PAGE
    return page, (page[-1].updated_at, page[-1].conversation_id) if more else None


def page(owner: str, request: ListRequest, now: float) -> tuple[list[str], int]:
    """One `conversations` frame (a page of the caller's list, and the cursor of the next page, None: no more), and
    how many conversations it holds."""
    if request.conversation_ids is None and owner == ANONYMOUS:
        raise LIST_ANONYMOUS
    try:
        if request.conversation_ids is not None:
            found, position = _named(owner, request, now)
        else:
            found, position = catalog.listed(owner, LIST_PAGE, request.after, now)
    except (ClientError, BotoCoreError, RuntimeError) as exc:
        raise turns.Refusal(STORE_FAILED, None, exc) from None
    frame = conversations_frame([_entry(listed) for listed in found], cursor_of(*position) if position else None)
    return [frame], len(found)


def rename(owner: str, conversation_id: str | None, title: str, now: float) -> str:
    """Set the title of one of the owner's conversations; ConversationNotFound unless it is live and the owner's."""
    if conversation_id is None:
        raise turns.Refusal(CONVERSATION_NOT_FOUND)
    try:
        catalog.retitle(conversation_id, owner, title, now)
    except store.Conflict:
        raise turns.Refusal(CONVERSATION_NOT_FOUND, conversation_id) from None
    except (ClientError, BotoCoreError) as exc:
        raise turns.Refusal(STORE_FAILED, conversation_id, exc) from None
    return conversation_id


def forget(connection_id: str, owner: str, requested: str | None, now: float) -> str:
    """turns.forget, then off the list at once (its mark outlives any reply still on its way)."""
    conversation_id = turns.forget(connection_id, owner, requested, now)
    try:
        catalog.unlist(conversation_id, int(now) + turns.MARKER_TTL_S)
    except (ClientError, BotoCoreError) as exc:
        raise turns.Refusal(STORE_FAILED, conversation_id, exc) from None
    return conversation_id


def forget_all(connection_id: str, owner: str, now: float) -> tuple[int, bool]:
    """Forget each of the principal's conversations as `forget` does, up to FORGET_ALL_PAGE per message; how many,
    and whether there are more (the index lags a moment: one started just now may need another call)."""
    if owner == ANONYMOUS:
        raise FORGET_ALL_ANONYMOUS
    try:
        found, position = catalog.listed(owner, FORGET_ALL_PAGE, None, now)
    except (ClientError, BotoCoreError) as exc:
        raise turns.Refusal(STORE_FAILED, None, exc) from None
    for listed in found:
        try:
            forget(connection_id, owner, listed.conversation_id, now)
        except turns.Refusal as refusal:
            if refusal.error is not CONVERSATION_NOT_FOUND:
                raise
            try:  # its turns are gone already (expired): only the list item is left
                catalog.unlist(listed.conversation_id, int(now) + turns.MARKER_TTL_S)
            except (ClientError, BotoCoreError) as exc:
                raise turns.Refusal(STORE_FAILED, listed.conversation_id, exc) from None
    return len(found), position is not None
