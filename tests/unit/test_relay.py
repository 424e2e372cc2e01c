"""The relay alone, with a model stream and a sender that the tests drive step by step.

"The sender is idle" and "the sender is busy" are states a test sets up (a post held open until the test
releases it), never a race between sleeps, so the outcomes hold on a loaded machine.
"""

import json
import queue
import random
import threading
import time

import pytest
from botocore.exceptions import EventStreamError, ReadTimeoutError

from connections import ClientGone
from emulator.bedrock.anthropic import message_events
from reply.outcome import Outcome
from reply.relay import close
from reply.relay import relay as relay_deltas


def relay(stream, send, close_stream, **kwargs) -> Outcome:
    """The relay as StreamReply runs it: every delta, then (once the turn would be stored) the closing frame."""
    outcome = relay_deltas(stream, send, close_stream, Outcome(), **kwargs)
    close(outcome, send)
    return outcome


WAIT = 10.0  # seconds: only ever reached when the relay is broken (a hang), never by a slow machine
END = object()


def events(pieces: list[str]) -> list[dict]:
    """Bedrock's parsed events (`{"chunk": {"bytes": ...}}`) for a reply: 2 opening events, one per piece, 3 closing."""
    return [{"chunk": {"bytes": json.dumps(event).encode()}} for event in message_events("m", pieces, input_tokens=3)]


class Stream:
    """A model stream the test feeds. The reader asks for event n+1 only once it has handled event n, so
    `wait_handled(n)` returns when the relay has done everything it does with the first n events."""

    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue()
        self._cond = threading.Condition()
        self.asked = 0  # events the reader has asked for (each one handled before it asks for the next)
        self.closed = threading.Event()

    def feed(self, *items) -> None:
        for item in items:
            self._queue.put(item)

    def wait_handled(self, count: int) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: self.asked > count, WAIT), f"the reader stopped at {self.asked - 1}"

    def __iter__(self):
        while True:
            with self._cond:
                self.asked += 1
                self._cond.notify_all()
            item = self._queue.get(timeout=WAIT)
            if item is END:
                return
            if isinstance(item, Exception):
                raise item
            yield item

    def close(self) -> None:
        self.closed.set()


class Sender:
    """Records frames. `hold()` makes the next post wait (busy) until `release()`; `gone_at=n` makes post n
    raise ClientGone; `fail` makes every post raise it."""

    def __init__(self, gone_at: int | None = None, fail: Exception | None = None) -> None:
        self.gone_at, self.fail = gone_at, fail
        self.frames: list[str] = []
        self.attempts = 0
        self._cond = threading.Condition()
        self._held = False
        self._in_post = False

    def __call__(self, frame: str) -> None:
        with self._cond:
            assert not self._in_post, "posts to one connection must never overlap"
            self._in_post = True
            self.attempts += 1
            self._cond.notify_all()
            try:
                assert self._cond.wait_for(lambda: not self._held, WAIT), "the test never released the post"
                if self.fail is not None:
                    raise self.fail
                if self.attempts == self.gone_at:
                    raise ClientGone("c")
                self.frames.append(frame)
            finally:
                self._in_post = False
                self._cond.notify_all()

    def hold(self) -> None:
        with self._cond:
            self._held = True

    def release(self) -> None:
        with self._cond:
            self._held = False
            self._cond.notify_all()

    def wait_attempts(self, count: int) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: self.attempts >= count, WAIT), f"{self.attempts} posts, not {count}"

    def wait_posted(self, count: int) -> None:
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.frames) >= count and not self._in_post, WAIT)
            assert ok, f"{len(self.frames)} frames, not {count}"

    def text(self) -> str:
        return "".join(json.loads(f) for f in self.frames if f.startswith('"'))

    def control(self) -> list[dict]:
        return [json.loads(f) for f in self.frames if f.startswith("{")]


class Run:
    """relay() on its own thread, as the handler's thread would run it, while the test drives both ends."""

    def __init__(self, stream: Stream, sender: Sender, **kwargs) -> None:
        self._outcome: list = []
        self._thread = threading.Thread(
            target=lambda: self._outcome.append(relay(stream, sender, stream.close, **kwargs)), daemon=True
        )
        self._thread.start()

    def outcome(self):
        self._thread.join(WAIT)
        assert not self._thread.is_alive(), "relay() did not return"
        return self._outcome[0]


def sender_thread_ended() -> None:
    """Wait for the relay's sender thread to stop (it does once a post failed): then the reader must see it."""
    for thread in threading.enumerate():
        if thread.name == "relay-sender":
            thread.join(WAIT)
            assert not thread.is_alive()


PIECES = [f"w{i} " for i in range(60)]


def test_idle_sender_posts_each_delta_alone_in_the_articles_format():
    script, stream, sender = events(PIECES), Stream(), Sender()
    run = Run(stream, sender)
    stream.feed(*script[:2])
    for n, event in enumerate(script[2:62], start=1):
        stream.feed(event)
        sender.wait_posted(n)  # the sender is idle again before the next delta arrives
    stream.feed(*script[62:], END)
    outcome = run.outcome()
    assert sender.frames[:-1] == [json.dumps(p) for p in PIECES]
    assert sender.control() == [
        {"type": "end", "stop_reason": "end_turn", "usage": {"input_tokens": 3, "output_tokens": 60}}
    ]
    assert (outcome.deltas, outcome.frames, outcome.stop_reason) == (60, 61, "end_turn")
    assert (outcome.input_tokens, outcome.output_tokens, outcome.error, outcome.gone) == (3, 60, None, False)


def test_busy_sender_joins_waiting_deltas_keeping_order_and_content():
    script, stream, sender = events(PIECES), Stream(), Sender()
    run = Run(stream, sender)
    sender.hold()
    stream.feed(*script[:3])
    sender.wait_attempts(1)  # the first delta never waits: its post is in flight (and held)
    stream.feed(*script[3:62])
    stream.wait_handled(62)  # 59 more deltas arrived while that post was in flight
    sender.release()
    stream.feed(*script[62:], END)
    outcome = run.outcome()
    assert sender.frames[0] == json.dumps(PIECES[0])
    assert sender.frames[1] == json.dumps("".join(PIECES[1:])), "deltas that arrive during a post share the next"
    assert sender.control() == [
        {"type": "end", "stop_reason": "end_turn", "usage": {"input_tokens": 3, "output_tokens": 60}}
    ]
    assert (len(sender.frames), outcome.deltas, outcome.frames) == (3, 60, 3)


def test_the_closing_frame_waits_for_the_deltas_before_it():
    script, stream, sender = events(["a", "b"]), Stream(), Sender()
    run = Run(stream, sender)
    sender.hold()
    stream.feed(*script[:3])
    sender.wait_attempts(1)
    stream.feed(*script[3:], END)  # the reply ends while "a" is still being posted
    stream.wait_handled(len(script))
    sender.release()
    run.outcome()
    assert sender.frames[:2] == ['"a"', '"b"'] and json.loads(sender.frames[2])["type"] == "end"


@pytest.mark.parametrize("interval_ms", [0, 1])
@pytest.mark.parametrize("seed", range(6))
def test_order_and_content_survive_any_interleaving(seed, interval_ms):
    """The one stress-style test: real threads, random pacing on both sides. It asserts nothing about timing
    (only that no piece is lost, repeated or reordered, and `end` comes last), so load cannot fail it."""
    rng = random.Random(seed)
    pieces = ["".join(rng.choice('ab \n\u2022é😀"\\') for _ in range(rng.randint(1, 5))) for _ in range(80)]
    delays = [rng.random() * 0.002 for _ in range(len(pieces) + 10)]

    def jittery():
        for event, delay in zip(events(pieces), delays, strict=False):
            time.sleep(delay)
            yield event

    frames: list[str] = []

    def send(frame: str) -> None:
        time.sleep(delays[len(frames) % len(delays)] * 2)
        frames.append(frame)

    relay(jittery(), send, lambda: None, interval_ms=interval_ms)
    assert "".join(json.loads(f) for f in frames[:-1]) == "".join(pieces)
    assert json.loads(frames[-1])["type"] == "end"


def busy_start(script: list[dict], stream: Stream, sender: Sender, last: object = END) -> None:
    """First delta's post held open while the rest of the reply (then `last`) arrives; then let the sender go."""
    sender.hold()
    stream.feed(*script[:3])
    sender.wait_attempts(1)
    stream.feed(*script[3:], last)
    stream.wait_handled(len(script))
    sender.release()


def test_joined_frames_stay_under_the_frame_limit():
    pieces = ["x" * 700] * 100  # 70 KB of reply arriving while the first post is in flight
    script, stream, sender = events(pieces), Stream(), Sender()
    run = Run(stream, sender, limit=4_000)
    busy_start(script, stream, sender)
    run.outcome()
    assert all(len(f.encode()) <= 4_000 for f in sender.frames)
    assert max(len(f.encode()) for f in sender.frames) > 3_000, "frames are filled, not one delta each"
    assert sender.text() == "".join(pieces)


def test_by_default_frames_fit_api_gateways_32_kb_frame():
    pieces = ["y" * 700] * 100 + ["z" * 40_000]  # 70 KB joined while busy, then one delta bigger than a frame
    script, stream, sender = events(pieces), Stream(), Sender()
    run = Run(stream, sender)  # no limit=: the default
    busy_start(script, stream, sender)
    run.outcome()
    assert all(len(f.encode()) <= 32 * 1024 for f in sender.frames)
    assert max(len(f.encode()) for f in sender.frames) > 16 * 1024, "frames are filled, not one delta each"
    assert sender.text() == "".join(pieces)


def test_a_single_delta_over_the_limit_is_split_not_dropped():
    script, stream, sender = events(["😀" * 1000]), Stream(), Sender()
    run = Run(stream, sender, limit=1_000)
    stream.feed(*script, END)
    run.outcome()
    assert all(len(f.encode()) <= 1_000 for f in sender.frames)
    assert len(sender.frames) > 12  # 12 bytes of JSON per emoji: at least 12 frames of text, then `end`
    assert sender.text() == "😀" * 1000


def test_gone_stops_reading_at_the_next_event_and_closes_the_stream():
    script, stream, sender = events(PIECES), Stream(), Sender(gone_at=3)
    run = Run(stream, sender)
    stream.feed(*script[:2])
    for n in (1, 2):
        stream.feed(script[1 + n])
        sender.wait_posted(n)
    stream.feed(script[4])
    sender.wait_attempts(3)  # this post finds the client gone
    sender_thread_ended()
    stream.feed(*script[5:], END)
    outcome = run.outcome()
    assert outcome.gone and stream.closed.is_set()
    assert stream.asked == 6, "the reader takes one more event, sees the client left, and stops"
    assert (outcome.frames, outcome.deltas, outcome.cause) == (2, 3, None)
    assert sender.frames == ['"w0 "', '"w1 "']


def test_a_reply_that_ends_normally_does_not_close_the_stream():
    script, stream, sender = events(["a"]), Stream(), Sender()
    run = Run(stream, sender)
    stream.feed(*script, END)
    assert not run.outcome().gone and not stream.closed.is_set()


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
    script, stream, sender = events(PIECES), Stream(), Sender()
    run = Run(stream, sender)
    busy_start(script[: 2 + 20], stream, sender, last=exc)
    outcome = run.outcome()
    assert sender.text() == "".join(PIECES[:20])
    assert [f["code"] for f in sender.control()] == [code]
    assert sender.frames[-1].startswith("{")
    assert outcome.cause is exc and outcome.error.code == code and outcome.deltas == 20
    assert outcome.frames == len(sender.frames)


def test_a_failing_post_other_than_gone_stops_the_relay():
    failure = RuntimeError("connection pool exhausted")
    script, stream, sender = events(PIECES), Stream(), Sender(fail=failure)
    run = Run(stream, sender)
    stream.feed(*script[:3])
    sender.wait_attempts(1)
    sender_thread_ended()
    stream.feed(*script[3:], END)
    outcome = run.outcome()
    assert outcome.cause is failure and stream.closed.is_set() and outcome.frames == 0 and not outcome.gone
    assert stream.asked == 4 and sender.attempts == 1


def chunks(*events: dict) -> list[dict]:
    return [{"chunk": {"bytes": json.dumps(event).encode()}} for event in events]


def delta(text: str) -> dict:
    return {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}


@pytest.mark.parametrize(("limit", "text_frames"), [(1008, 13), (1010, 12)])
def test_a_long_delta_is_split_into_as_few_frames_as_fit(limit, text_frames):
    """An emoji is 12 bytes of JSON (a surrogate pair): 83 fit in 1008 bytes with the quotes, 84 in 1010."""
    frames: list[str] = []
    relay(chunks(delta("😀" * 1000)), frames.append, lambda: None, limit=limit)
    assert all(len(f.encode()) <= limit for f in frames)
    assert len(frames) == text_frames + 1
    assert "".join(json.loads(f) for f in frames[:-1]) == "😀" * 1000


@pytest.mark.parametrize("size", [98, 99, 100])
def test_a_delta_near_the_limit_never_makes_a_frame_over_it(size):
    frames: list[str] = []
    relay(chunks(delta("a" * size)), frames.append, lambda: None, limit=100)
    assert all(len(f.encode()) <= 100 for f in frames)
    assert "".join(json.loads(f) for f in frames[:-1]) == "a" * size


def test_waiting_deltas_that_exactly_fill_a_frame_share_it():
    script, stream, sender = chunks(delta("x"), delta("a" * 49), delta("b" * 49)), Stream(), Sender()
    run = Run(stream, sender, limit=100)
    sender.hold()
    stream.feed(script[0])
    sender.wait_attempts(1)  # "x" in flight while the two others arrive
    stream.feed(*script[1:], END)
    stream.wait_handled(3)
    sender.release()
    run.outcome()
    assert sender.frames[:2] == ['"x"', json.dumps("a" * 49 + "b" * 49)]  # 100 bytes exactly: one frame


def test_usage_may_be_missing_and_a_later_message_delta_keeps_the_count():
    start = {"type": "message_start", "message": {"id": "m", "content": []}}  # no usage
    end = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}}
    late = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}}  # no usage at all
    frames: list[str] = []
    outcome = relay(chunks(start, delta("hi"), end, late), frames.append, lambda: None)
    assert (outcome.input_tokens, outcome.output_tokens, outcome.error) == (None, 7, None)
    assert json.loads(frames[-1]) == {
        "type": "end",
        "stop_reason": "end_turn",
        "usage": {"input_tokens": None, "output_tokens": 7},
    }


def test_other_events_and_other_delta_types_are_not_text():
    events = chunks(
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{"}},
        {"type": "ping"},
        delta("only this"),
    )
    frames: list[str] = []
    outcome = relay(events, frames.append, lambda: None)
    assert frames[0] == '"only this"' and outcome.deltas == 1 and len(frames) == 2


# --- frame pacing (issue 28) --------------------------------------------------------------------------------------
# The fake clock moves only when a test moves it, and the interval is long in real seconds too, so the sender wakes
# only when a delta arrives or the reply ends: what it posts is decided by the test, never by the machine's speed.
PACE_MS = 1_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_paced_sender_posts_the_first_delta_at_once_then_one_joined_frame_per_interval():
    script, stream, sender, clock = events(PIECES), Stream(), Sender(), Clock()
    run = Run(stream, sender, interval_ms=PACE_MS, clock=clock)
    stream.feed(*script[:3])
    sender.wait_posted(1)  # the first delta waits for nothing
    stream.feed(*script[3:12])
    stream.wait_handled(12)  # w1..w9 arrived within the interval: they wait
    assert sender.attempts == 1
    clock.now += PACE_MS / 1000  # the interval is over: the next delta goes with the ones waiting
    stream.feed(script[12])
    sender.wait_posted(2)
    stream.feed(*script[13:22])
    stream.wait_handled(22)
    clock.now += PACE_MS / 2000  # half an interval later: still waiting
    stream.feed(script[22])
    stream.wait_handled(23)
    assert sender.attempts == 2
    clock.now += PACE_MS / 2000
    stream.feed(script[23])
    sender.wait_posted(3)
    stream.feed(*script[24:], END)
    outcome = run.outcome()
    # The delta that arrives as the interval ends may go with the waiting ones or wait for the next interval (the
    # sender may see the clock move before that delta is queued): either is right. Nothing else may differ.
    texts = [json.loads(f) for f in sender.frames[:4]]
    assert texts[0] == PIECES[0]
    assert texts[1] in ("".join(PIECES[1:10]), "".join(PIECES[1:11]))
    second = 1 + len(texts[1].split())
    assert texts[2] in ("".join(PIECES[second:21]), "".join(PIECES[second:22]))
    assert texts[3] == "".join(PIECES[second + len(texts[2].split()) :]), "the last goes when the model ends"
    assert sender.control() == [
        {"type": "end", "stop_reason": "end_turn", "usage": {"input_tokens": 3, "output_tokens": 60}}
    ]
    assert (outcome.deltas, outcome.frames, outcome.text) == (60, 5, "".join(PIECES))


def test_paced_last_frame_and_closing_frame_go_as_soon_as_the_model_ends():
    script, stream, sender, clock = events(["a", "b", "c"]), Stream(), Sender(), Clock()
    run = Run(stream, sender, interval_ms=PACE_MS, clock=clock)
    stream.feed(*script[:3])
    sender.wait_posted(1)
    stream.feed(*script[3:], END)  # the clock never moves: only the end can release "bc"
    outcome = run.outcome()
    assert sender.frames[:2] == ['"a"', '"bc"'] and json.loads(sender.frames[2])["type"] == "end"
    assert outcome.frames == 3


def test_paced_sender_posts_when_the_interval_expires_without_another_delta():
    script, stream, sender = events(["a", "b", "c"]), Stream(), Sender()
    run = Run(stream, sender, interval_ms=5)  # the real clock: nothing but the interval's end can post "b"
    stream.feed(*script[:3])
    sender.wait_posted(1)
    stream.feed(script[3])
    sender.wait_posted(2)
    stream.feed(*script[4:], END)
    run.outcome()
    assert sender.frames[:3] == ['"a"', '"b"', '"c"']


def test_interval_zero_never_waits_on_the_clock():
    script, stream, sender, clock = events(PIECES[:10]), Stream(), Sender(), Clock()
    run = Run(stream, sender, interval_ms=0, clock=clock)  # the clock never moves
    stream.feed(*script[:2])
    for n, event in enumerate(script[2:12], start=1):
        stream.feed(event)
        sender.wait_posted(n)
    stream.feed(*script[12:], END)
    run.outcome()
    assert sender.frames[:-1] == [json.dumps(p) for p in PIECES[:10]]


def test_paced_frames_joined_over_an_interval_stay_under_the_32_kb_frame():
    pieces = ["a"] + ["y" * 700] * 100 + ["z" * 40_000]  # 110 KB arriving within one interval
    script, stream, sender, clock = events(pieces), Stream(), Sender(), Clock()
    run = Run(stream, sender, interval_ms=PACE_MS, clock=clock)
    stream.feed(*script[:3])
    sender.wait_posted(1)
    stream.feed(*script[3:-4])
    stream.wait_handled(len(script) - 4)
    clock.now += PACE_MS / 1000  # the last delta ends the interval: one full frame, the rest when the model ends
    stream.feed(*script[-4:], END)
    run.outcome()
    assert all(len(f.encode()) <= 32 * 1024 for f in sender.frames)
    assert max(len(f.encode()) for f in sender.frames) > 30 * 1024, "frames are filled, not one delta each"
    assert sender.text() == "".join(pieces)
