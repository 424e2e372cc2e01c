"""The Bedrock runtime client, created once per execution environment, and the Anthropic request.

MAX_TOKENS caps each reply (default 1024, the original article's); SYSTEM_PROMPT, when set, is sent as `system`
(unset: no `system` field, the article's request exactly).
"""

import json
import os

import boto3
from botocore.config import Config
from botocore.eventstream import EventStream

MODEL_ID = os.environ["MODEL_ID"]
MAX_TOKENS = int(os.environ.get("MAX_TOKENS", "1024"))
SYSTEM_PROMPT = os.environ.get("SYSTEM_PROMPT", "")
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


def request_body(messages: list[dict]) -> str:
    """The Anthropic Messages request: `messages` as history.messages builds them (the new user text last)."""
    body: dict = {"anthropic_version": ANTHROPIC_VERSION, "max_tokens": MAX_TOKENS}
    if SYSTEM_PROMPT:
        body["system"] = SYSTEM_PROMPT
    body["messages"] = messages
    return json.dumps(body)


def user_message(text: str) -> list[dict]:
    """The messages of a request with no history: the article's."""
    return [{"role": "user", "content": [{"type": "text", "text": text}]}]


def open_stream(messages: list[dict]) -> EventStream:
    """Start the reply; errors before the first event (throttling, access, validation) raise here."""
    response = client.invoke_model_with_response_stream(
        modelId=MODEL_ID, body=request_body(messages), contentType="application/json", accept="application/json"
    )
    return response["body"]
