"""BASELINE, not shipped: the original article's SendText loop, one synchronous post per delta.

Kept only so `make bench` can compare it with src/relay.py under the same emulator. Its clients are at module
scope like ours, so the comparison measures the loop, not client creation. It sends no end frame (the article
did not); the benchmark knows the reply's length and stops there.
"""

import json
import os

import boto3

bedrock = boto3.client("bedrock-runtime")
endpoint = f"{os.environ['API_ENDPOINT']}/{os.environ['STAGE']}"
connections = boto3.client("apigatewaymanagementapi", endpoint_url=endpoint)


def handler(event: dict, context: object) -> dict:
    connection_id = event["requestContext"]["connectionId"]
    text = json.loads(event["body"])["text"]
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
    }
    response = bedrock.invoke_model_with_response_stream(modelId=os.environ["MODEL_ID"], body=json.dumps(body))
    for event_ in response["body"]:
        chunk = json.loads(event_["chunk"]["bytes"])
        if chunk["type"] == "content_block_delta" and chunk["delta"]["type"] == "text_delta":
            connections.post_to_connection(ConnectionId=connection_id, Data=json.dumps(chunk["delta"]["text"]))
    return {"statusCode": 200}
