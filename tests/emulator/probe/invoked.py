"""Test-only handlers for Lambda's Invoke API in the emulator: they note every invocation in PROBE_DIR, so a test
sees what ran, when, and under which request id, and behave as the event asks."""

import json
import os
import time
from pathlib import Path

import boto3

NOTES = Path(os.environ["PROBE_DIR"]) / "invocations.jsonl"
lambda_client = boto3.client("lambda")  # AWS_ENDPOINT_URL_LAMBDA: the emulator's Invoke API


def note(event: object, context: object) -> object:
    """Notes the invocation, then `sleep`s, `fail`s or `crash`es as the event says; returns the event."""
    line = {
        "function": context.function_name,
        "requestId": context.aws_request_id,
        "at": time.time(),
        "event": event,
    }
    with NOTES.open("a") as notes:  # one short append per invocation: whole lines even from parallel processes
        notes.write(json.dumps(line) + "\n")
    todo = event if isinstance(event, dict) else {}
    time.sleep(float(todo.get("sleep", 0)))
    if todo.get("fail"):
        raise ValueError(todo["fail"])
    if todo.get("crash"):
        os._exit(3)
    return {"echo": event, "remaining_ms": context.get_remaining_time_in_millis()}


def start(event: dict, context: object) -> dict:
    """Starts `event["target"]` asynchronously with `event["payload"]`, as a function calling Lambda would."""
    response = lambda_client.invoke(
        FunctionName=event["target"], InvocationType="Event", Payload=json.dumps(event["payload"]).encode()
    )
    return {"status": response["StatusCode"], "endpoint": os.environ.get("AWS_ENDPOINT_URL_LAMBDA")}
