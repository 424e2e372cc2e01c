"""Realistic Bedrock response bodies for unit tests, encoded by the project's one event-stream encoder."""

import base64
import json
import threading
from collections.abc import Callable

from botocore.eventstream import EventStreamBuffer

from emulator.bedrock import converse
from emulator.bedrock.anthropic import message_events
from emulator.bedrock.eventstream import chunk_event, exception_event
from reply import bedrock


class RawStream:
    """What botocore's EventStream reads: the HTTP body, one event-stream message per read.

    `pace(n)` is called before each text delta is read, n being the deltas read so far: a test makes the model
    wait there for something (the previous delta's post), instead of sleeping and hoping the machine is fast.
    """

    def __init__(self, messages: list[bytes], pace: Callable[[int], None] | None = None) -> None:
        self.messages = messages
        self.pace = pace
        self.read = 0
        self.closed = threading.Event()

    def stream(self):
        deltas = 0
        for message in self.messages:
            if self.closed.is_set():
                return
            if _is_text_delta(message):
                if self.pace:
                    self.pace(deltas)
                deltas += 1
            self.read += 1
            yield message

    def close(self) -> None:
        self.closed.set()


def _is_text_delta(message: bytes) -> bool:
    buffer = EventStreamBuffer()
    buffer.add_data(message)
    decoded = next(iter(buffer))
    if decoded.headers.get(":event-type") != "chunk":
        return False
    return json.loads(base64.b64decode(json.loads(decoded.payload)["bytes"]))["type"] == "content_block_delta"


def reply_messages(pieces: list[str], fail_after: int | None = None, exception: str = "") -> list[bytes]:
    """A Claude reply as Bedrock's event-stream messages, encoded by the project's one encoder.

    With `fail_after`, the stream ends after that many deltas with a modelled exception event instead.
    """
    events = list(message_events(bedrock.MODEL_ID, pieces, input_tokens=14))
    messages = [chunk_event(event) for event in events]
    if fail_after is None:
        return messages
    return [*messages[: 2 + fail_after], exception_event(exception, "Injected mid-stream failure")]


def frame(obj) -> str:
    return json.dumps(obj)


def converse_messages(pieces: list[str], stop: str = "end_turn", fail_after: int | None = None) -> list[bytes]:
    """A ConverseStream reply as Bedrock's event-stream messages (the stand-in's encoder); `fail_after`: that many
    deltas, then a modelled exception event."""
    messages = [converse.encode(event) for event in converse.events(pieces, stop, 14, None)]
    if fail_after is None:
        return messages
    return [*messages[: 1 + fail_after], exception_event("throttlingException", "Too many tokens")]


def converse_stream(messages: list[bytes]):
    """What converse_stream's response["stream"] is: botocore's EventStream over the messages, parsed unchanged."""
    from botocore.eventstream import EventStream
    from botocore.parsers import EventStreamJSONParser

    op = bedrock.client.meta.service_model.operation_model("ConverseStream")
    return EventStream(RawStream(messages), op.output_shape.members["stream"], EventStreamJSONParser(), op.name)
