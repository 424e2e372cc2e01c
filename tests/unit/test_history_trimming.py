"""Cache-aware trimming: with prompt caching on, the history's first turn moves in coarse steps, so the cached
prefix is read back for most turns instead of missing on every one."""

import itertools

from conversation import history
from conversation.store import Turn


def stored(count: int, reply_tokens: int = 200) -> list[Turn]:
    """`count` complete turns, newest first, each costing the same to re-send."""
    turns = [
        Turn("c", n, "-", f"Question {n}: " + "q" * 186, f"Answer {n}", "complete", output_tokens=reply_tokens)
        for n in range(1, count + 1)
    ]
    return turns[::-1]


def first_turns(stable: bool, turns: int = 100, budget: int = 9000) -> list[int]:
    """The first history turn sent with each new message of a long conversation (0: none)."""
    firsts = []
    for count in range(turns):
        messages, kept = history.messages(stored(count), "next question", budget, stable)
        assert (
            history.estimate_tokens("next question") + sum(history.turn_tokens(t) for t in stored(count)[:kept])
            <= budget
        )
        firsts.append(int(messages[0]["content"][0]["text"].split()[1][:-1]) if kept else 0)
    return firsts


def test_one_turn_trimming_changes_the_prefix_on_every_turn_once_full():
    firsts = first_turns(stable=False)
    trimmed = [f for f in firsts if f > 1]
    assert len(set(trimmed)) == len(trimmed)  # a new first turn, so a cache miss, every time


def test_stable_trimming_keeps_the_prefix_for_several_turns_at_a_time():
    one_turn, stable = first_turns(stable=False), first_turns(stable=True)
    changes = sum(a != b for a, b in itertools.pairwise(stable) if b > 1)
    misses = sum(a != b for a, b in itertools.pairwise(one_turn) if b > 1)
    assert changes * 4 <= misses, (changes, misses)  # at least 4x fewer prefix changes, so cache misses
    # The kept history still ends at the newest turn (no gap), and leaves out at most ~a third of what fits.
    for count, first in enumerate(stable):
        if count and first:
            fits = count - one_turn[count] + 1
            assert 0 <= first - one_turn[count] < max(1, fits * 0.36), (count, first, one_turn[count])


def test_without_trimming_stable_changes_nothing():
    assert history.messages(stored(5), "hi", 100_000, True) == history.messages(stored(5), "hi", 100_000, False)
