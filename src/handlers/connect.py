"""$connect: accept the connection (a REQUEST authorizer may have checked it first) and answer the subprotocol."""

from signin import handshake
from telemetry.logs import bind, log


def handler(event: dict, context: object) -> dict:
    request = event["requestContext"]
    bind(context, connectionId=request["connectionId"])
    log(
        "connect",
        sourceIp=request.get("identity", {}).get("sourceIp"),
        principalId=request.get("authorizer", {}).get("principalId"),
    )
    if handshake.SUBPROTOCOL in handshake.offered(event.get("headers")):
        return {"statusCode": 200, "headers": {handshake.HEADER: handshake.SUBPROTOCOL}}
    return {"statusCode": 200}
