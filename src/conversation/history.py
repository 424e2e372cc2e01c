"""A conversation's stored turns, two ways: the messages the model is sent, and the frames a client reads back.

Bedrock's rules for the messages: roles alternate, the first is `user`, no text block is empty, and the last is
the new user text (a trailing assistant message would be a prefill). One item per turn holds a user text and its
reply, so using or skipping whole turns keeps the roles alternating by construction.
"""

import json
import math
from collections.abc import Iterable

from conversation.store import Turn
from protocol import FRAME_LIMIT_BYTES


def estimate_tokens(text: str) -> int:
    """An upper-side estimate: about 4 bytes per token in English, 3 in Japanese; 3 keeps both within budget."""
    return math.ceil(len(text.encode("utf-8")) / 3)


def usable(turn: Turn) -> bool:
    """Complete replies, and partial ones (the model failed mid-reply or the client left) with some text, exactly
    as the client received it. Failed turns (no text) and pending ones (still streaming) are left out."""
    return turn.status in ("complete", "partial") and bool(turn.assistant.strip())


def turn_tokens(turn: Turn) -> int:
    """What re-sending a turn costs: its user text, estimated, plus the reply's stored output tokens (a partial
    reply's count may be missing or cover text the client never got, so it is estimated from the text)."""
    reply = turn.output_tokens if turn.status == "complete" and turn.output_tokens else None
    return estimate_tokens(turn.user) + (reply if reply is not None else estimate_tokens(turn.assistant))


def _message(role: str, text: str) -> dict:
    return {"role": role, "content": [{"type": "text", "text": text}]}


def messages(newest_first: Iterable[Turn], text: str, budget: int, stable: bool = False) -> tuple[list[dict], int]:
    """The newest usable turns that fit `budget` tokens together with `text`, oldest first, then `text`; and how
    many turns that is. Turns are taken newest first until one does not fit, so the model never sees a gap. If
    `text` alone is over the budget it goes alone. `stable` (prompt caching on): when turns had to be left out,
    the kept history starts on a stable turn (`_stable_start`), so the cached prefix survives many turns."""
    remaining = budget - estimate_tokens(text)
    chosen: list[Turn] = []
    trimmed = False
    if remaining > 0:
        for turn in newest_first:
            if not usable(turn):
                continue
            cost = turn_tokens(turn)
            if cost > remaining:
                trimmed = True
                break
            remaining -= cost
            chosen.append(turn)
    if stable and trimmed and chosen:
        chosen = _stable_start(chosen)
    result = []
    for turn in reversed(chosen):
        result += [_message("user", turn.user), _message("assistant", turn.assistant)]
    return [*result, _message("user", text)], len(chosen)


def _stable_start(newest_first: list[Turn]) -> list[Turn]:
    """Cache-aware trimming. Trimming one turn at a time changes the history's first message every turn, so the
    cached prefix never matches again: every turn pays a cache miss and a new cache write (1.25x the input price).
    Instead the history starts at the first turn whose number is a multiple of `step`, the power of two nearest a
    quarter of the turns that fit: the start then moves only once every `step` turns, by `step` turns at once,
    and the turns in between read the whole history from the cache. The price: up to `step - 1` fewer turns sent.
    The step depends only on how many turns fit, rounded to a power of two, so it stays the same from one turn to
    the next even as turn sizes vary (nothing is stored)."""
    step = 1 << round(math.log2(max(1.0, len(newest_first) / 4)))
    start = -(-newest_first[-1].number // step) * step
    return [turn for turn in newest_first if turn.number >= start]


# --- reading a conversation back ------------------------------------------------------------------------------

_PLACEHOLDER = 10**6  # stands in for `part` and `parts` while frames are sized: wider than any real count


def _entry(turn: Turn, user: str, assistant: str) -> dict:
    return {
        "turn": turn.number,
        "user": user,
        "assistant": assistant,
        "stop_reason": turn.stop_reason,
        "status": turn.status,
        "usage": {"input_tokens": turn.input_tokens, "output_tokens": turn.output_tokens},
    }


def _size(value: object) -> int:
    return len(json.dumps(value).encode())  # ASCII-only (json.dumps escapes the rest), so bytes == characters


def _escaped(char: str) -> int:
    return 1 if char.isascii() and char.isprintable() and char not in '"\\' else len(json.dumps(char)) - 2


def _pieces(text: str, room: int) -> list[str]:
    """`text` cut into pieces whose JSON-escaped length is at most `room`."""
    pieces, start, size = [], 0, 0
    for index, char in enumerate(text):
        width = _escaped(char)
        if size + width > room:
            pieces.append(text[start:index])
            start, size = index, 0
        size += width
    return [*pieces, text[start:]] if text[start:] or not pieces else pieces


def _entries(turn: Turn, room: int) -> list[dict]:
    """One entry, or (a turn too big for one frame) several with the same `turn` whose texts concatenate."""
    whole = _entry(turn, turn.user, turn.assistant)
    if _size(whole) <= room:
        return [whole]
    text_room = room - _size(_entry(turn, "", ""))
    return [_entry(turn, piece, "") for piece in _pieces(turn.user, text_room)] + [
        _entry(turn, "", piece) for piece in _pieces(turn.assistant, text_room) if piece
    ]


def history_frames(conversation_id: str, turns: list[Turn], limit: int = FRAME_LIMIT_BYTES) -> list[str]:
    """`history` frames, each at most `limit` bytes, numbered part 1..parts: a client has the whole conversation
    once it has `parts` of them. An empty conversation is one frame with no turns."""
    skeleton = {"type": "history", "conversationId": conversation_id, "part": _PLACEHOLDER, "parts": _PLACEHOLDER}
    base = _size({**skeleton, "turns": []})
    room = limit - base - 2  # an entry after the first costs its size plus the ", " separator
    frames: list[list[dict]] = [[]]
    used = base
    for turn in turns:
        for entry in _entries(turn, room):
            size = _size(entry) + 2
            if frames[-1] and used + size > limit:
                frames.append([])
                used = base
            frames[-1].append(entry)
            used += size
    parts = len(frames)
    return [
        json.dumps({**skeleton, "part": part, "parts": parts, "turns": entries})
        for part, entries in enumerate(frames, 1)
    ]
