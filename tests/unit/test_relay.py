"""The relay alone, with fake streams and senders whose delays the tests control."""

import json
import random
import threading
import time

import pytest
from botocore.exceptions import EventStreamError, ReadTimeoutError

from connections import ClientGone
from emulator.anthropic import message_events
from relay import relay


def events(pieces, interval=0.0, fail_after=None, exc=None):
    """Bedrock's parsed events (`{"chunk": {"bytes": ...}}`) for a reply, optionally paced or failing."""
    for i, event in enumerate(message_events("m", pieces, input_tokens=3)):
        if fail_after is not None and i == 2 + fail_after:
            raise exc
        time.sleep(interval)
        yield {"chunk": {"bytes": json.dumps(event).encode()}}


class Sender:
    """Records frames; each post takes `delay` seconds; raises ClientGone from post number `gone_at`."""

    def __init__(self, delay=0.0, gone_at=None):
        self.delay, self.gone_at = delay, gone_at
        self.frames: list[str] = []
        self.busy = threading.Lock()

    def __call__(self, frame: str) -> None:
        assert self.busy.acquire(blocking=False), "posts to one connection must never overlap"
        try:
            if self.gone_at is not None and len(self.frames) + 1 >= self.gone_at:
                raise ClientGone("c")
            time.sleep(self.delay)
            self.frames.append(frame)
        finally:
            self.busy.release()

    def text(self) -> str:
        return "".join(json.loads(f) for f in self.frames if f.startswith('"'))

    def control(self) -> list[dict]:
        return [json.loads(f) for f in self.frames if f.startswith("{")]


PIECES = [f"w{i} " for i in range(60)]


def test_idle_sender_posts_each_delta_alone_in_the_articles_format():
    sender = Sender(delay=0)
    outcome = relay(events(PIECES, interval=0.003), sender, lambda: None)
    assert sender.frames[:-1] == [json.dumps(p) for p in PIECES]
    assert sender.control() == [
        {"type": "end", "stop_reason": "end_turn", "usage": {"input_tokens": 3, "output_tokens": 60}}
    ]
    assert (outcome.deltas, outcome.frames) == (60, 61)


def test_busy_sender_joins_waiting_deltas_keeping_order_and_content():
    sender = Sender(delay=0.02)  # each post outlasts several deltas
    outcome = relay(events(PIECES, interval=0.002), sender, lambda: None)
    assert sender.text() == "".join(PIECES)
    assert len(sender.frames) - 1 < len(PIECES) / 3, "deltas that arrive during a post share the next frame"
    assert json.loads(sender.frames[0]) == PIECES[0], "the first delta never waits"
    assert sender.control()[-1]["type"] == "end" and sender.frames[-1].startswith("{")
    assert outcome.deltas == 60


@pytest.mark.parametrize("seed", range(6))
def test_order_and_content_survive_any_interleaving(seed):
    rng = random.Random(seed)
    pieces = ["".join(rng.choice('ab \n\u2022é😀"\\') for _ in range(rng.randint(1, 5))) for _ in range(80)]

    def jittery():
        for event in events(pieces):
            time.sleep(rng.random() * 0.002)
            yield event

    sender = Sender(delay=rng.random() * 0.004)
    relay(jittery(), sender, lambda: None)
    assert sender.text() == "".join(pieces)
    assert [f["type"] for f in sender.control()] == ["end"]
    assert sender.frames[-1].startswith("{")


def test_joined_frames_stay_under_the_frame_limit():
    pieces = ["x" * 700] * 100  # 70 KB of reply arriving while the first post is in flight
    sender = Sender(delay=0.05)
    relay(events(pieces), sender, lambda: None, limit=4_000)
    assert all(len(f.encode()) <= 4_000 for f in sender.frames)
    assert sender.text() == "".join(pieces)


def test_a_single_delta_over_the_limit_is_split_not_dropped():
    sender = Sender()
    relay(events(["😀" * 1000]), sender, lambda: None, limit=1_000)
    assert all(len(f.encode()) <= 1_000 for f in sender.frames)
    assert sender.text() == "😀" * 1000


def test_gone_stops_reading_and_closes_the_stream():
    closed = threading.Event()
    read = []

    def stream():
        for event in events(PIECES, interval=0.01):
            read.append(event)
            yield event

    outcome = relay(stream(), Sender(gone_at=3), closed.set)
    assert outcome.gone and closed.is_set()
    assert len(read) < 10
    assert outcome.frames == 2


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (EventStreamError({"Error": {"Code": "throttlingException", "Message": "slow down"}}, "Invoke"), "Throttled"),
        (EventStreamError({"Error": {"Code": "modelStreamErrorException", "Message": "x"}}, "Invoke"), "ModelError"),
        (ReadTimeoutError(endpoint_url="https://bedrock"), "ModelError"),
        (ValueError("bug"), "Internal"),
    ],
)
def test_failure_mid_stream_flushes_received_deltas_then_one_error_frame_last(exc, code):
    sender = Sender(delay=0.01)
    outcome = relay(events(PIECES, fail_after=20, exc=exc), sender, lambda: None)
    assert sender.text() == "".join(PIECES[:20])
    assert [f["code"] for f in sender.control()] == [code]
    assert sender.frames[-1].startswith("{")
    assert outcome.cause is exc and outcome.error.code == code


def test_a_failing_post_other_than_gone_stops_the_relay():
    def broken(frame):
        raise RuntimeError("connection pool exhausted")

    closed = threading.Event()
    outcome = relay(events(PIECES, interval=0.005), broken, closed.set)
    assert isinstance(outcome.cause, RuntimeError) and closed.is_set() and outcome.frames == 0
