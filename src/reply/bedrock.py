"""The Bedrock runtime client, created once per execution environment, and the configuration of every model call.

MODEL_API chooses the call: `invoke` (the article's InvokeModelWithResponseStream with an Anthropic Messages body,
reply.anthropic) or `converse` (ConverseStream, any model that supports it, reply.converse). MODEL_ID is the default
model; a `sendtext` may choose another of MODEL_IDS (protocol.model_ids). PROMPT_CACHING (`on`/`off`) places cache
points where the model supports them; GUARDRAIL_ID/GUARDRAIL_VERSION, when set, go with every call.
"""

import os
import re
from collections.abc import Callable

import boto3
from botocore.config import Config
from botocore.eventstream import EventStream

from reply import anthropic, converse
from reply.outcome import Outcome

MODEL_API = os.environ.get("MODEL_API", "invoke")
MODEL_ID = os.environ["MODEL_ID"]
PROMPT_CACHING = os.environ.get("PROMPT_CACHING", "off") == "on"
GUARDRAIL_ID = os.environ.get("GUARDRAIL_ID", "")
GUARDRAIL_VERSION = os.environ.get("GUARDRAIL_VERSION", "") or "DRAFT"
MAX_TOKENS = int(os.environ.get("MAX_TOKENS", "1024"))
SYSTEM_PROMPT = os.environ.get("SYSTEM_PROMPT", "")  # unset: no system prompt, the article's request exactly

# Models with explicit prompt caching on Bedrock (cache_control / cachePoint), by their id without profile prefix.
_CACHING = re.compile(
    r"anthropic\.claude-(3-5-haiku|3-7-sonnet|(opus|sonnet|haiku)-4)|amazon\.nova-(micro|lite|pro|premier)"
)

# read_timeout bounds the silence between two stream events, not the whole reply.
client = boto3.client(
    "bedrock-runtime",
    config=Config(
        connect_timeout=5,
        read_timeout=float(os.environ.get("BEDROCK_READ_TIMEOUT", "60")),
        retries={"mode": "standard", "total_max_attempts": 3},
    ),
)

Read = Callable[[dict, Outcome], str | None]


def caches(model_id: str) -> bool:
    """Whether requests to `model_id` carry cache points: PromptCaching is on and the model supports them."""
    return PROMPT_CACHING and _CACHING.search(model_id) is not None


def _guardrail() -> dict:
    return {"guardrailIdentifier": GUARDRAIL_ID, "guardrailVersion": GUARDRAIL_VERSION} if GUARDRAIL_ID else {}


def open_stream(messages: list[dict], model_id: str = MODEL_ID) -> tuple[EventStream, Read]:
    """Start the reply: its event stream and the reader of its events (reply.relay's `read`). Errors before the
    first event (throttling, access, validation) raise here."""
    cache = caches(model_id)
    if MODEL_API == "converse":
        request = converse.request(messages, SYSTEM_PROMPT, MAX_TOKENS, cache, _guardrail())
        response = client.converse_stream(modelId=model_id, **request)
        return response["stream"], converse.read
    response = client.invoke_model_with_response_stream(
        modelId=model_id,
        body=anthropic.request_body(messages, SYSTEM_PROMPT, MAX_TOKENS, cache, bool(GUARDRAIL_ID)),
        contentType="application/json",
        accept="application/json",
        **_guardrail(),
    )
    return response["body"], anthropic.read
