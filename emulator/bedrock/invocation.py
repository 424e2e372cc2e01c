"""What a request asks for: which Claude model, which prompt, how many tokens at most, or Bedrock's error.

Model ids: the Anthropic Claude foundation-model ids (`anthropic.claude-…-v1:0`), their cross-region
inference profiles (`us.` `eu.` `apac.` `jp.` `au.` `ca.` `global.` …) and the ARNs of either. Any other id
(another provider's, a typo) gets what real Bedrock answers for an id it does not know: ValidationException
"The provided model identifier is invalid." A few retired Claude ids get ResourceNotFoundException, as
real Bedrock answers for a model past its end of life; behind a profile prefix (`us.anthropic.claude-v2`) they
name an inference profile that never existed, so they are unknown ids.

`anthropic_version`: Bedrock documents one value for the runtime endpoint, `bedrock-2023-05-31` ("Inference using
Anthropic Messages API"). Clients such as Anthropic's own SDK may send others; what Bedrock answers to them is not
documented, so the stand-in accepts any string and logs a warning once per value rather than be stricter.
"""

import functools
import itertools
import json
import logging
import re
from dataclasses import dataclass

from .caching import Block
from .errors import END_OF_LIFE, INVALID_MODEL, BedrockError, malformed
from .script import FRAMING_TOKENS, text_tokens

ANTHROPIC_VERSION = "bedrock-2023-05-31"
_PROFILE = re.compile(r"^(?:us|us-gov|eu|apac|jp|au|ca|global)\.")
log = logging.getLogger("emulator.bedrock")

ARN = re.compile(r"^arn:aws[\w-]*:bedrock:[\w-]*:\d*:(?:foundation-model|inference-profile)/")
_CLAUDE = re.compile(
    r"^(?:(?:us|us-gov|eu|apac|jp|au|ca|global)\.)?"  # a cross-region inference profile's prefix (_PROFILE)
    r"anthropic\.(?P<name>claude-(?:[a-z0-9]+-)*?)-?v\d+"  # claude-haiku-4-5-20251001-v1, claude-v2
    r"(?::\d+)?(?::\d+k)?$"  # :0, and the context-window variants such as :0:200k
)
_END_OF_LIFE = {"anthropic.claude-v1", "anthropic.claude-instant-v1", "anthropic.claude-v2", "anthropic.claude-v2:1"}


@dataclass(frozen=True)
class Invocation:
    model_id: str  # as the client sent it
    model: str  # the name Claude reports in message_start, e.g. claude-haiku-4-5-20251001
    prompt: str  # the text of the last user message, as sent
    texts: list[str]  # every text in the request (system and messages), for the input-token estimate
    max_tokens: int
    messages: int = 1  # how many messages the request carried
    system: bool = False  # whether it carried a system prompt
    blocks: tuple[Block, ...] = ()  # every text block in order, with its cache point, for the prompt cache
    guardrail: bool = False  # the request asks for a guardrail (amazon-bedrock-guardrailConfig / guardrailConfig)

    @classmethod
    def of(
        cls,
        model_id: str,
        model: str,
        prompt: str,
        texts: list[tuple[str, bool]],
        max_tokens: int,
        messages: int,
        system: bool,
        guardrail: bool,
    ) -> "Invocation":
        """From (text, cache point after it) pairs, as both APIs' parsers collect them."""
        plain = [text for text, _ in texts]
        return cls(model_id, model, prompt, plain, max_tokens, messages, system, blocks_of(texts), guardrail)


def model_name(model_id: str) -> str:
    """The Claude model behind an id, or BedrockError as Bedrock answers for an id it cannot serve."""
    bare = ARN.sub("", model_id)
    if bare in _END_OF_LIFE:
        raise BedrockError(404, "ResourceNotFoundException", END_OF_LIFE)
    if _PROFILE.sub("", bare) in _END_OF_LIFE:  # no inference profile was ever made for them
        raise BedrockError.validation(INVALID_MODEL)
    match = _CLAUDE.match(bare)
    if match is None:
        raise BedrockError.validation(INVALID_MODEL)
    return match["name"].rstrip("-")


@functools.cache
def _warn_version(version: str) -> None:
    log.warning(
        "anthropic_version %r is not %r, the only value Bedrock documents; accepted (issue 15)",
        version[:40],
        ANTHROPIC_VERSION,
    )


def blocks_of(texts: list[tuple[str, bool]]) -> tuple[Block, ...]:
    """(text, cache point after it) pairs as the prompt cache's blocks, sized as estimate_input_tokens sizes the
    whole request: each text's tokens, the framing's on the first."""
    return tuple(
        Block(text_tokens(text) + (FRAMING_TOKENS if index == 0 else 0), text, point)
        for index, (text, point) in enumerate(texts)
    )


def _texts(content: object, where: str) -> list[tuple[str, bool]]:
    if isinstance(content, str):
        blocks: list = [{"type": "text", "text": content}]
    elif isinstance(content, list) and content:
        blocks = content
    else:
        raise malformed(f"{where}/content: expected a string or a non-empty array")
    texts = []
    for index, block in enumerate(blocks):
        if not isinstance(block, dict) or "type" not in block:
            raise malformed(f"{where}/content/{index}: required key [type] not found")
        if block["type"] == "text":
            text = block.get("text")
            if not isinstance(text, str):
                raise malformed(f"{where}/content/{index}: required key [text] not found")
            if not text.strip():
                # Anthropic's check, passed through by Bedrock as is.
                raise BedrockError.validation("messages: text content blocks must contain non-whitespace text")
            texts.append((text, "cache_control" in block))
    return texts


def parse_body(model_id: str, model: str, raw: bytes) -> Invocation:
    """The Anthropic Messages request Bedrock expects for Claude, or BedrockError(ValidationException)."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise malformed("#: the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise malformed("#: expected type: JSONObject")
    for key in ("anthropic_version", "max_tokens", "messages"):
        if key not in body:
            raise malformed(f"#: required key [{key}] not found")
    version = body["anthropic_version"]
    if not isinstance(version, str):
        raise malformed("#/anthropic_version: expected type: String")
    if version != ANTHROPIC_VERSION:
        _warn_version(version)
    max_tokens = body["max_tokens"]
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise malformed(f"#/max_tokens: {max_tokens!r} is not an integer of 1 or more")
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        raise malformed("#/messages: expected a non-empty array")
    system = body.get("system", [])
    texts = _texts(system, "#/system") if system else []
    prompt: str | None = None
    for index, message in enumerate(messages):
        where = f"#/messages/{index}"
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise malformed(f"{where}: required keys [role, content] not found")
        if message["role"] not in ("user", "assistant"):
            raise malformed(f"{where}/role: {message['role']!r} is not a valid enum value")
        message_texts = _texts(message["content"], where)
        texts += message_texts
        if message["role"] == "user":
            prompt = "\n".join(text for text, _ in message_texts)
    _check_roles([message["role"] for message in messages])
    assert prompt is not None  # the first message is the user's
    guardrail = "amazon-bedrock-guardrailConfig" in body
    return Invocation.of(model_id, model, prompt, texts, max_tokens, len(messages), bool(system), guardrail)


def _check_roles(roles: list[str]) -> None:
    """Claude's conversation rules, which Bedrock passes through with Anthropic's wording: the first message is
    the user's, and roles alternate (Bedrock does not merge consecutive turns, as Anthropic's own API does)."""
    if roles[0] != "user":
        raise BedrockError.validation('messages: first message must use the "user" role')
    for previous, role in itertools.pairwise(roles):
        if role == previous:
            raise BedrockError.validation(
                f'messages: roles must alternate between "user" and "assistant", but found multiple "{role}" roles '
                "in a row"
            )
