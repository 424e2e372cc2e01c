"""The conversation list (issue 24): one small item per conversation, pk = `conv#<id>`, sk = 0, with owner, title,
updatedAt (epoch ms), turns and expiresAt (the newest turn's). A signed-in owner's items also carry `listOwner`, the
hash key of the sparse index LIST_INDEX (range key updatedAt): one Query per page of the list, never a scan.
Anonymous ones ("-") stay out of the index: there is no principal to list them by, and "-" would put everyone's
chats in one list."""

import time
from dataclasses import dataclass

from conversation.store import (
    FORGOTTEN,
    TABLE,
    Conflict,
    Turn,
    attribute,
    client,
    is_conflict,
)

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
        owner=attribute(item, "owner", "-"),
        title=attribute(item, "title", ""),
        updated_at=attribute(item, "updatedAt", 0),
        turns=attribute(item, "turns", 0),
        expires_at=attribute(item, "expiresAt", 0),
        forgotten=attribute(item, "status") == FORGOTTEN,
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
        if is_conflict(exc):
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
        if is_conflict(exc):
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
