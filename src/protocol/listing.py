"""The conversation list's part of the protocol (issue 24): `conversations` (a page of the caller's list, by
owner or by the ids an anonymous client names, with an opaque cursor), `rename` and `forget` with `"all": true`;
their parsers and frames. Errors are with every other error, in protocol/__init__.py."""

import base64
import json
import unicodedata
from dataclasses import dataclass

from protocol import ErrorCode, ProtocolError, is_conversation_id

LIST_PAGE = 25  # conversations per `conversations` frame
LIST_IDS_MAX = 100  # ids an anonymous client may name in one `conversations` message
TITLE_MAX_CHARS = 80  # 25 titles of 80 characters, up to 12 bytes each escaped (an emoji: a surrogate pair), fit 32 KB
_NOT_IN_A_TITLE = {"Cc", "Cs", "Zl", "Zp"}  # control characters, lone surrogates, line and paragraph separators


@dataclass(frozen=True)
class ListRequest:
    conversation_ids: list[str] | None  # anonymous: the ids the client holds (None: the principal's own list)
    after: tuple[int, str] | None  # the cursor: (updatedAt, id) of the last conversation already sent


def _cursor(value: object) -> tuple[int, str] | None:
    """The (updatedAt, id) a `next` cursor stands for. Opaque to clients, and only a position: the server always
    lists the caller's own conversations from it."""
    if value is None:
        return None
    bad = ProtocolError(ErrorCode.BAD_REQUEST, '"next" must be a cursor from a "conversations" frame.')
    if not isinstance(value, str) or len(value) > 200:
        raise bad
    try:
        updated_at, conversation_id = json.loads(base64.urlsafe_b64decode(value.encode()))
    except (ValueError, TypeError):
        raise bad from None
    if (
        not isinstance(updated_at, int)
        or not isinstance(conversation_id, str)
        or not is_conversation_id(conversation_id)
    ):
        raise bad
    return updated_at, conversation_id


def cursor_of(updated_at: int, conversation_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([updated_at, conversation_id]).encode()).decode()


def parse_conversations(message: dict) -> ListRequest:
    ids = message.get("conversationIds")
    if ids is not None:
        if not isinstance(ids, list) or not all(isinstance(one, str) for one in ids):
            raise ProtocolError(ErrorCode.BAD_REQUEST, '"conversationIds" must be a list of conversation ids.')
        if len(ids) > LIST_IDS_MAX:
            raise ProtocolError(
                ErrorCode.BAD_REQUEST, f'"conversationIds" has {len(ids)} ids; the limit is {LIST_IDS_MAX}.'
            )
        ids = list(dict.fromkeys(one for one in ids if is_conversation_id(one)))  # made-up ids: not found
    return ListRequest(ids, _cursor(message.get("next")))


def parse_title(message: dict) -> str:
    title = message.get("title")
    if not isinstance(title, str):
        raise ProtocolError(ErrorCode.BAD_REQUEST, '"title" must be a string.')
    title = title.strip()
    if not title:
        raise ProtocolError(ErrorCode.BAD_REQUEST, '"title" is empty.')
    if len(title) > TITLE_MAX_CHARS:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, f'"title" has {len(title)} characters; the limit is {TITLE_MAX_CHARS}.'
        )
    if any(unicodedata.category(char) in _NOT_IN_A_TITLE for char in title):
        raise ProtocolError(ErrorCode.BAD_REQUEST, '"title" must be one line, without control characters.')
    return title


def forget_all_of(message: dict) -> bool:
    value = message.get("all", False)
    if not isinstance(value, bool):
        raise ProtocolError(ErrorCode.BAD_REQUEST, '"all" must be true or false.')
    if value and "conversationId" in message:
        raise ProtocolError(ErrorCode.BAD_REQUEST, 'Send either "all": true or a "conversationId", not both.')
    return value


def conversations_frame(entries: list[dict], next_cursor: str | None) -> str:
    return json.dumps({"type": "conversations", "conversations": entries, "next": next_cursor})


def renamed_frame(conversation_id: str, title: str) -> str:
    return json.dumps({"type": "renamed", "conversationId": conversation_id, "title": title})


def forgotten_all_frame(count: int, more: bool) -> str:
    """`more`: the principal had more conversations than one message deletes; send it again."""
    return json.dumps({"type": "forgotten", "all": True, "count": count, "more": more})
