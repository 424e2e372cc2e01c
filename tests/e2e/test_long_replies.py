"""Replies of any length (issue 10): main.yml + src/ through the emulator with API Gateway's real 29 s integration
timeout. SendText only starts the reply; StreamReply streams it from an asynchronous invocation, so a reply past
29 s arrives whole with no gateway frame; a dropped event, a crash or a reply at its time limit each end in
exactly one error frame."""

import asyncio
import dataclasses
import os
import signal
import time
from pathlib import Path

import pytest
import websockets

from emulator import template
from emulator.apigateway.registry import Quotas
from emulator.awslambda.asynchronous import Fault
from emulator.bedrock.directives import parse_directives
from emulator.bedrock.script import scripted_reply
from emulator.cloud import LocalCloud
from tests.local_cloud import ARTICLE, ROOT, chat_environment, lambda_interpreters, receive_json, sendtext

pytestmark = pytest.mark.e2e


async def whole_reply(ws: websockets.ClientConnection, timeout: float) -> list[object]:
    """Every frame up to and including the first object frame, then a moment more to catch any stray frame."""
    frames: list[object] = []
    while not frames or isinstance(frames[-1], str):
        frames.append(await receive_json(ws, timeout))
    with pytest.raises(TimeoutError):
        frames.append(await receive_json(ws, 0.5))
    return frames


def timed(cloud: LocalCloud) -> dict[str, list[float]]:
    """Every invocation's duration in ms, by the function's logical id (wrapping the emulator's runtime)."""
    durations: dict[str, list[float]] = {}
    invoke = cloud.runtime.invoke

    async def measured(function, event, request_id=None):
        result = await invoke(function, event, request_id)
        durations.setdefault(function.logical_id, []).append(result.duration_ms)
        return result

    cloud.runtime.invoke = measured
    return durations


async def check_long_reply(cloud: LocalCloud, text: str, seconds: float) -> None:
    durations = timed(cloud)
    prompt, directives = parse_directives(text)
    async with websockets.connect(cloud.url) as ws:
        started = time.monotonic()
        await ws.send(sendtext(text))
        frames = await whole_reply(ws, timeout=10)
        took = time.monotonic() - started
    assert took > seconds > cloud.stage.quotas.integration_timeout  # the reply outlasted the integration timeout
    *deltas, end = frames
    assert all(isinstance(delta, str) for delta in deltas)  # no API Gateway frame anywhere
    assert "".join(deltas) == scripted_reply(prompt, directives.tokens)
    assert end["type"] == "end" and end["stop_reason"] == "end_turn"
    assert max(durations["SendTextFunction"]) < 1000  # SendText only started the reply
    assert durations["StreamReplyFunction"][0] > seconds * 1000


@pytest.mark.slow
async def test_a_45_second_reply_arrives_whole_in_order_with_no_gateway_frame_and_the_end_last(chat):
    async with chat() as cloud:
        assert cloud.stage.quotas.integration_timeout == 29  # API Gateway's, for WebSocket APIs (not raisable)
        await check_long_reply(cloud, f"[standin tokens=91 rate=2 ttft_ms=0] {ARTICLE}", 45)


async def test_a_reply_longer_than_the_integration_timeout_arrives_whole_with_no_gateway_frame(chat):
    """The 45-second test's fast equivalent: a 2 s integration timeout and a 4 s reply."""
    async with chat(quotas=Quotas(integration_timeout=2)) as cloud:
        await check_long_reply(cloud, f"[standin tokens=41 rate=10 ttft_ms=0] {ARTICLE}", 4)


async def test_a_duplicate_delivery_gives_exactly_one_reply(chat, standin):
    text = f"[standin tokens=30 rate=100 ttft_ms=0] {ARTICLE}"
    async with chat() as cloud, websockets.connect(cloud.url) as ws:
        reply = cloud.api.functions["StreamReplyFunction"]
        cloud.functions.inject(Fault("duplicate", function=reply.name, seconds=0.3))
        await ws.send(sendtext(text))
        frames = await whole_reply(ws, timeout=10)
        await asyncio.sleep(1)  # the duplicate ran meanwhile
        with pytest.raises(TimeoutError):
            await receive_json(ws, 0.5)
    prompt, _ = parse_directives(text)
    assert "".join(frames[:-1]) == scripted_reply(prompt, 30)
    assert frames[-1]["type"] == "end"
    assert len(standin.find(text)) == 1  # and the model was asked once


async def test_a_dropped_event_ends_in_one_error_frame(chat, standin):
    async with chat() as cloud, websockets.connect(cloud.url) as ws:
        reply = cloud.api.functions["StreamReplyFunction"]
        cloud.functions.inject(Fault("drop", function=reply.name))
        await ws.send(sendtext(ARTICLE))
        frames = await whole_reply(ws, timeout=10)
        assert standin.find(ARTICLE) == []
        # The turn was marked failed: the conversation takes the next message at once (not ConversationBusy).
        await ws.send(sendtext(ARTICLE))
        *deltas, end = await whole_reply(ws, timeout=10)
    (error,) = frames
    assert (error["type"], error["code"]) == ("error", "Throttled")
    assert error["message"] == "The reply could not start in time; try again shortly."
    assert "".join(deltas) == scripted_reply(ARTICLE) and end["type"] == "end"
    assert end["conversationId"] == error["conversationId"]


def environment_of(cloud: LocalCloud, logical_id: str) -> list[int]:
    return [env.process.pid for env in cloud.runtime._all if env.function.logical_id == logical_id and env.alive]


async def test_a_crash_mid_stream_ends_in_one_error_frame(chat):
    text = f"[standin tokens=200 rate=50 ttft_ms=0] {ARTICLE}"
    async with chat() as cloud, websockets.connect(cloud.url) as ws:
        await ws.send(sendtext(text))
        for _ in range(5):
            assert isinstance(await receive_json(ws), str)
        (pid,) = environment_of(cloud, "StreamReplyFunction")
        os.kill(pid, signal.SIGKILL)  # as an out-of-memory kill would end it
        frames = await whole_reply(ws, timeout=10)
    *deltas, error = frames
    assert all(isinstance(delta, str) for delta in deltas)
    assert (error["type"], error["code"]) == ("error", "Internal")
    assert error["message"] == "The reply failed on our side; try again." and error["conversationId"]


async def test_a_reply_at_its_time_limit_stops_itself_with_one_error_frame(standin, tmp_path: Path):
    """StreamReply with a 3 s Timeout (900 s in main.yml) and a 10 s reply: it stops with its own error frame
    before Lambda would kill it, so the OnFailure destination has nothing to add."""
    api = template.load(ROOT / "main.yml")
    short = dataclasses.replace(api.functions["StreamReplyFunction"], timeout=3)
    api = dataclasses.replace(api, functions={**api.functions, "StreamReplyFunction": short})
    cloud = LocalCloud(api, chat_environment(standin.url), port=0, interpreters=lambda_interpreters())
    await cloud.start()
    try:
        async with websockets.connect(cloud.url) as ws:
            await ws.send(sendtext(f"[standin tokens=100 rate=10 ttft_ms=0] {ARTICLE}"))
            frames = await whole_reply(ws, timeout=10)
            await asyncio.sleep(1)
            with pytest.raises(TimeoutError):
                await receive_json(ws, 0.5)
    finally:
        await cloud.stop()
    *deltas, error = frames
    assert len(deltas) > 10 and all(isinstance(delta, str) for delta in deltas)
    assert error["code"] == "ReplyTooLong"


async def test_replies_have_no_cut_off_in_the_template():
    api = template.load(ROOT / "main.yml")
    reply = api.functions["StreamReplyFunction"]
    assert reply.timeout == 900 and not any(route.function == reply for route in api.routes.values())
    assert api.routes["sendtext"].function.timeout <= 29
    config = reply.event_invoke
    assert config.maximum_retry_attempts == 0 and config.maximum_event_age == 60
    assert config.on_failure == api.functions["ReplyFailedFunction"].arn
