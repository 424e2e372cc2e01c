"""The stand-in's prompt cache (emulator/bedrock/caching.py), on its own clock: exact prefixes, the model's
minimum, at most 4 points, the 5-minute TTL renewed by reads, and the lookback that finds last turn's prefix."""

import pytest

from emulator.bedrock.caching import TTL_S, Block, PromptCache
from emulator.bedrock.errors import BedrockError

HAIKU = "claude-haiku-4-5-20251001"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def blocks(*texts: str, points: tuple[int, ...] = (), tokens: int = 1100) -> list[Block]:
    return [Block(tokens, text, index in points) for index, text in enumerate(texts)]


def test_a_prefix_is_written_then_read_and_the_rest_is_plain_input():
    cache = PromptCache(Clock())
    first = cache.apply(HAIKU, blocks("a", "b", "c", "d", "e", points=(3,)))
    assert (first.read, first.write, first.input_tokens) == (0, 4400, 1100)
    second = cache.apply(HAIKU, blocks("a", "b", "c", "d", "x", points=(3,)))
    assert (second.read, second.write, second.input_tokens) == (4400, 0, 1100)


def test_the_next_turn_finds_the_last_prefix_by_looking_back():
    cache = PromptCache(Clock())
    cache.apply(HAIKU, blocks("a", "b", "c", "d", "u1", points=(3,)))
    # The next turn: the history grew by the last question and its reply; its point is two blocks further on.
    usage = cache.apply(HAIKU, blocks("a", "b", "c", "d", "u1", "r1", "u2", points=(5,)))
    assert (usage.read, usage.write, usage.input_tokens) == (4400, 2200, 1100)


def test_a_changed_start_misses_and_writes_everything_again():
    cache = PromptCache(Clock())
    cache.apply(HAIKU, blocks("a", "b", "c", "d", "e", points=(3,)))
    usage = cache.apply(HAIKU, blocks("b", "c", "d", "e", "f", points=(3,)))
    assert (usage.read, usage.write) == (0, 4400)


def test_below_the_models_minimum_nothing_is_cached_or_charged():
    cache = PromptCache(Clock())
    short = blocks("a", "b", "c", points=(1,))  # 2,200 tokens: under Haiku 4.5's 4,096
    assert cache.apply(HAIKU, short).write == 0 and cache.apply(HAIKU, short).read == 0
    assert cache.apply("claude-sonnet-4-5-20250929", short).write == 2200  # 1,024 for Sonnet 4.5


def test_entries_expire_after_five_minutes_unless_read():
    clock = Clock()
    cache = PromptCache(clock)
    request = blocks("a", "b", "c", "d", "e", points=(3,))
    cache.apply(HAIKU, request)
    clock.now += TTL_S - 1
    assert cache.apply(HAIKU, request).read == 4400  # read just in time: renewed
    clock.now += TTL_S - 1
    assert cache.apply(HAIKU, request).read == 4400
    clock.now += TTL_S + 1
    assert cache.apply(HAIKU, request).read == 0


def test_more_than_four_points_is_refused_and_none_means_no_cache_usage():
    cache = PromptCache(Clock())
    with pytest.raises(BedrockError) as raised:
        cache.apply(HAIKU, blocks(*"abcdef", points=(0, 1, 2, 3, 4)))
    assert raised.value.code == "ValidationException"
    assert cache.apply(HAIKU, blocks("a", "b")) is None
    assert cache.apply("llama3-1-8b-instruct", blocks(*"abcdef", points=(4,))).write == 0  # no caching there
