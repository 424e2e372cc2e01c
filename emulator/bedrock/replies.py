"""A streamed reply's events in the API the request used, with the prompt cache's usage applied and recorded."""

from emulator.anthropic import message_events

from . import converse
from .caching import PromptCache
from .invocation import Invocation
from .records import StreamRecord
from .script import estimate_input_tokens

CONVERSE = "ConverseStream"


def events(
    cache: PromptCache, record: StreamRecord, invocation: Invocation, pieces: list[str], stop: str
) -> list[dict]:
    """ConverseStream's events or the Anthropic ones; each carries `type` (Converse's member name, or Anthropic's)."""
    total = estimate_input_tokens(invocation.texts)
    usage = cache.apply(invocation.model, list(invocation.blocks))
    record.input_tokens = usage.input_tokens if usage else total
    record.cache_read, record.cache_write = (usage.read, usage.write) if usage else (0, 0)
    if record.operation == CONVERSE:
        return converse.events(pieces, stop, total, usage)
    anthropic = list(message_events(invocation.model, pieces, total, stop_reason=stop))
    if usage is not None:  # input_tokens then counts only what was neither read nor written
        cached = {"cache_creation_input_tokens": usage.write, "cache_read_input_tokens": usage.read}
        anthropic[0]["message"]["usage"] |= {"input_tokens": usage.input_tokens, **cached}
    if stop == "guardrail_intervened":  # Bedrock marks the chunk where its guardrail stopped the reply
        anthropic[-2]["amazon-bedrock-guardrailAction"] = "INTERVENED"
    return anthropic
