"""The conversation store: one DynamoDB table (TABLE_NAME), and the one package that talks to it. Here: the client,
the item codecs, a conversation's turns and a connection's current conversation; `meters` holds the daily budget's
items, `catalog` the conversation list's.

Keys: a turn is pk = conversation id, sk = 1, 2, …; a connection's current conversation is
pk = `connection#<connectionId>`, sk = 0 (docs/architecture.md has every key). Every item has `expiresAt` (epoch
seconds) for DynamoDB's TTL, which deletes days late: readers skip expired items themselves. Reads are consistent:
the next `sendtext` can follow an `end` frame at once.
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


def is_conflict(exc: Exception) -> bool:
    return isinstance(exc, client.exceptions.ConditionalCheckFailedException)


def number(value: int | None) -> dict:
    return {"NULL": True} if value is None else {"N": str(value)}


def string(value: str | None) -> dict:
    return {"NULL": True} if value is None else {"S": value}


def attribute(item: dict, name: str, default: object = None) -> object:
    value = item.get(name)
    if value is None or "NULL" in value:
        return default
    return int(value["N"]) if "N" in value else value["S"]


def _turn(item: dict) -> Turn:
    return Turn(
        conversation_id=item["pk"]["S"],
        number=int(item["sk"]["N"]),
        owner=attribute(item, "owner", "-"),
        user=attribute(item, "user", ""),
        assistant=attribute(item, "assistant", ""),
        status=attribute(item, "status", "pending"),
        stop_reason=attribute(item, "stopReason"),
        input_tokens=attribute(item, "inputTokens"),
        output_tokens=attribute(item, "outputTokens"),
        started_at=attribute(item, "startedAt", 0),
        deadline_at=attribute(item, "deadlineAt", 0),
        request_id=attribute(item, "requestId", ""),
        event_id=attribute(item, "eventId", ""),
        claim=attribute(item, "claim", ""),
        expires_at=attribute(item, "expiresAt", 0),
    )


def _connection_key(connection_id: str) -> dict:
    return {"pk": {"S": f"connection#{connection_id}"}, "sk": {"N": "0"}}


def read_attributes(key: dict, *attributes: str) -> dict:
    """Some attributes of an item as stored now, {} if there is none (a conditional write that failed asks who
    holds the key). Status is a reserved word: it gets a name."""
    item = client.get_item(
        TableName=TABLE,
        Key=key,
        ConsistentRead=True,
        ProjectionExpression=", ".join(f"#{name}" for name in attributes),
        ExpressionAttributeNames={f"#{name}": name for name in attributes},
    ).get("Item", {})
    return {name: attribute(item, name) for name in attributes if name in item}


def current(connection_id: str, now: float) -> str | None:
    """The connection's current conversation id, if it has one (and the record has not expired)."""
    item = client.get_item(TableName=TABLE, Key=_connection_key(connection_id), ConsistentRead=True).get("Item")
    if item is None or attribute(item, "expiresAt", 0) <= now:
        return None
    return attribute(item, "conversationId")


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
        if not is_conflict(exc):
            raise
        if read_attributes(_connection_key(connection_id), "conversationId").get("conversationId") != conversation_id:
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
        if not is_conflict(exc):
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
        if not is_conflict(exc):
            raise
        holder = read_attributes({"pk": item["pk"], "sk": item["sk"]}, "claim", "eventId", "status")
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
        if is_conflict(exc):
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
                ":stop": string(turn.stop_reason),
                ":input": number(turn.input_tokens),
                ":output": number(turn.output_tokens),
                ":request": {"S": turn.request_id},
                ":pending": {"S": "pending"},
            },
        )
    except Exception as exc:
        if is_conflict(exc):
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
