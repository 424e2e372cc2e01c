"""$connect: accept every connection (add authorization here, e.g. a Lambda authorizer in main.yml)."""

from logs import log


def handler(event: dict, context: object) -> dict:
    request = event["requestContext"]
    log("connect", connectionId=request["connectionId"], sourceIp=request.get("identity", {}).get("sourceIp"))
    return {"statusCode": 200}
