"""A request in the API it used: its body parsed and its guardrail checked; its reply's events, with the prompt
cache's usage applied and recorded."""

import json

from aiohttp import web

from emulator.bedrock.anthropic import message_events

from . import converse, guardrail
from .caching import PromptCache
from .invocation import Invocation, model_name, parse_body
from .records import StreamRecord
from .script import estimate_input_tokens

CONVERSE = "ConverseStream"


def parse(request: web.Request, record: StreamRecord, raw: bytes, required: str | None) -> Invocation:
    """The request's body, and the guardrail it carries (recorded), as Bedrock checks them; or BedrockError."""
    if record.operation == CONVERSE:
        invocation = converse.parse_request(record.model_id, converse.converse_model(record.model_id), raw)
        record.guardrail = guardrail.carried(request, json.loads(raw))
    else:
        invocation = parse_body(record.model_id, model_name(record.model_id), raw)
        record.guardrail = guardrail.carried(request, None)
    guardrail.check(required, record.guardrail, invocation, record.operation)
    return invocation


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
