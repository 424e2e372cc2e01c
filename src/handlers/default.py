"""$default: a message that matched no route gets one error frame saying what to send instead."""

import connections
from protocol import error_frame, unknown_action
from telemetry.logs import bind, log


def handler(event: dict, context: object) -> dict:
    connection_id = event["requestContext"]["connectionId"]
    bind(context, connectionId=connection_id)
    error = unknown_action(event.get("body"))
    if not connections.tell(connection_id, error_frame(error)):
        log("gone", route="$default")
    log("unmatched", code=str(error.code))
    return {"statusCode": 200}
