"""history.py: the messages the model is sent (Bedrock's rules, the token budget) and the frames a client reads
back (32 KB each, numbered, big turns split and rejoined)."""

import json
import random

import pytest

from conversation import history
from conversation.store import Turn

ID = "Conversation_id-0123456789abcdef"


def turn(number: int, user: str = "question", assistant: str = "answer", status: str = "complete", **kw) -> Turn:
    return Turn(ID, number, "-", user, assistant, status, "end_turn", 10, kw.pop("output_tokens", 5), **kw)


def roles(messages: list[dict]) -> list[str]:
    return [m["role"] for m in messages]


def test_turns_come_oldest_first_then_the_new_text():
    messages, used = history.messages([turn(2, "b?", "B"), turn(1, "a?", "A")], "c?", 1000)
    assert [m["content"][0]["text"] for m in messages] == ["a?", "A", "b?", "B", "c?"]
    assert used == 2


@pytest.mark.parametrize("seed", range(20))
def test_any_mix_of_statuses_gives_messages_bedrock_accepts(seed):
    rng = random.Random(seed)
    statuses = ["complete", "partial", "failed", "pending"]
    turns = [turn(n, assistant=rng.choice(["", " ", "text"]), status=rng.choice(statuses)) for n in range(30, 0, -1)]
    messages, _ = history.messages(turns, "new", 10_000)
    assert roles(messages)[0] == "user" and roles(messages)[-1] == "user"
    assert all(a != b for a, b in zip(roles(messages), roles(messages)[1:], strict=False))  # alternate
    assert all(m["content"][0]["text"].strip() for m in messages)  # no empty text block
    assert messages[-1]["content"][0]["text"] == "new"


def test_partial_replies_with_text_are_kept_failed_and_pending_ones_left_out():
    turns = [turn(4, status="pending", assistant=""), turn(3, "c?", "", "failed"), turn(2, "b?", "Half", "partial")]
    messages, used = history.messages(turns, "d?", 1000)
    assert [m["content"][0]["text"] for m in messages] == ["b?", "Half", "d?"]
    assert used == 1


def test_the_newest_turns_that_fit_the_budget_are_sent_and_never_with_a_gap():
    # Each turn costs 1 (user, 3 bytes) + 100 (stored output tokens).
    turns = [turn(n, "abc", "x", output_tokens=100, status="complete") for n in range(10, 0, -1)]
    budget = history.estimate_tokens("new") + 3 * 101
    messages, used = history.messages(turns, "new", budget)
    assert used == 3 and len(messages) == 7
    tiny = turn(0, "a", "b", output_tokens=1)
    _, used = history.messages([turn(2, "abc", "x", output_tokens=10_000), tiny], "new", budget)
    assert used == 0  # the newest does not fit: nothing older is sent either


def test_a_new_text_over_the_budget_goes_alone():
    messages, used = history.messages([turn(1)], "x" * 3000, 100)
    assert (len(messages), used) == (1, 0)


def test_a_partial_reply_is_costed_from_its_text_not_its_token_count():
    partial = turn(1, "q", "x" * 300, status="partial", output_tokens=1)
    assert history.turn_tokens(partial) == history.estimate_tokens("q") + 100


def reassemble(frames: list[str]) -> tuple[list[dict], list[dict]]:
    parsed = [json.loads(frame) for frame in frames]
    joined: dict[int, dict] = {}
    for frame in parsed:
        for entry in frame["turns"]:
            seen = joined.setdefault(entry["turn"], {**entry, "user": "", "assistant": ""})
            seen["user"] += entry["user"]
            seen["assistant"] += entry["assistant"]
    return parsed, list(joined.values())


def test_history_frames_stay_under_32_kb_and_rejoin_into_every_turn_whole():
    rng = random.Random(7)
    alphabet = 'abc "\\\n\u00e9\u3042\U0001f600'  # escapes of every width
    turns = [
        turn(n, "".join(rng.choices(alphabet, k=rng.choice([10, 5000, 60_000]))), "".join(rng.choices(alphabet, k=900)))
        for n in range(1, 13)
    ]
    frames = history.history_frames(ID, turns)
    parsed, rejoined = reassemble(frames)
    assert all(len(frame.encode()) <= 32_000 for frame in frames)
    assert [f["part"] for f in parsed] == list(range(1, len(frames) + 1))
    assert {f["parts"] for f in parsed} == {len(frames)} and len(frames) > 1
    assert all(f["type"] == "history" and f["conversationId"] == ID for f in parsed)
    assert [(t["turn"], t["user"], t["assistant"]) for t in rejoined] == [
        (t.number, t.user, t.assistant) for t in turns
    ]
    assert rejoined[0]["status"] == "complete" and rejoined[0]["usage"] == {"input_tokens": 10, "output_tokens": 5}


def test_small_turns_share_one_frame_and_an_empty_conversation_is_one_frame_with_no_turns():
    assert len(history.history_frames(ID, [turn(n) for n in range(1, 50)])) == 1
    assert [json.loads(f) for f in history.history_frames(ID, [])] == [
        {"type": "history", "conversationId": ID, "part": 1, "parts": 1, "turns": []}
    ]
