"""People chatting (issue 28): many simulated people, each on a connection of their own, each sending a few
messages with think time between them, through the emulator (main.yml + src/ + the Bedrock stand-in, as `make
local` serves them, with the template's defaults: frame pacing, the daily budget, the reply cap).

Per reply: intact (the string frames join into exactly the scripted reply, then `end`), posts per second while it
streams ((delta frames + end) over the model's stream time: its share of API Gateway's account rate), the first
frame's delay after the message was sent, and the last delta's delay after the model's last chunk; percentiles
over every reply. Bounded: PEOPLE x MESSAGES replies, loopback only, and a timeout on every wait.

    make load                                      # 40 people, 3 messages each, about 2 s of thinking
    python -m bench.chatters --people 10 --messages 2
Writes bench/chatters.json; bench/report.py puts it on docs/performance.md.
"""

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import websockets

from emulator import template
from emulator.awslambda.runtime import stop_forkserver
from emulator.bedrock.directives import parse_directives
from emulator.bedrock.script import scripted_reply
from emulator.bedrock.server import BedrockStandIn
from emulator.cloud import LocalCloud, function_environment

ROOT = Path(__file__).parents[1]
RESULTS = Path(__file__).with_name("chatters.json")
ARTICLE = "Hello, AI! What you can do?"


@dataclass
class Turn:
    intact: bool
    frames: int
    posts_per_s: float
    first_frame_ms: float  # the message sent -> its first delta
    last_delta_ms: float  # the model's last chunk -> the last delta


async def _person(url: str, standin: BedrockStandIn, person: int, messages: int, think_s: float, tokens: int):
    """One person: a connection, `messages` messages, each read to its end, thinking between them."""
    rng = random.Random(person)  # the same run every time
    turns = []
    async with websockets.connect(url, open_timeout=60, max_size=None) as ws:
        for n in range(messages):
            await asyncio.sleep(rng.uniform(0.5, 1.5) * think_s if n else rng.uniform(0, think_s))
            text = f"[standin tokens={tokens + (person + n) % 17}] Person {person}, message {n}: {ARTICLE}"
            sent, deltas, received = time.monotonic(), [], ""
            await ws.send(json.dumps({"action": "sendtext", "text": text, **({"new": True} if n == 0 else {})}))
            async with asyncio.timeout(120):
                while isinstance(frame := json.loads(await ws.recv()), str):
                    deltas.append(time.monotonic())
                    received += frame
            prompt, directives = parse_directives(text)
            record = await standin.wait_ended(text)
            stream_s = max((record.last_chunk_at or 0) - (record.first_chunk_at or 0), 1e-3)
            turns.append(
                Turn(
                    intact=frame.get("type") == "end" and received == scripted_reply(prompt, directives.tokens),
                    frames=len(deltas),
                    posts_per_s=(len(deltas) + 1) / stream_s,
                    first_frame_ms=((deltas[0] if deltas else time.monotonic()) - sent) * 1000,
                    last_delta_ms=((deltas[-1] if deltas else sent) - (record.last_chunk_at or sent)) * 1000,
                )
            )
    return turns


def percentiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
    return {"p50": round(cuts[49], 1), "p95": round(cuts[94], 1), "p99": round(cuts[98], 1)}


async def run(people: int, messages: int, think_s: float, tokens: int, rate: float, post_latency_ms: float) -> dict:
    standin = BedrockStandIn(rate=rate, ttft_ms=300)
    bedrock = await standin.start()
    cloud = LocalCloud(template.load(ROOT / "main.yml"), function_environment(bedrock), port=0,
                       post_latency_ms=post_latency_ms)  # fmt: skip
    await cloud.start()
    started = time.monotonic()
    try:
        runs = await asyncio.gather(*(_person(cloud.url, standin, p, messages, think_s, tokens) for p in range(people)))
    finally:
        wall = time.monotonic() - started
        await cloud.stop()
        await standin.stop()
        stop_forkserver()
    turns = [turn for person in runs for turn in person]
    return {
        "people": people,
        "messages": messages,
        "think_s": think_s,
        "tokens": tokens,
        "tok_s": rate,
        "post_latency_ms": post_latency_ms,
        "replies": len(turns),
        "intact": sum(turn.intact for turn in turns),
        "wall_s": round(wall, 1),
        "posts_per_s": percentiles([turn.posts_per_s for turn in turns]),
        "frames": percentiles([turn.frames for turn in turns]),
        "first_frame_ms": percentiles([turn.first_frame_ms for turn in turns]),
        "last_delta_ms": percentiles([turn.last_delta_ms for turn in turns]),
        "python": sys.version.split()[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chatters", description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=40, help="each on a connection of their own (default 40)")
    parser.add_argument("--messages", type=int, default=3, help="per person (default 3)")
    parser.add_argument("--think-s", type=float, default=2.0, help="mean seconds between a reply and the next")
    parser.add_argument("--tokens", type=int, default=150, help="reply length in pieces, +0..16 (default 150)")
    parser.add_argument("--rate", type=float, default=150.0, help="the stand-in's tokens/s (default 150)")
    parser.add_argument("--post-latency-ms", type=float, default=10.0, help="each @connections POST (default 10)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.people, args.messages, args.think_s, args.tokens, args.rate, args.post_latency_ms))
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "python"}, indent=1))
    print(f"Wrote {args.output}")
    return 0 if result["intact"] == result["replies"] else 1


if __name__ == "__main__":
    sys.exit(main())
