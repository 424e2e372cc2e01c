"""ConverseStream: the request as Bedrock validates it, and the stream's events on the wire.

The request is Converse's JSON (`messages` of content blocks, `system`, `inferenceConfig`, `guardrailConfig`);
the reply is the same scripted text as InvokeModelWithResponseStream's, as Converse's events: messageStart,
contentBlockDelta (text) …, contentBlockStop, messageStop (stopReason), metadata (usage, metrics). Each event is an
event-stream message whose `:event-type` names the union member and whose payload is its JSON, which botocore's
converse_stream and the JS SDK's ConverseStreamCommand parse. Error texts are Converse's own.
"""

import itertools
import json
import re

from emulator.bedrock.eventstream import encode_message

from .caching import CacheUsage
from .errors import INVALID_MODEL, BedrockError
from .invocation import ARN, Invocation, model_name

# Any provider's model through Converse: Claude as invocation.model_name knows it, and the other families.
_OTHER = re.compile(
    r"^(?:(?:us|us-gov|eu|apac|jp|au|ca|global)\.)?"
    r"(?P<name>(?:amazon\.nova|meta\.llama|mistral\.|deepseek\.|cohere\.command|ai21\.jamba|openai\.gpt-oss|"
    r"qwen\.|writer\.)[a-z0-9.-]*?)(?:-v\d+)?(?::\d+)?$"
)
START = "A conversation must start with a user message. Try again with a conversation that starts with a user message."
ALTERNATE = (
    "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between "
    "user and assistant roles and try again."
)


def converse_model(model_id: str) -> str:
    """The model behind a Converse model id: Claude's name, or the id's own for another family."""
    try:
        return model_name(model_id)
    except BedrockError:
        match = _OTHER.match(ARN.sub("", model_id))
        if match is None:
            raise BedrockError.validation(INVALID_MODEL) from None
        return match["name"].split(".", 1)[1]


def _content(blocks: object, where: str) -> list[tuple[str, bool]]:
    """A content list's texts (text and guardContent blocks), each with whether a cachePoint follows it."""
    if not isinstance(blocks, list) or not blocks:
        raise BedrockError.validation(f"The content field in the {where} object is empty. Add a content block.")
    texts: list[tuple[str, bool]] = []
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            raise BedrockError.validation(f"The ContentBlock object at {where}.content.{index} is invalid.")
        if "cachePoint" in block:
            if texts:
                texts[-1] = (texts[-1][0], True)
            continue
        text = block.get("text", block.get("guardContent", {}).get("text", {}).get("text"))
        if text is None:
            continue  # images, documents, tool results: no text for the scripted model
        if not isinstance(text, str) or not text.strip():
            raise BedrockError.validation(
                f"The text field in the ContentBlock object at {where}.content.{index} is blank. "
                "Add text to the text field, and try again."
            )
        texts.append((text, False))
    return texts


def parse_request(model_id: str, model: str, raw: bytes) -> Invocation:
    """A ConverseStream request, or BedrockError(ValidationException) with Converse's wording."""
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise BedrockError(400, "SerializationException", "Unable to parse the request body.") from None
    messages = body.get("messages") or []
    roles = [message.get("role") for message in messages]
    if not roles or roles[0] != "user":
        raise BedrockError.validation(START)
    if any(a == b for a, b in itertools.pairwise(roles)):
        raise BedrockError.validation(ALTERNATE)
    texts = _content(body["system"], "system") if body.get("system") else []
    prompt = ""
    for index, message in enumerate(messages):
        message_texts = _content(message.get("content"), f"messages.{index}")
        texts += message_texts
        if message["role"] == "user":
            prompt = "\n".join(text for text, _ in message_texts)
    max_tokens = (body.get("inferenceConfig") or {}).get("maxTokens", 4096)
    if not isinstance(max_tokens, int) or max_tokens < 1:
        raise BedrockError.validation("The maximum tokens value must be 1 or more. Try again with a valid value.")
    system, guardrail = bool(body.get("system")), "guardrailConfig" in body
    return Invocation.of(model_id, model, prompt, texts, max_tokens, len(messages), system, guardrail)


def events(pieces: list[str], stop_reason: str, input_tokens: int, cache: CacheUsage | None) -> list[dict]:
    """The reply as Converse's events, each `{"type": member, **payload}`; metadata's latency is filled in later."""
    usage = {"inputTokens": input_tokens, "outputTokens": len(pieces), "totalTokens": input_tokens + len(pieces)}
    if cache is not None:
        usage |= {
            "inputTokens": cache.input_tokens,
            "cacheReadInputTokens": cache.read,
            "cacheWriteInputTokens": cache.write,
        }
    return [
        {"type": "messageStart", "role": "assistant"},
        *({"type": "contentBlockDelta", "contentBlockIndex": 0, "delta": {"text": piece}} for piece in pieces),
        {"type": "contentBlockStop", "contentBlockIndex": 0},
        {"type": "messageStop", "stopReason": stop_reason},
        {"type": "metadata", "usage": usage, "metrics": {"latencyMs": 0}},
    ]


def encode(event: dict) -> bytes:
    """One Converse event on the wire: the member's name in `:event-type`, its payload as JSON."""
    payload = {key: value for key, value in event.items() if key != "type"}
    headers = {":event-type": event["type"], ":content-type": "application/json", ":message-type": "event"}
    return encode_message(headers, json.dumps(payload).encode())
