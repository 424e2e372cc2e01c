"""ConverseStream, for any Bedrock model that supports it: the request and its stream's events.

The messages arrive in the Anthropic shape history.messages builds (`{"type": "text", "text": ...}` blocks) and
leave as Converse's (`{"text": ...}`). Caching puts a `cachePoint` after the system prompt and after the last message
of the history (the prefix the next turn repeats). The guardrail runs asynchronously and, through `guardContent`,
evaluates only the newest user message, not the history it has already passed. Content other than text
(reasoning, tool use) is skipped: the client is sent the reply's text only.
"""

from protocol import GUARDRAIL_INTERVENED
from reply.outcome import Outcome

_CACHE_POINT = {"cachePoint": {"type": "default"}}


def _message(message: dict, cache: bool = False, guard: bool = False) -> dict:
    texts = [block["text"] for block in message["content"]]
    content = [{"guardContent": {"text": {"text": text}}} if guard else {"text": text} for text in texts]
    return {"role": message["role"], "content": [*content, _CACHE_POINT] if cache else content}


def request(messages: list[dict], system: str, max_tokens: int, cache: bool, guardrail: dict) -> dict:
    """converse_stream's arguments but the model id: `guardrail` is {} or its identifier and version."""
    *history, newest = messages
    converted = [_message(message, cache and index == len(history) - 1) for index, message in enumerate(history)]
    arguments: dict = {
        "messages": [*converted, _message(newest, guard=bool(guardrail))],
        "inferenceConfig": {"maxTokens": max_tokens},
    }
    if system:
        arguments["system"] = [{"text": system}, _CACHE_POINT] if cache else [{"text": system}]
    if guardrail:
        arguments["guardrailConfig"] = {**guardrail, "streamProcessingMode": "async"}
    return arguments


def read(event: dict, outcome: Outcome) -> str | None:
    """One ConverseStream event into `outcome`; its text when it is a text delta. A stream exception event
    (throttlingException, ...) never gets here: botocore raises it as EventStreamError, which relay maps."""
    if "contentBlockDelta" in event:
        return event["contentBlockDelta"]["delta"].get("text") or None
    if "messageStop" in event:  # Converse's stop reasons use the Anthropic words the end frame carries
        outcome.stop_reason = event["messageStop"].get("stopReason")
        if outcome.stop_reason == "guardrail_intervened":
            outcome.error = GUARDRAIL_INTERVENED
    elif "metadata" in event:
        usage = event["metadata"].get("usage", {})
        outcome.input_tokens = usage.get("inputTokens")
        outcome.output_tokens = usage.get("outputTokens")
        outcome.cache_read_tokens = usage.get("cacheReadInputTokens")
        outcome.cache_write_tokens = usage.get("cacheWriteInputTokens")
    return None
