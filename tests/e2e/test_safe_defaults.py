"""main.yml's safe defaults through the emulator (issue 23): the daily budget reserves each reply's worst case
atomically, so replies started in parallel cannot overrun it, and forget leaves nothing a late second delivery of
a message can write into."""

import asyncio
import json

import pytest
import websockets

from emulator.awslambda.asynchronous import Fault
from emulator.bedrock.directives import parse_directives
from emulator.bedrock.script import scripted_reply
from tests.local_cloud import ARTICLE, read_reply, receive_json, sendtext

pytestmark = pytest.mark.e2e


def finished(gateway, logical_id: str, count: int) -> asyncio.Event:
    """Set once `count` invocations of the function have returned (the emulator's runtime, wrapped)."""
    done, returned = asyncio.Event(), []
    invoke = gateway.runtime.invoke

    async def counted(function, event, request_id=None):
        try:
            return await invoke(function, event, request_id)
        finally:
            if function.logical_id == logical_id:
                returned.append(request_id)
                if len(returned) >= count:
                    done.set()

    gateway.runtime.invoke = counted
    return done


async def test_a_late_second_delivery_after_forget_neither_calls_the_model_nor_stores_text(chat, standin):
    """Finding 5: Lambda's asynchronous queue delivers at least once. A second delivery of a message's event that
    arrives after the conversation was forgotten finds its turn's tombstone (with its own message id): it sends
    nothing, asks the model nothing and stores nothing."""
    text = f"[standin tokens=20 rate=200 ttft_ms=0] {ARTICLE}"
    async with chat() as gateway, websockets.connect(gateway.url) as ws:
        reply = gateway.api.functions["StreamReplyFunction"]
        both = finished(gateway, "StreamReplyFunction", 2)
        gateway.functions.inject(Fault("duplicate", function=reply.name, seconds=3))
        await ws.send(sendtext(text))
        deltas, end = await read_reply(ws)
        await ws.send(json.dumps({"action": "forget", "conversationId": end["conversationId"]}))
        assert await receive_json(ws) == {"type": "forgotten", "conversationId": end["conversationId"]}
        assert not both.is_set()  # the second delivery is still to come
        await asyncio.wait_for(both.wait(), 10)
        await ws.send(json.dumps({"action": "history", "conversationId": end["conversationId"]}))
        history = await receive_json(ws)  # the next frame: the late delivery sent none
    prompt, _ = parse_directives(text)
    assert "".join(deltas) == scripted_reply(prompt, 20) and end["type"] == "end"
    assert len(standin.find(text)) == 1  # asked once, by the first delivery
    assert history["code"] == "ConversationNotFound"


async def test_replies_started_in_parallel_cannot_overrun_the_daily_budget(chat, standin):
    """Finding 4: at the edge of the budget, five messages sent back to back all streamed. Each now reserves its
    worst case first (50 output tokens at 5 and its input at 1.25: ~285 units of 600), so at most two are in flight
    at once, the rest get QuotaExceeded, and what was billed stays within the budget. Anonymous: five people (one
    connection each) share the one budget."""
    text = f"[standin tokens=30 rate=100 ttft_ms=1500] {ARTICLE}"  # the model starts late: replies overlap
    async with chat(parameters={"DailyTokenBudget": "600", "MaxTokens": "50"}) as gateway:
        people = [await websockets.connect(gateway.url) for _ in range(5)]
        try:
            await asyncio.gather(*(ws.send(sendtext(text)) for ws in people))
            closings = [end for _, end in await asyncio.gather(*(read_reply(ws, 15) for ws in people))]
        finally:
            await asyncio.gather(*(ws.close() for ws in people))
    ends = [frame for frame in closings if frame["type"] == "end"]
    refused = [frame for frame in closings if frame["type"] == "error"]
    assert 1 <= len(ends) <= 2 and {frame["code"] for frame in refused} == {"QuotaExceeded"}
    billed = sum(end["usage"]["input_tokens"] + 5 * end["usage"]["output_tokens"] for end in ends)
    assert billed <= 600
    assert max(end["budget"]["remaining"] for end in ends) == 600 - billed  # the last to settle: nothing leaked
    assert len(standin.find(text)) == len(ends)
