"""What SendText hands StreamReply: the asynchronous invocation's payload, which Lambda also returns, as
`requestPayload`, in the failure record ReplyFailed receives. One shape, built and read only here.

The payload carries the connection, the turn to reserve (minus the user's text, which is already the last of the
model's messages), the messages themselves, so StreamReply reads nothing before it reserves the turn, and the
budget SendText reserved for the reply, which whoever ends the reply settles. Written as UTF-8 (not \\u-escaped): a
128 KB message and its history stay well under the 1 MB asynchronous payload quota.
"""

import json
from dataclasses import asdict, dataclass

from conversation import budget, store, turns


@dataclass
class Handover:
    connection_id: str
    begun: turns.Begun
    reservation: budget.Reservation | None = None
    model: str | None = None  # the model the message chose (None: the default)


def encode(
    connection_id: str,
    begun: turns.Begun,
    reservation: budget.Reservation | None = None,
    model: str | None = None,
) -> bytes:
    turn = {**asdict(begun.turn), "user": ""}
    payload = {
        "connectionId": connection_id,
        "turn": turn,
        "messages": begun.messages,
        "historyTurns": begun.history_turns,
        "budget": reservation.to_json() if reservation else None,
        **({"model": model} if model else {}),
    }
    return json.dumps(payload, ensure_ascii=False).encode()


def decode(payload: dict) -> Handover:
    turn = store.Turn(**{**payload["turn"], "user": payload["messages"][-1]["content"][0]["text"]})
    reserved = payload.get("budget")
    return Handover(
        payload["connectionId"],
        turns.Begun(turn, payload["messages"], payload["historyTurns"]),
        budget.Reservation(**reserved) if reserved else None,
        payload.get("model"),
    )
