"""The conversation store: one DynamoDB table (TABLE_NAME), one item per turn, and the one place that talks to it.

Keys: a turn is pk = conversation id, sk = 1, 2, …; a connection's current conversation is
pk = `connection#<connectionId>`, sk = 0; a principal's spend for a day is pk = `budget#<principal>#<day>`,
sk = 0; a streaming reply's control item (conversation.control) is pk = `reply#<conversationId>`, sk = its turn's
number. Every item has `expiresAt` (epoch seconds) for DynamoDB's TTL, which deletes days late: readers skip
expired items themselves. Reads are consistent: the next `sendtext` can follow an
`end` frame at once.
"""

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
from botocore.config import Config

TABLE = os.environ["TABLE_NAME"]
PAGE_ITEMS = 100  # turns per Query page: one page holds 50 turns (the bench's longest) and most histories
BATCH_ITEMS = 25  # BatchWriteItem's limit

# Standard retries (3 attempts) absorb a throttled or dropped request; a store that stays down fails the turn.
client = boto3.client("dynamodb", config=Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard"}))


class Conflict(Exception):
    """A conditional write lost (ConditionalCheckFailedException): someone else wrote that key first. `status`: the
    holder's, when the caller needs it (`reserve`)."""

    def __init__(self, status: str | None = None) -> None:
        super().__init__(status)
        self.status = status


class Duplicate(Exception):
    """The turn is already reserved for this very message: Lambda delivered its event again."""


FORGOTTEN = "forgotten"  # the status of the marker `forget` leaves where the next turn would go


@dataclass
class Turn:
    conversation_id: str
    number: int
    owner: str
    user: str
    assistant: str = ""
    status: str = "pending"  # pending | complete | partial | failed
    stop_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    started_at: int = 0  # epoch ms
    deadline_at: int = 0  # epoch ms: a pending turn older than this was abandoned (its function timed out)
    request_id: str = ""  # the StreamReply invocation that reserved the turn; only it may finish it
    event_id: str = ""  # the message's id (SendText's request id): every delivery of its event carries it
    claim: str = ""  # random, per reserving attempt: tells our own retried write from another delivery's
    expires_at: int = 0  # epoch s


def _is_conflict(exc: Exception) -> bool:
    return isinstance(exc, client.exceptions.ConditionalCheckFailedException)


def _number(value: int | None) -> dict:
    return {"NULL": True} if value is None else {"N": str(value)}


def _string(value: str | None) -> dict:
    return {"NULL": True} if value is None else {"S": value}


def _get(item: dict, name: str, default: object = None) -> object:
    value = item.get(name)
    if value is None or "NULL" in value:
        return default
    return int(value["N"]) if "N" in value else value["S"]


def _turn(item: dict) -> Turn:
    return Turn(
        conversation_id=item["pk"]["S"],
        number=int(item["sk"]["N"]),
        owner=_get(item, "owner", "-"),
        user=_get(item, "user", ""),
        assistant=_get(item, "assistant", ""),
        status=_get(item, "status", "pending"),
        stop_reason=_get(item, "stopReason"),
        input_tokens=_get(item, "inputTokens"),
        output_tokens=_get(item, "outputTokens"),
        started_at=_get(item, "startedAt", 0),
        deadline_at=_get(item, "deadlineAt", 0),
        request_id=_get(item, "requestId", ""),
        event_id=_get(item, "eventId", ""),
        claim=_get(item, "claim", ""),
        expires_at=_get(item, "expiresAt", 0),
    )


def _connection_key(connection_id: str) -> dict:
    return {"pk": {"S": f"connection#{connection_id}"}, "sk": {"N": "0"}}


def _stored(key: dict, *attributes: str) -> dict:
    """Some attributes of an item as stored now, {} if there is none (a conditional write that failed asks who
    holds the key). Status is a reserved word: it gets a name."""
    item = client.get_item(
        TableName=TABLE,
        Key=key,
        ConsistentRead=True,
        ProjectionExpression=", ".join(f"#{name}" for name in attributes),
        ExpressionAttributeNames={f"#{name}": name for name in attributes},
    ).get("Item", {})
    return {name: _get(item, name) for name in attributes if name in item}


def current(connection_id: str, now: float) -> str | None:
    """The connection's current conversation id, if it has one (and the record has not expired)."""
    item = client.get_item(TableName=TABLE, Key=_connection_key(connection_id), ConsistentRead=True).get("Item")
    if item is None or _get(item, "expiresAt", 0) <= now:
        return None
    return _get(item, "conversationId")


def set_current(connection_id: str, conversation_id: str, previous: str | None, expires_at: int) -> None:
    """Make `conversation_id` the connection's current one, if it is still `previous` (else Conflict): two
    messages racing on one connection cannot both start a conversation."""
    condition = (
        {"ConditionExpression": "attribute_not_exists(pk)"}
        if previous is None
        else {
            "ConditionExpression": "attribute_not_exists(pk) OR conversationId = :previous",
            "ExpressionAttributeValues": {":previous": {"S": previous}},
        }
    )
    item = {
        **_connection_key(connection_id),
        "conversationId": {"S": conversation_id},
        "expiresAt": {"N": str(expires_at)},
    }
    try:
        client.put_item(TableName=TABLE, Item=item, **condition)
    except Exception as exc:
        if not _is_conflict(exc):
            raise
        if _stored(_connection_key(connection_id), "conversationId").get("conversationId") != conversation_id:
            raise Conflict() from None
        # Else our own write landed and its answer was lost: botocore's retry then fails the condition.


def clear_current(connection_id: str, conversation_id: str) -> None:
    """Forget the connection's current conversation, if it is still `conversation_id`."""
    try:
        client.delete_item(
            TableName=TABLE,
            Key=_connection_key(connection_id),
            ConditionExpression="conversationId = :id",
            ExpressionAttributeValues={":id": {"S": conversation_id}},
        )
    except Exception as exc:
        if not _is_conflict(exc):
            raise


# What a reply needs of each earlier turn (the history route reads every attribute). Reserved words get names.
_FOR_REPLY = {
    "ProjectionExpression": "pk, sk, #owner, #user, assistant, #status, outputTokens, deadlineAt, expiresAt",
    "ExpressionAttributeNames": {"#owner": "owner", "#user": "user", "#status": "status"},
}


def newest_first(conversation_id: str, page: int = PAGE_ITEMS, for_reply: bool = False) -> Iterator[Turn]:
    """Every stored turn, newest first, expired ones included (the caller decides); pages are read lazily, so a
    caller that stops early reads no more. `for_reply`: only the attributes a reply's history needs (a smaller
    response; read units are the same, DynamoDB counts whole items)."""
    request = {
        "TableName": TABLE,
        "KeyConditionExpression": "pk = :id AND sk > :zero",
        "ExpressionAttributeValues": {":id": {"S": conversation_id}, ":zero": {"N": "0"}},
        "ScanIndexForward": False,
        "ConsistentRead": True,
        "Limit": page,
        **(_FOR_REPLY if for_reply else {}),
    }
    while True:
        response = client.query(**request)
        yield from (_turn(item) for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def reserve(turn: Turn) -> None:
    """Write the new pending turn, once: StreamReply does, before it calls the model, so this one write is both the
    reservation and the once-only claim. Conflict if the number is taken by another message (or by `forget`'s
    marker: `Conflict.status`); Duplicate if by this message, delivered again."""
    item = {
        "pk": {"S": turn.conversation_id},
        "sk": {"N": str(turn.number)},
        "owner": {"S": turn.owner},
        "user": {"S": turn.user},
        "status": {"S": "pending"},
        "startedAt": {"N": str(turn.started_at)},
        "deadlineAt": {"N": str(turn.deadline_at)},
        "requestId": {"S": turn.request_id},
        "eventId": {"S": turn.event_id},
        "claim": {"S": turn.claim},
        "expiresAt": {"N": str(turn.expires_at)},
    }
    try:
        client.put_item(TableName=TABLE, Item=item, ConditionExpression="attribute_not_exists(pk)")
    except Exception as exc:
        if not _is_conflict(exc):
            raise
        holder = _stored({"pk": item["pk"], "sk": item["sk"]}, "claim", "eventId", "status")
        if holder.get("claim") == turn.claim:
            return  # ours: the first attempt wrote it, its answer was lost, and botocore's retry found it taken
        if holder.get("eventId") == turn.event_id:
            raise Duplicate(turn.conversation_id) from None
        raise Conflict(holder.get("status")) from None


def forgotten(conversation_id: str, number: int, expires_at: int) -> None:
    """Leave a marker (no text, no owner) where turn `number` would go, so a reply already on its way to that
    number finds it taken and is not stored; Conflict if a reply got there first. It expires with `expires_at`."""
    try:
        client.put_item(
            TableName=TABLE,
            Item={
                "pk": {"S": conversation_id},
                "sk": {"N": str(number)},
                "status": {"S": FORGOTTEN},
                "expiresAt": {"N": str(expires_at)},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
    except Exception as exc:
        if _is_conflict(exc):
            raise Conflict() from None
        raise


def finish(turn: Turn) -> None:
    """Store the reply's outcome on the reserved turn; Conflict if the turn is gone (forgotten meanwhile), finished
    already, or held by another invocation, so a late writer never resurrects or overwrites it."""
    try:
        client.update_item(
            TableName=TABLE,
            Key={"pk": {"S": turn.conversation_id}, "sk": {"N": str(turn.number)}},
            UpdateExpression=(
                "SET assistant = :assistant, #status = :status, stopReason = :stop, "
                "inputTokens = :input, outputTokens = :output"
            ),
            ConditionExpression="requestId = :request AND #status = :pending",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":assistant": {"S": turn.assistant},
                ":status": {"S": turn.status},
                ":stop": _string(turn.stop_reason),
                ":input": _number(turn.input_tokens),
                ":output": _number(turn.output_tokens),
                ":request": {"S": turn.request_id},
                ":pending": {"S": "pending"},
            },
        )
    except Exception as exc:
        if _is_conflict(exc):
            raise Conflict() from None
        raise


def bury(turns: list[Turn], expires_at: int) -> None:
    """Replace these turns with tombstones now: no text, no owner, only the status `forgotten` and the event id of
    the message that made each, until `expires_at`. A late second delivery of that message then finds its turn
    taken by itself and sends nothing, and no message can be stored there again (BatchWriteItem, 25 at a time,
    unprocessed ones sent again)."""
    for start in range(0, len(turns), BATCH_ITEMS):
        requests = [
            {
                "PutRequest": {
                    "Item": {
                        "pk": {"S": turn.conversation_id},
                        "sk": {"N": str(turn.number)},
                        "status": {"S": FORGOTTEN},
                        "expiresAt": {"N": str(expires_at)},
                        **({"eventId": {"S": turn.event_id}} if turn.event_id else {}),
                    }
                }
            }
            for turn in turns[start : start + BATCH_ITEMS]
        ]
        pending = {TABLE: requests}
        for attempt in range(5):
            time.sleep(0.05 * attempt)  # unprocessed items mean throttling: back off a little
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
        else:
            raise RuntimeError("DynamoDB left tombstones unprocessed after 5 attempts")


def _meter_key(owner: str, day: str) -> dict:
    return {"pk": {"S": f"budget#{owner}#{day}"}, "sk": {"N": "0"}}


def meter(
    owner: str,
    day: str,
    units: int,
    in_flight: int,
    room: int | None = None,
    max_in_flight: int | None = None,
    expires_at: int | None = None,
) -> int:
    """Add `units` to the owner's spend for `day` and `in_flight` to its replies in flight, in one atomic update;
    only while the spend is at most `room` and fewer than `max_in_flight` are in flight (else Conflict). Returns
    the spend after the update."""
    conditions, values = [], {":units": {"N": str(units)}, ":flight": {"N": str(in_flight)}}
    if room is not None:
        conditions.append("(attribute_not_exists(spent) OR spent <= :room)")
        values[":room"] = {"N": str(room)}
    if max_in_flight is not None:
        conditions.append("(attribute_not_exists(inFlight) OR inFlight < :most)")
        values[":most"] = {"N": str(max_in_flight)}
    update = "ADD spent :units, inFlight :flight"
    if expires_at is not None:
        update += " SET expiresAt = if_not_exists(expiresAt, :expires)"
        values[":expires"] = {"N": str(expires_at)}
    try:
        response = client.update_item(
            TableName=TABLE,
            Key=_meter_key(owner, day),
            UpdateExpression=update,
            ExpressionAttributeValues=values,
            ReturnValues="UPDATED_NEW",
            **({"ConditionExpression": " AND ".join(conditions)} if conditions else {}),
        )
    except Exception as exc:
        if _is_conflict(exc):
            raise Conflict() from None
        raise
    return _get(response.get("Attributes", {}), "spent", 0)


def meter_reading(owner: str, day: str) -> tuple[int, int]:
    """The owner's spend and replies in flight for `day` (why `meter` refused)."""
    stored = _stored(_meter_key(owner, day), "spent", "inFlight")
    return stored.get("spent") or 0, stored.get("inFlight") or 0


# --- the conversation list (issue 24) ---------------------------------------------------------------------------
# One small item per conversation: pk = `conv#<id>`, sk = 0, with owner, title, updatedAt (epoch ms), turns and
# expiresAt (the newest turn's). A signed-in owner's items also carry `listOwner`, the hash key of the sparse index
# LIST_INDEX (range key updatedAt): one Query per page of the list, never a scan. Anonymous ones ("-") stay out of
# the index: there is no principal to list them by, and "-" would put everyone's chats in one list.
LIST_INDEX = "byOwner"
BATCH_GET_ITEMS = 100  # BatchGetItem's limit


@dataclass
class Listed:
    conversation_id: str
    owner: str
    title: str
    updated_at: int  # epoch ms
    turns: int
    expires_at: int  # epoch s
    forgotten: bool = False


def _listing_key(conversation_id: str) -> dict:
    return {"pk": {"S": f"conv#{conversation_id}"}, "sk": {"N": "0"}}


def _listed(item: dict) -> Listed:
    return Listed(
        conversation_id=item["pk"]["S"].removeprefix("conv#"),
        owner=_get(item, "owner", "-"),
        title=_get(item, "title", ""),
        updated_at=_get(item, "updatedAt", 0),
        turns=_get(item, "turns", 0),
        expires_at=_get(item, "expiresAt", 0),
        forgotten=_get(item, "status") == FORGOTTEN,
    )


def touch(turn: Turn, title: str, updated_at: int) -> None:
    """Move the conversation to the top of its owner's list after `turn` was stored: one UpdateItem, which keeps a
    title already set (the first message's, or a rename). Conflict if `forget` left its mark: never listed again."""
    names = {"#owner": "owner", "#status": "status", "#turns": "turns"}
    values = {
        ":owner": {"S": turn.owner},
        ":title": {"S": title},
        ":updated": {"N": str(updated_at)},
        ":turns": {"N": str(turn.number)},
        ":expires": {"N": str(turn.expires_at)},
    }
    update = "SET #owner = :owner, title = if_not_exists(title, :title), updatedAt = :updated, #turns = :turns, "
    update += "expiresAt = :expires"
    if turn.owner != "-":
        update += ", listOwner = :owner"
    try:
        client.update_item(
            TableName=TABLE,
            Key=_listing_key(turn.conversation_id),
            UpdateExpression=update,
            ConditionExpression="attribute_not_exists(#status)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except Exception as exc:
        if _is_conflict(exc):
            raise Conflict() from None
        raise


def unlist(conversation_id: str, expires_at: int) -> None:
    """Take the conversation off the list at once, leaving a mark (no owner, no title, out of the index) so that a
    reply finishing meanwhile cannot `touch` it back; the mark expires with `expires_at`."""
    client.put_item(
        TableName=TABLE,
        Item={**_listing_key(conversation_id), "status": {"S": FORGOTTEN}, "expiresAt": {"N": str(expires_at)}},
    )


def retitle(conversation_id: str, owner: str, title: str, now: float) -> None:
    """Set the title of the owner's live, listed conversation; Conflict if there is none (unknown, expired,
    forgotten or someone else's)."""
    try:
        client.update_item(
            TableName=TABLE,
            Key=_listing_key(conversation_id),
            UpdateExpression="SET title = :title",
            ConditionExpression="#owner = :owner AND attribute_not_exists(#status) AND expiresAt > :now",
            ExpressionAttributeNames={"#owner": "owner", "#status": "status"},
            ExpressionAttributeValues={":title": {"S": title}, ":owner": {"S": owner}, ":now": {"N": str(int(now))}},
        )
    except Exception as exc:
        if _is_conflict(exc):
            raise Conflict() from None
        raise


def listed(
    owner: str, limit: int, after: tuple[int, str] | None, now: float
) -> tuple[list[Listed], tuple[int, str] | None]:
    """One page of the owner's list, newest activity first, from the index (eventually consistent: an update may
    show a moment late), and where the next page starts (None: this was the last). `after`: (updatedAt, id) of the
    last one already sent. Expired items are filtered out by DynamoDB, so a page may hold fewer than `limit`."""
    request = {
        "TableName": TABLE,
        "IndexName": LIST_INDEX,
        "KeyConditionExpression": "listOwner = :owner",
        "FilterExpression": "expiresAt > :now",
        "ExpressionAttributeValues": {":owner": {"S": owner}, ":now": {"N": str(int(now))}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if after is not None:  # built from our own key parts: a cursor can only move within this owner's list
        updated_at, conversation_id = after
        start = {**_listing_key(conversation_id), "listOwner": {"S": owner}, "updatedAt": {"N": str(updated_at)}}
        request["ExclusiveStartKey"] = start
    response = client.query(**request)
    last = response.get("LastEvaluatedKey")
    position = (int(last["updatedAt"]["N"]), last["pk"]["S"].removeprefix("conv#")) if last else None
    return [_listed(item) for item in response.get("Items", [])], position


def listed_by_id(conversation_ids: list[str]) -> list[Listed]:
    """The list items of these conversations that exist (forget's marks included: the caller decides), in one
    consistent BatchGetItem per 100 ids; unprocessed keys are asked for again."""
    found: list[Listed] = []
    for start in range(0, len(conversation_ids), BATCH_GET_ITEMS):
        keys = [_listing_key(conversation_id) for conversation_id in conversation_ids[start : start + BATCH_GET_ITEMS]]
        pending = {TABLE: {"Keys": keys, "ConsistentRead": True}}
        for attempt in range(5):
            time.sleep(0.05 * attempt)  # unprocessed keys mean throttling: back off a little
            response = client.batch_get_item(RequestItems=pending)
            found += [_listed(item) for item in response.get("Responses", {}).get(TABLE, [])]
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                break
        else:
            raise RuntimeError("DynamoDB left keys unprocessed after 5 attempts")
    return found
