"""A principal's daily meter: pk = `budget#<principal>#<YYYY-MM-DD>`, sk = 0, with `spent` (input-token
equivalents) and `inFlight` (replies streaming), changed only by atomic ADDs (conversation/budget.py decides)."""

from conversation.store import TABLE, Conflict, attribute, client, is_conflict, read_attributes


def _meter_key(owner: str, day: str) -> dict:
    return {"pk": {"S": f"budget#{owner}#{day}"}, "sk": {"N": "0"}}


def add(
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
        if is_conflict(exc):
            raise Conflict() from None
        raise
    return attribute(response.get("Attributes", {}), "spent", 0)


def reading(owner: str, day: str) -> tuple[int, int]:
    """The owner's spend and replies in flight for `day` (why `add` refused)."""
    stored = read_attributes(_meter_key(owner, day), "spent", "inFlight")
    return stored.get("spent") or 0, stored.get("inFlight") or 0
