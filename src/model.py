"""The Bedrock runtime client, created once per execution environment, and the Anthropic request."""

import json
import os

import boto3
from botocore.config import Config
from botocore.eventstream import EventStream

MODEL_ID = os.environ["MODEL_ID"]
MAX_TOKENS = 1024
ANTHROPIC_VERSION = "bedrock-2023-05-31"

# read_timeout bounds the silence between two stream events, not the whole reply.
client = boto3.client(
    "bedrock-runtime",
    config=Config(
        connect_timeout=5,
        read_timeout=float(os.environ.get("BEDROCK_READ_TIMEOUT", "60")),
        retries={"mode": "standard", "total_max_attempts": 3},
    ),
)


def request_body(text: str) -> str:
    return json.dumps(
        {
            "anthropic_version": ANTHROPIC_VERSION,
            "max_tokens": MAX_TOKENS,
            "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
        }
    )


def open_stream(text: str) -> EventStream:
    """Start the reply; errors before the first event (throttling, access, validation) raise here."""
    response = client.invoke_model_with_response_stream(
        modelId=MODEL_ID, body=request_body(text), contentType="application/json", accept="application/json"
    )
    return response["body"]
