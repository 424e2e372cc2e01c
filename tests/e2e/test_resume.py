"""Issue 27 through the emulator: main.yml + src/ with the stand-in. A reply whose client drops is resumed on a new
connection, every character once, from the one model stream; `stop` ends the model at once; the races."""

import asyncio
import json
import time

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


async def resumed_whole(ws: websockets.ClientConnection, conversation_id: str, held: str) -> list[dict]:
    """Resume on `ws` from what the client held; the reply it ends with must be the script, each character once,
    ending `end_turn`. Its resume frames."""
    await ws.send(resume(conversation_id, len(held)))
    caught_up, deltas, end = await rest(ws)
    assert whole(held, caught_up, deltas) == scripted_reply(ARTICLE, TOKENS)
    assert end["type"] == "end" and end["stop_reason"] == "end_turn" and end["conversationId"] == conversation_id
    return caught_up


async def test_a_dropped_reply_resumed_on_a_new_connection_arrives_whole_once_from_one_model_stream(chat, standin):
    text = slow()
    async with chat() as cloud:
        async with websockets.connect(cloud.url) as ws:
            conversation_id, held = await start(ws, text, 5)
        async with websockets.connect(cloud.url) as ws:
            caught_up = await resumed_whole(ws, conversation_id, held)
        (record,) = standin.find(text)
        await eventually(lambda: record.ended)
    assert caught_up[0]["offset"] == len(held)
    assert not record.closed_early and record.deltas == TOKENS  # the one stream went on, never restarted


async def history_of(ws: websockets.ClientConnection, conversation_id: str) -> dict:
    await ws.send(json.dumps({"action": "history", "conversationId": conversation_id}))
    (frame,) = [await receive_json(ws)]
    assert frame["type"] == "history" and frame["parts"] == 1
    return frame["turns"][-1]


async def test_a_resume_after_the_reply_ended_gets_the_rest_of_the_stored_reply_and_its_end(chat, standin):
    text = slow(tokens=60, rate=200)
    async with chat() as cloud:
        async with websockets.connect(cloud.url) as ws:
            conversation_id, held = await start(ws, text, 3)
        await standin.wait_ended(text)
        async with websockets.connect(cloud.url) as ws:
            stored = await eventually_stored(ws, conversation_id)
            await ws.send(resume(conversation_id, len(held)))
            caught_up, deltas, end = await rest(ws)
    assert deltas == []
    assert whole(held, caught_up, deltas) == stored["assistant"] == scripted_reply(ARTICLE, 60)
    assert end["type"] == "end" and end["stop_reason"] == "end_turn" and end["usage"]["output_tokens"] == 60


async def eventually_stored(ws: websockets.ClientConnection, conversation_id: str) -> dict:
    """The reply's turn once StreamReply has stored it (it stores just after the model's stream ends)."""
    for _ in range(100):
        turn = await history_of(ws, conversation_id)
        if turn.get("status") != "pending" and turn.get("assistant"):
            return turn
    raise AssertionError("the turn was never stored")


async def test_with_no_resume_within_the_grace_period_the_model_stops_and_the_turn_is_stored_partial(chat, standin):
    text = slow(tokens=2000, rate=100)  # 20 s: far longer than the 1 s grace
    async with chat(parameters={"ResumeGraceSeconds": "1"}) as cloud:
        async with websockets.connect(cloud.url) as ws:
            conversation_id, held = await start(ws, text, 3)
        left_at = time.monotonic()
        record = await standin.wait_ended(text, timeout=15)
        async with websockets.connect(cloud.url) as ws:
            stored = await eventually_stored(ws, conversation_id)
    assert record.closed_early and record.deltas < record.planned
    assert 1.0 <= record.last_chunk_at - left_at < 3.0  # the grace period, then within a poll or two
    # Stored: exactly what the model produced, which is more than the client held.
    assert stored["status"] == "partial" and stored["assistant"].startswith(held)
    assert stored["assistant"] == "".join(scripted_reply(ARTICLE, 2000))[: len(stored["assistant"])]
    assert len(stored["assistant"]) > len(held)


async def test_stop_closes_the_model_stream_within_a_second_and_ends_the_reply_stopped(chat, standin):
    text = slow(tokens=2000, rate=100)
    async with chat() as cloud, websockets.connect(cloud.url) as ws:
        conversation_id, held = await start(ws, text, 3)
        await ws.send(json.dumps({"action": "stop", "conversationId": conversation_id}))
        stopped_at = time.monotonic()
        caught_up, deltas, end = await rest(ws)
        record = await standin.wait_ended(text)
        stored = await history_of(ws, conversation_id)
    assert caught_up == []
    assert end["type"] == "end" and end["stop_reason"] == "stopped"
    assert record.closed_early and record.ended_at - stopped_at < 1.0
    assert stored["status"] == "partial" and stored["assistant"] == held + "".join(deltas)


async def test_a_resume_while_posts_to_the_old_connection_are_failing_delivers_each_character_once(chat, standin):
    text = slow()
    async with chat() as cloud, websockets.connect(cloud.url) as new:
        async with websockets.connect(cloud.url) as old:
            conversation_id, held = await start(old, text, 5)
            # The old socket closes as the resume goes out: the old connection's posts fail while it is taken up.
            await new.send(resume(conversation_id, len(held)))
        caught_up, deltas, end = await rest(new)
        (record,) = standin.find(text)
    assert whole(held, caught_up, deltas) == scripted_reply(ARTICLE, TOKENS)
    assert end["stop_reason"] == "end_turn" and not record.closed_early  # the model went on


async def test_a_resume_while_the_old_connection_still_receives_switches_with_nothing_lost_or_doubled(chat, standin):
    text = slow()
    async with chat() as cloud, websockets.connect(cloud.url) as old, websockets.connect(cloud.url) as new:
        conversation_id, held = await start(old, text, 5)
        await resumed_whole(new, conversation_id, held)  # while the old connection is open and still posted to


async def test_two_resumes_in_a_row_both_win_and_the_last_gets_the_rest_once(chat, standin):
    text = slow()
    async with chat() as cloud:
        async with websockets.connect(cloud.url) as ws:
            conversation_id, held = await start(ws, text, 5)
        async with websockets.connect(cloud.url) as ws:
            await ws.send(resume(conversation_id, len(held)))
            first = await receive_json(ws)
            assert first["type"] == "resume"
            held += first["text"]
        async with websockets.connect(cloud.url) as ws:
            await resumed_whole(ws, conversation_id, held)
        (record,) = standin.find(text)
    assert not record.closed_early


async def test_two_resumes_at_once_one_wins_and_the_other_is_told_conversation_busy(chat, standin):
    text = slow()
    async with chat() as cloud:
        async with websockets.connect(cloud.url) as ws:
            conversation_id, held = await start(ws, text, 5)
        async with websockets.connect(cloud.url) as a, websockets.connect(cloud.url) as b:
            await asyncio.gather(a.send(resume(conversation_id, len(held))), b.send(resume(conversation_id, len(held))))
            results = await asyncio.gather(rest(a), rest(b))
    busy = [r for r in results if r[2]["type"] == "error"]
    (won,) = [r for r in results if r[2]["type"] == "end"]
    assert len(busy) == 1 and busy[0][2]["code"] == "ConversationBusy" and busy[0][:2] == ([], [])
    assert whole(held, won[0], won[1]) == scripted_reply(ARTICLE, TOKENS)


async def test_resume_of_an_unknown_conversation_is_not_found(chat):
    async with chat() as cloud, websockets.connect(cloud.url) as ws:
        await ws.send(resume("A" * 32, 0))
        error = await receive_json(ws)
        await ws.send(json.dumps({"action": "resume", "conversationId": "A" * 32, "from": -1}))
        bad = await receive_json(ws)
    assert error["type"] == "error" and error["code"] == "ConversationNotFound"
    assert bad["code"] == "BadRequest"
