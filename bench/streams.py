"""One reply through the emulator, measured at the client, at the stand-in and in the emulator's REPORT line."""

import asyncio
import contextlib
import dataclasses
import json
import logging
import re
import statistics
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import websockets

from emulator import template
from emulator.awslambda.runtime import stop_forkserver
from emulator.bedrock.directives import parse_directives
from emulator.bedrock.script import scripted_reply
from emulator.bedrock.server import BedrockStandIn
from emulator.cloud import LocalCloud, function_environment

ROOT = Path(__file__).resolve().parents[1]
SERIAL_HANDLER = "article_serial.handler"  # bench/article_serial.py, the original article's loop


@dataclasses.dataclass(frozen=True)
class Sample:
    stream_ms: float  # the stand-in's first chunk to its last
    first_frame_ms: float
    overhead_ms: float
    frames: int
    handler_ms: float
    timed_out: int = 0  # API Gateway's "Endpoint request timed out" frames (the reply outlasted 29 s)
    # The client's send to its first delta, minus the stand-in's own request-to-first-chunk time.
    send_to_first_frame_ms: float = 0.0


class Reports(logging.Handler):
    """The emulator's `REPORT RequestId: … Duration: X ms` lines, as they are logged."""

    _DURATION = re.compile(r"^REPORT RequestId: \S+\tDuration: ([\d.]+) ms")

    def __init__(self) -> None:
        super().__init__()
        self.durations: list[float] = []
        self.changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        match = self._DURATION.match(record.getMessage())
        if match:
            self.durations.append(float(match.group(1)))
            self.changed.set()

    async def after(self, count: int, timeout: float = 30) -> float:
        """The first duration reported after the first `count`."""
        async with asyncio.timeout(timeout):
            while len(self.durations) <= count:
                self.changed.clear()
                await self.changed.wait()
        return self.durations[count]


def api_for(mode: str, frame_interval_ms: int | None = 0) -> template.Api:
    """main.yml as deployed with FrameIntervalMs (None: the template's default); for "serial", its sendtext route
    runs the article's loop (synchronously, with the model id StreamReply has) instead of starting StreamReply."""
    parameters = {} if frame_interval_ms is None else {"FrameIntervalMs": str(frame_interval_ms)}
    api = template.load(ROOT / "main.yml", parameters=parameters)
    if mode == "relay":
        return api
    route = api.routes["sendtext"]
    assert route.function is not None
    environment = {
        **route.function.environment,
        "MODEL_ID": api.functions["StreamReplyFunction"].environment["MODEL_ID"],
    }
    function = dataclasses.replace(
        route.function, handler=SERIAL_HANDLER, code_dir=ROOT / "bench", environment=environment
    )
    return dataclasses.replace(api, routes={**api.routes, "sendtext": dataclasses.replace(route, function=function)})


@contextlib.asynccontextmanager
async def measuring() -> AsyncIterator[tuple[BedrockStandIn, "Reports"]]:
    """A stand-in that answers at the rate each prompt's directive asks, and the runtime's REPORT lines collected;
    the forkserver ends with them, so every measurement starts its environments afresh."""
    reports = Reports()
    runtime_log = logging.getLogger("emulator.awslambda")
    runtime_log.addHandler(reports)
    runtime_log.setLevel(logging.INFO)
    standin = BedrockStandIn(rate=0, ttft_ms=0)
    await standin.start()
    try:
        yield standin, reports
    finally:
        await standin.stop()
        runtime_log.removeHandler(reports)
        stop_forkserver()


@contextlib.asynccontextmanager
async def gateway(
    mode: str, standin: BedrockStandIn, latency_ms: float, frame_interval_ms: int | None = 0
) -> AsyncIterator[LocalCloud]:
    api = api_for(mode, frame_interval_ms)
    emulator = LocalCloud(api, function_environment(standin.url), port=0, post_latency_ms=latency_ms)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


def invocations(mode: str) -> int:
    """Per reply: SendText (which, in relay mode, starts StreamReply) and $disconnect."""
    return 3 if mode == "relay" else 2


async def reply(
    emulator: LocalCloud, standin: BedrockStandIn, reports: Reports, mode: str, text: str, tokens: int
) -> Sample:
    """Send one sendtext and read the reply to its end; check it arrived whole and in order."""
    prompt, _ = parse_directives(text)
    expected = scripted_reply(prompt, tokens)
    received, deltas, timed_out = "", [], 0
    async with websockets.connect(emulator.url, max_size=None) as ws:
        mark = len(reports.durations)
        sent = time.monotonic()
        await ws.send(json.dumps({"action": "sendtext", "text": text}))
        async with asyncio.timeout(120):
            while mode != "serial" or received != expected:  # the article's loop sends no end frame
                frame = json.loads(await ws.recv())
                if isinstance(frame, str):
                    deltas.append(time.monotonic())
                    received += frame
                elif frame.get("type") == "end":
                    break
                elif frame.get("message") == "Endpoint request timed out":
                    timed_out += 1  # API Gateway's, past 29 s; the handler streams on, as on AWS
                else:
                    raise RuntimeError(f"unexpected frame: {frame}")
        await reports.after(mark + invocations(mode) - 2)
    # Every invocation's REPORT ($disconnect's last), so the next reply's are the next ones counted. The reply's
    # streaming invocation is the longest of them (SendText's own, in relay mode, takes milliseconds).
    await reports.after(mark + invocations(mode) - 1)
    handler_ms = max(reports.durations[mark:])
    if received != expected:
        raise RuntimeError(f"{mode}: the reply arrived damaged ({len(received)} of {len(expected)} characters)")
    record = await standin.wait_ended(text)
    assert record.first_chunk_at is not None and record.last_chunk_at is not None
    return Sample(
        stream_ms=(record.last_chunk_at - record.first_chunk_at) * 1000,
        first_frame_ms=(deltas[0] - record.first_chunk_at) * 1000,
        overhead_ms=(deltas[-1] - record.last_chunk_at) * 1000,
        frames=len(deltas),
        handler_ms=handler_ms,
        timed_out=timed_out,
        send_to_first_frame_ms=((deltas[0] - sent) - (record.first_chunk_at - record.started_at)) * 1000,
    )


async def frame_overhead_ms(emulator: LocalCloud, frames: int = 300) -> float:
    """Median time from an HTTP POST to @connections to the frame at the WebSocket client (L must be 0)."""
    samples = []
    async with websockets.connect(emulator.url) as ws, aiohttp.ClientSession() as session:
        (connection_id,) = emulator.stage.registry.open
        url = f"{emulator.stage.endpoint}/{emulator.api.stage}/@connections/{connection_id}"
        for i in range(frames):
            started = time.monotonic()
            post = asyncio.ensure_future(session.post(url, data=json.dumps(f"frame {i}")))
            await ws.recv()
            samples.append((time.monotonic() - started) * 1000)
            (await post).release()
    return statistics.median(samples)
