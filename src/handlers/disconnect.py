"""$disconnect: best effort, as API Gateway calls it; nothing is stored per connection, so just log."""

from telemetry.logs import log


def handler(event: dict, context: object) -> dict:
    request = event["requestContext"]
    log(
        "disconnect",
        connectionId=request["connectionId"],
        statusCode=request.get("disconnectStatusCode"),
        reason=request.get("disconnectReason"),
    )
    return {"statusCode": 200}
