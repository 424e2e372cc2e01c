"""Realistic Bedrock response bodies for unit tests, encoded by the project's one event-stream encoder."""

import json
import threading
import time

import model
from emulator.anthropic import message_events
from emulator.eventstream import chunk_event, exception_event


class RawStream:
    """What botocore's EventStream reads: the HTTP body, one event-stream message per read, optionally paced."""

    def __init__(self, messages: list[bytes], interval: float = 0.0) -> None:
        self.messages = messages
        self.interval = interval
        self.read = 0
        self.closed = threading.Event()

    def stream(self):
        for message in self.messages:
            if self.closed.is_set():
                return
            time.sleep(self.interval)
            self.read += 1
            yield message

    def close(self) -> None:
        self.closed.set()


def reply_messages(pieces: list[str], fail_after: int | None = None, exception: str = "") -> list[bytes]:
    """A Claude reply as Bedrock's event-stream messages, encoded by the project's one encoder.

    With `fail_after`, the stream ends after that many deltas with a modelled exception event instead.
    """
    events = list(message_events(model.MODEL_ID, pieces, input_tokens=14))
    messages = [chunk_event(event) for event in events]
    if fail_after is None:
        return messages
    return [*messages[: 2 + fail_after], exception_event(exception, "Injected mid-stream failure")]


def frame(obj) -> str:
    return json.dumps(obj)
