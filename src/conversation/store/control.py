"""A streaming reply's control item (issue 27): how the `resume` and `stop` routes reach the StreamReply that owns
the reply. pk = `reply#<conversation id>`, sk = n for turn n: beside the conversation's own items, like the list's
`conv#` item, so nothing that reads or forgets a conversation's turns meets it. It holds no text, only where the
reply goes now (`connectionId`, `resumeFrom`, `version`: resumes accepted), whether it was stopped, and `closed`
once StreamReply has stored the turn.

Every write is conditional, and that is the whole of "exactly once": a resume counts only if the version is still
the one its route read and the reply is not closed (two at once: one wins, the other is told ConversationBusy);
StreamReply closes only on the version it has served (a resume that won meanwhile makes the close fail, and
StreamReply serves it first). A resume refused because the reply is closed is answered from the stored turn, which
was stored before the close.
"""

from dataclasses import dataclass

from conversation.store import TABLE, Conflict, attribute, client, is_conflict

TTL_S = 3600  # the item outlives its reply (15 minutes at most); TTL deletes it later


@dataclass(frozen=True)
class Control:
    version: int = 0  # resumes accepted so far
    connection_id: str | None = None  # the connection of the newest resume
    offset: int = 0  # the characters of the reply that connection holds
    stopped: bool = False
    closed: bool = False


def _key(conversation_id: str, number: int) -> dict:
    return {"pk": {"S": f"reply#{conversation_id}"}, "sk": {"N": str(number)}}


def _on_version(seen: int) -> str:
    """The condition that nobody resumed since version `seen` (0: the item has no version yet)."""
    return "attribute_not_exists(version)" if seen == 0 else "version = :seen"


def _update(conversation_id: str, number: int, update: str, condition: str, values: dict, expires_at: int) -> None:
    try:
        client.update_item(
            TableName=TABLE,
            Key=_key(conversation_id, number),
            UpdateExpression=f"{update}, expiresAt = :expires",
            ConditionExpression=condition,
            ExpressionAttributeValues={**values, ":expires": {"N": str(expires_at)}},
        )
    except Exception as exc:
        if is_conflict(exc):
            raise Conflict() from None
        raise


def read(conversation_id: str, number: int) -> Control:
    """The item as it is now (consistent: a write that succeeded is seen); an empty Control when there is none."""
    item = client.get_item(TableName=TABLE, Key=_key(conversation_id, number), ConsistentRead=True).get("Item")
    if item is None:
        return Control()
    return Control(
        version=attribute(item, "version", 0),
        connection_id=attribute(item, "connectionId"),
        offset=attribute(item, "resumeFrom", 0),
        stopped="stopped" in item,
        closed="closed" in item,
    )


def resume(conversation_id: str, number: int, connection_id: str, offset: int, seen: int, expires_at: int) -> None:
    """Send the rest of the reply to `connection_id`, from character `offset`; Conflict if the version is no longer
    `seen` (another resume won) or the reply is closed."""
    values = {":next": {"N": str(seen + 1)}, ":connection": {"S": connection_id}, ":from": {"N": str(offset)}}
    if seen:
        values[":seen"] = {"N": str(seen)}
    _update(
        conversation_id,
        number,
        "SET version = :next, connectionId = :connection, resumeFrom = :from",
        f"attribute_not_exists(closed) AND {_on_version(seen)}",
        values,
        expires_at,
    )


def stop(conversation_id: str, number: int, expires_at: int) -> None:
    """Ask the reply to stop; Conflict if it is closed (it has ended already)."""
    yes = {":yes": {"N": "1"}}
    _update(conversation_id, number, "SET stopped = :yes", "attribute_not_exists(closed)", yes, expires_at)


def close(conversation_id: str, number: int, seen: int, expires_at: int) -> None:
    """Mark the reply ended, its turn stored; Conflict if a resume newer than `seen` came in (serve it, then close
    again)."""
    values = {":yes": {"N": "1"}, **({":seen": {"N": str(seen)}} if seen else {})}
    _update(conversation_id, number, "SET closed = :yes", _on_version(seen), values, expires_at)
