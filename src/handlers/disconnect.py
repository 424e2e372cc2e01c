"""$disconnect: best effort, as API Gateway calls it; nothing is stored per connection, so just log."""

from telemetry.logs import bind, log


def handler(event: dict, context: object) -> dict:
    request = event["requestContext"]
    bind(context, connectionId=request["connectionId"])
    log(
        "disconnect",
        statusCode=request.get("disconnectStatusCode"),
        reason=request.get("disconnectReason"),
    )
    return {"statusCode": 200}
