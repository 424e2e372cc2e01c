"""Test-only Lambda handlers for the emulator's end-to-end tests: each shows one thing the gateway or the
runtime must do. They reach the client through the unchanged boto3 @connections client, as src/ does."""

import json
import os
import sys
import time
from pathlib import Path

import boto3

client = boto3.client("apigatewaymanagementapi", endpoint_url=f"{os.environ['API_ENDPOINT']}/{os.environ['STAGE']}")
RECORDS = Path(os.environ["PROBE_DIR"])
invocations = 0  # module state: survives between invocations of a warm environment


def _post(event: dict, value: object) -> None:
    client.post_to_connection(ConnectionId=event["requestContext"]["connectionId"], Data=json.dumps(value).encode())


def _record(event: dict) -> None:
    context = event["requestContext"]
    (RECORDS / f"{context['connectionId']}.{context['eventType']}.json").write_text(json.dumps(event))


def connect(event: dict, context: object) -> dict:
    """Records the CONNECT event; `?status=N` answers N, `?raise=1` raises."""
    _record(event)
    query = event.get("queryStringParameters") or {}
    if "raise" in query:
        raise RuntimeError("refused by raising")
    return {"statusCode": int(query.get("status", 200))}


def record(event: dict, context: object) -> dict:
    _record(event)
    return {"statusCode": 200}


def echo(event: dict, context: object) -> dict:
    """Posts the event back, with what the environment looks like."""
    global invocations
    invocations += 1
    print(f"probe echo {event['requestContext']['requestId']}")
    environment = {name: os.environ.get(name) for name in ("API_ENDPOINT", "STAGE", "PROBE_SETTING", "AWS_REGION")}
    _post(
        event,
        {
            "event": event,
            "pid": os.getpid(),
            "invocations": invocations,
            "environment": environment,
            "function_name": context.function_name,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "dont_write_bytecode": sys.dont_write_bytecode,
        },
    )
    return {"statusCode": 200}


def boom(event: dict, context: object) -> dict:
    raise ValueError("the probe failed on purpose")


def crash(event: dict, context: object) -> dict:
    """The whole environment process dies, as a segfault or OOM kill would; `{"exit": false}` echoes instead."""
    if json.loads(event.get("body") or "{}").get("exit", True):
        os._exit(3)
    return echo(event, context)


def sleep(event: dict, context: object) -> dict:
    """Sleeps `seconds` from the body, then posts {"slept": pid} (only if the run was not cut short)."""
    time.sleep(float(json.loads(event["body"])["seconds"]))
    _post(event, {"slept": os.getpid()})
    return {"statusCode": 200}


def manage(event: dict, context: object) -> dict:
    """Calls the @connections API as the body says and posts back what happened (or the error's code)."""
    request = json.loads(event["body"])
    own = event["requestContext"]["connectionId"]
    target = request.get("target", own)
    try:
        if request["call"] == "post":
            data = request["data"].encode() if "data" in request else b"\xff" * int(request["size"])
            client.post_to_connection(ConnectionId=target, Data=data)
            outcome = "posted"
        elif request["call"] == "get":
            info = client.get_connection(ConnectionId=target)
            outcome = {
                "ConnectedAt": info["ConnectedAt"].isoformat(),
                "LastActiveAt": info["LastActiveAt"].isoformat(),
                "Identity": info["Identity"],
            }
        else:
            client.delete_connection(ConnectionId=target)
            outcome = "deleted"
    except client.exceptions.ClientError as exc:
        outcome = exc.response["Error"]["Code"]
    if target == own and request["call"] == "delete":
        return {"statusCode": 200}
    _post(event, outcome)
    return {"statusCode": 200}


def authorize(event: dict, context: object) -> object:
    """A REQUEST authorizer whose verdict is the second subprotocol offered (after `probe`); records its event."""
    (RECORDS / f"{event['requestContext']['connectionId']}.AUTHORIZER.json").write_text(json.dumps(event))
    verdict = event["headers"]["Sec-WebSocket-Protocol"].split(",")[-1].strip()
    if verdict == "unauthorized":
        raise Exception("Unauthorized")
    if verdict == "crash":
        raise RuntimeError("the authorizer failed")
    effect = "Deny" if verdict == "deny" else "Allow"
    resource = "arn:aws:execute-api:*:*:other/*/$connect" if verdict == "elsewhere" else event["methodArn"]
    context = {"sub": "user-1", "n": 42, "admin": True}
    if verdict == "nested":
        context["groups"] = ["a"]
    answer = {
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": context,
    }
    if verdict == "anonymous":
        del answer["principalId"]
    return answer


def connect_subprotocol(event: dict, context: object) -> dict:
    """Records the CONNECT event and answers Sec-WebSocket-Protocol: probe when the client offered it."""
    _record(event)
    offered = event["headers"].get("Sec-WebSocket-Protocol", "")
    if "probe" in [item.strip() for item in offered.split(",")]:
        return {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": "probe"}}
    return {"statusCode": 200}
