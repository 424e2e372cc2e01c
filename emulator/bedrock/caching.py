"""Prompt caching as Bedrock does it, so a client's savings are measured rather than assumed.

A request marks cache points (Anthropic `cache_control` on a block, Converse `cachePoint` after one). Each point
caches the exact prefix up to it, if that prefix reaches the model's minimum; at most 4 points per request; an
entry lives 5 minutes from its last use. For the request's last point, the longest prefix already cached that ends
on a block boundary at most 20 blocks before it is read back (Anthropic's lookback); what lies between that and the
last point that reaches the minimum is written. Usage then splits the input three ways: read, written, and the
rest (`input_tokens`/`inputTokens` count only the rest, as Bedrock reports them).
"""

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from .errors import BedrockError

MAX_POINTS = 4
TTL_S = 300.0
LOOKBACK_BLOCKS = 20
# Minimum tokens per cache point, by model name (first match wins); from the models' cards.
_MINIMUMS = (
    (re.compile(r"claude-(haiku-4-5|opus-4-5|opus-4-6)"), 4096),
    (re.compile(r"claude-(3-5-haiku|sonnet-4-6|opus-4-7)"), 2048),
    (re.compile(r"claude-"), 1024),
    (re.compile(r"nova-"), 1000),
)
_SUPPORTED = re.compile(r"claude-(3-5-haiku|3-7-sonnet|(opus|sonnet|haiku)-4)|nova-(micro|lite|pro|premier)")


@dataclass(frozen=True)
class Block:
    tokens: int  # the stand-in's estimate of the block's tokens
    key: str  # what identifies its content (its text)
    point: bool = False  # a cache point follows it


@dataclass(frozen=True)
class CacheUsage:
    input_tokens: int  # neither read nor written
    read: int
    write: int


def minimum(model: str) -> int:
    return next(tokens for pattern, tokens in _MINIMUMS if pattern.search(model))


class PromptCache:
    """The stand-in's cache, shared by every request it serves (as Bedrock's is, per account and model)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._expiry: dict[str, float] = {}

    def apply(self, model: str, blocks: list[Block]) -> CacheUsage | None:
        """The request's usage split; None when it has no cache point (usage then carries no cache fields)."""
        points = [index for index, block in enumerate(blocks) if block.point]
        if not points:
            return None
        if len(points) > MAX_POINTS:
            raise BedrockError.validation(
                f"A maximum of {MAX_POINTS} blocks with cache_control may be provided. Found {len(points)}."
            )
        total = sum(block.tokens for block in blocks)
        if not _SUPPORTED.search(model):  # Bedrock ignores cache points for a model without caching
            return CacheUsage(total, 0, 0)
        now, keys, ends = self._clock(), [], []
        digest, end = hashlib.sha256(model.encode()), 0
        for block in blocks:
            digest.update(block.key.encode() + b"\0")
            end += block.tokens
            keys.append(digest.copy().hexdigest())
            ends.append(end)
        last = points[-1]
        read_at = next(
            (i for i in range(last, max(-1, last - LOOKBACK_BLOCKS), -1) if self._expiry.get(keys[i], 0) > now), None
        )
        read = ends[read_at] if read_at is not None else 0
        if read_at is not None:
            self._expiry[keys[read_at]] = now + TTL_S  # a read refreshes the entry's 5 minutes
        floor = minimum(model)
        written = [i for i in points if (read_at is None or i > read_at) and ends[i] >= floor]
        for index in written:
            self._expiry[keys[index]] = now + TTL_S
        write = ends[written[-1]] - read if written else 0
        return CacheUsage(total - read - write, read, write)
