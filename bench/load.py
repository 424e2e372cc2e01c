"""Load test: N concurrent SendText streams through the emulator (main.yml + src/ + the Bedrock stand-in).

Measures whether every stream arrives intact and in order, the wall time from the first message to the last
end frame, and the emulator's peak memory: the gateway process (which also hosts the stand-in) plus every
execution environment and the forkserver, as the sum of PSS (shared pages split between the processes that
share them: the honest total) and of RSS (shared pages counted in every process: an overstatement).

Two rounds: the first starts an environment per concurrent stream (cold starts), the second reuses them warm.

    make load                                   # 200 streams, the stand-in at 60 tokens/s
    python -m bench.load --clients 20        # a quick run
"""

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import websockets

from emulator import template
from emulator.awslambda.runtime import stop_forkserver
from emulator.bedrock.script import scripted_reply
from emulator.bedrock.server import BedrockStandIn
from emulator.cloud import LocalCloud, function_environment

ROOT = Path(__file__).parents[1]
ARTICLE = "Hello, AI! What you can do?"


@dataclass
class Round:
    streams: int
    intact: int
    timed_out: int  # streams that got API Gateway's "Endpoint request timed out" frame (over 29 s)
    wall_s: float
    slowest_s: float
    environments: int
    peak_pss_mb: float
    peak_rss_mb: float


def _memory_kb(pid: int) -> tuple[int, int]:
    """(PSS, RSS) of one process in kB, from the kernel's per-process rollup."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0, 0
    fields = dict(line.split(":", 1) for line in text.splitlines()[1:])
    return int(fields["Pss"].split()[0]), int(fields["Rss"].split()[0])


async def _converse(url: str, tokens: int) -> tuple[bool, int, float]:
    """One client: the article's question with a reply `tokens` long. Intact: the string frames join into
    exactly the scripted reply and the end frame follows. API Gateway's own frames (`Endpoint request timed out`
    once a stream outlasts the 29 s integration timeout, as on AWS) are counted, not treated as the reply's."""
    started = time.monotonic()
    deltas: list[str] = []
    gateway_frames = 0
    async with websockets.connect(url, open_timeout=60, max_queue=None) as ws:
        await ws.send(json.dumps({"action": "sendtext", "text": f"[standin tokens={tokens}] {ARTICLE}"}))
        while True:
            frame = json.loads(await ws.recv())
            if isinstance(frame, str):
                deltas.append(frame)
            elif "connectionId" in frame:
                gateway_frames += 1
            else:
                break
    intact = frame.get("type") == "end" and "".join(deltas) == scripted_reply(ARTICLE, tokens)
    return intact, gateway_frames, time.monotonic() - started


async def _round(cloud: LocalCloud, clients: int, tokens: int) -> Round:
    peak = [0, 0]
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            # This process (the gateway and the stand-in), every environment, and the forkserver.
            sizes = [_memory_kb(pid) for pid in [os.getpid(), *cloud.runtime.pids()]]
            peak[0] = max(peak[0], sum(pss for pss, _ in sizes))
            peak[1] = max(peak[1], sum(rss for _, rss in sizes))
            await asyncio.sleep(0.1)

    sampler = asyncio.create_task(sample())
    started = time.monotonic()
    # Lengths differ from client to client, so a frame delivered to the wrong client would show.
    results = await asyncio.gather(*(_converse(cloud.url, tokens + n % 37) for n in range(clients)))
    wall = time.monotonic() - started
    done.set()
    await sampler
    return Round(
        streams=clients,
        intact=sum(ok for ok, _, _ in results),
        timed_out=sum(frames > 0 for _, frames, _ in results),
        wall_s=round(wall, 2),
        slowest_s=round(max(seconds for _, _, seconds in results), 2),
        environments=len(cloud.runtime.pids()) - 1,
        peak_pss_mb=round(peak[0] / 1024),
        peak_rss_mb=round(peak[1] / 1024),
    )


async def run(clients: int, tokens: int, rate: float, ttft_ms: float, post_latency_ms: float) -> list[Round]:
    standin = BedrockStandIn(rate=rate, ttft_ms=ttft_ms)
    bedrock = await standin.start()
    api = template.load(ROOT / "main.yml")
    cloud = LocalCloud(api, function_environment(bedrock), port=0, post_latency_ms=post_latency_ms)
    await cloud.start()
    try:
        return [await _round(cloud, clients, tokens) for _ in ("cold", "warm")]
    finally:
        await cloud.stop()
        await standin.stop()
        stop_forkserver()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--clients", type=int, default=200, help="concurrent streams (default %(default)s)")
    parser.add_argument("--tokens", type=int, default=100, help="reply length in pieces, +0..36 per client")
    parser.add_argument("--rate", type=float, default=60.0, help="stand-in tokens/s per stream (default %(default)s)")
    parser.add_argument("--ttft-ms", type=float, default=300.0, help="stand-in first-token delay (default %(default)s)")
    parser.add_argument("--post-latency-ms", type=float, default=0, help="@connections POST delay (default 0)")
    args = parser.parse_args()
    rounds = asyncio.run(run(args.clients, args.tokens, args.rate, args.ttft_ms, args.post_latency_ms))
    print(f"{args.clients} concurrent streams, {args.tokens}-{args.tokens + 36} tokens at {args.rate:g} tokens/s")
    header = ("round ", "   intact", " >29s", " wall s", "slowest s", " envs", " PSS MB", " RSS MB")
    print(" ".join(header))
    for name, r in zip(("cold", "warm"), rounds, strict=True):
        print(
            f"{name:<6} {r.intact:>4}/{r.streams:<4} {r.timed_out:>5} {r.wall_s:>7} {r.slowest_s:>9} "
            f"{r.environments:>5} {r.peak_pss_mb:>7} {r.peak_rss_mb:>7}"
        )
    return 0 if all(r.intact == r.streams for r in rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
