"""The article's call, InvokeModelWithResponseStream: the Anthropic Messages request body and its stream's events.

With caching and the guardrail off the body is exactly the article's (plus `system` when one is set). Caching puts
`cache_control` after the system prompt and on the last message of the history: the prefix that the next turn
repeats, so Bedrock reads it back (a tenth of the input price) instead of billing it again. The guardrail runs in
asynchronous mode (chunks are not held back while it checks); the invoke path cannot restrict it to the newest
message, so it evaluates the whole prompt (Converse's guardContent can: reply.converse).
"""

import json

from protocol import GUARDRAIL_INTERVENED
from reply.outcome import Outcome

ANTHROPIC_VERSION = "bedrock-2023-05-31"
_CACHE_POINT = {"type": "ephemeral"}  # Bedrock's 5-minute cache


def _cached(message: dict) -> dict:
    *rest, last = message["content"]
    return {**message, "content": [*rest, {**last, "cache_control": _CACHE_POINT}]}


def request_body(messages: list[dict], system: str, max_tokens: int, cache: bool = False, guard: bool = False) -> str:
    """The request: `messages` as history.messages builds them (the new user text last)."""
    body: dict = {"anthropic_version": ANTHROPIC_VERSION, "max_tokens": max_tokens}
    if system:
        body["system"] = [{"type": "text", "text": system, "cache_control": _CACHE_POINT}] if cache else system
    if cache and len(messages) > 1:
        messages = [*messages[:-2], _cached(messages[-2]), messages[-1]]
    body["messages"] = messages
    if guard:
        body["amazon-bedrock-guardrailConfig"] = {"streamProcessingMode": "ASYNCHRONOUS"}
    return json.dumps(body)


def user_message(text: str) -> list[dict]:
    """The messages of a request with no history: the article's."""
    return [{"role": "user", "content": [{"type": "text", "text": text}]}]


def read(event: dict, outcome: Outcome) -> str | None:
    """One Anthropic stream event (https://docs.anthropic.com/en/api/messages-streaming) into `outcome`; its text
    when it is a text delta. Other content (thinking, tool use) is not text for the client, and skipped."""
    chunk = json.loads(event["chunk"]["bytes"])
    kind = chunk.get("type")
    if kind == "content_block_delta" and chunk["delta"].get("type") == "text_delta":
        return chunk["delta"]["text"]
    if kind == "message_start":
        usage = chunk["message"].get("usage", {})
        outcome.input_tokens = usage.get("input_tokens")
        outcome.cache_read_tokens = usage.get("cache_read_input_tokens")
        outcome.cache_write_tokens = usage.get("cache_creation_input_tokens")
    elif kind == "message_delta":
        outcome.stop_reason = chunk["delta"].get("stop_reason")
        outcome.output_tokens = chunk.get("usage", {}).get("output_tokens", outcome.output_tokens)
    if chunk.get("amazon-bedrock-guardrailAction") == "INTERVENED" or outcome.stop_reason == "guardrail_intervened":
        outcome.error = GUARDRAIL_INTERVENED
    return None
