"""Anthropic Messages stream events, in the order Bedrock sends them for a Claude model.

message_start, content_block_start, content_block_delta (text_delta) …, content_block_stop,
message_delta (stop_reason, usage), message_stop (with Bedrock's `amazon-bedrock-invocationMetrics`).
"""

import hashlib
from collections.abc import Iterator


def message_id(seed: str) -> str:
    return "msg_bdrk_" + hashlib.sha256(seed.encode()).hexdigest()[:24]


def message_events(
    model: str,
    pieces: list[str],
    input_tokens: int,
    output_tokens: int | None = None,
    stop_reason: str = "end_turn",
    latency_ms: int = 0,
    first_byte_latency_ms: int = 0,
) -> Iterator[dict]:
    output_tokens = len(pieces) if output_tokens is None else output_tokens
    yield {
        "type": "message_start",
        "message": {
            "id": message_id(model + "".join(pieces)),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1},
        },
    }
    yield {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    for piece in pieces:
        yield {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
    yield {"type": "content_block_stop", "index": 0}
    yield {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
        "usage": {"output_tokens": output_tokens},
    }
    yield {
        "type": "message_stop",
        "amazon-bedrock-invocationMetrics": {
            "inputTokenCount": input_tokens,
            "outputTokenCount": output_tokens,
            "invocationLatency": latency_ms,
            "firstByteLatency": first_byte_latency_ms,
        },
    }
