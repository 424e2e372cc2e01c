"""$default: a message that matched no route gets one error frame saying what to send instead (or Unauthorized
once the connection's sign-in has expired)."""

import time

import connections
from protocol import ProtocolError, error_frame, unknown_action
from signin import session
from telemetry.logs import bind, log


def handler(event: dict, context: object) -> dict:
    connection_id = event["requestContext"]["connectionId"]
    bind(context, connectionId=connection_id)
    try:
        session.check(event["requestContext"], time.time())
        error = unknown_action(event.get("body"))
    except ProtocolError as expired:
        error = expired
    delivered = connections.tell(connection_id, error_frame(error))  # False: the client left (or see "undelivered")
    log("unmatched", code=str(error.code), delivered=delivered)
    return {"statusCode": 200}
