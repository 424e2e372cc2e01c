"""Issue 27 through the emulator: main.yml + src/ with the stand-in. A reply whose client drops is resumed on a new
connection, every character once, from the one model stream; `stop` ends the model at once; the races."""

import json

import pytest
import websockets

from emulator.bedrock.script import scripted_reply
from tests.local_cloud import ARTICLE, eventually, receive_json

pytestmark = pytest.mark.e2e

TOKENS = 200


def slow(tokens: int = TOKENS, rate: int = 100) -> str:
    """A reply of `tokens` pieces at `rate` a second: long enough to drop and resume in the middle of it."""
    return f"[standin tokens={tokens} rate={rate} ttft_ms=0] {ARTICLE}"


def sendtext(text: str) -> str:
    return json.dumps({"action": "sendtext", "text": text, "resumable": True})


def resume(conversation_id: str, held: int) -> str:
    return json.dumps({"action": "resume", "conversationId": conversation_id, "from": held})


async def start(ws: websockets.ClientConnection, text: str, deltas: int) -> tuple[str, str]:
    """Send the message; its conversation id (the `started` frame) and the text of its first `deltas` frames."""
    await ws.send(sendtext(text))
    started = await receive_json(ws)
    assert started["type"] == "started"
    return started["conversationId"], "".join([await receive_json(ws) for _ in range(deltas)])


async def rest(ws: websockets.ClientConnection, timeout: float = 20.0) -> tuple[list[dict], list[str], dict]:
    """After a `resume`: its `resume` frames, then the live deltas, then the closing frame."""
    caught_up, deltas = [], []
    while True:
        frame = await receive_json(ws, timeout)
        if isinstance(frame, str):
            deltas.append(frame)
        elif frame.get("type") == "resume":
            assert not deltas, "a resume frame after a live delta"
            caught_up.append(frame)
        else:
            return caught_up, deltas, frame


def whole(held: str, caught_up: list[dict], deltas: list[str]) -> str:
    text = held
    for frame in caught_up:
        assert frame["offset"] == len(text), "a resume frame out of place"
        text += frame["text"]
    return text + "".join(deltas)


async def test_a_dropped_reply_resumed_on_a_new_connection_arrives_whole_once_from_one_model_stream(chat, standin):
    text = slow()
    async with chat() as cloud:
        async with websockets.connect(cloud.url) as ws:
            conversation_id, held = await start(ws, text, 5)
        async with websockets.connect(cloud.url) as ws:
            await ws.send(resume(conversation_id, len(held)))
            caught_up, deltas, end = await rest(ws)
        (record,) = standin.find(text)
        await eventually(lambda: record.ended)
    assert caught_up and caught_up[0]["offset"] == len(held)
    assert whole(held, caught_up, deltas) == scripted_reply(ARTICLE, TOKENS)
    assert end["type"] == "end" and end["stop_reason"] == "end_turn" and end["conversationId"] == conversation_id
    assert not record.closed_early and record.deltas == TOKENS  # the one stream went on, never restarted
