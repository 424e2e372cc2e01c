"""`python -m bench.resume` (`make bench SECTION=resume`): what resuming a reply costs (issue 27).

In the emulator (main.yml + src/, the Bedrock stand-in, the local DynamoDB), warm environments:
  resume_ms    a reply's socket is closed after a few deltas; a second connection, already open, sends `resume`:
               the time from that send to the first `resume` frame (median and max of REPS). StreamReply learns of
               the resume at its next read of the control item, every 250 ms, so about half of that on average.
  dynamodb     requests per reply of 10 s (1,000 tokens at 100 a second), by operation, counted at the local
               DynamoDB: a reply that is never dropped, and one dropped and resumed once.
Writes bench/resume.json and prints a table. About a minute.
"""

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import websockets

from bench import section
from bench.tables import resume_table
from emulator import template
from emulator.awslambda.runtime import stop_forkserver
from emulator.bedrock.server import BedrockStandIn
from emulator.cloud import LocalCloud, function_environment
from emulator.services import local

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("resume.json")
LONG = "[standin tokens=1000 rate=100 ttft_ms=0]"  # a reply of 10 s
SHORT = "[standin tokens=200 rate=100 ttft_ms=0]"
POLL_S = 0.25  # src/reply/steering.py's POLL_S


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.resume", description=__doc__)
    parser.add_argument("--reps", type=int, default=15, help="resumes timed (default %(default)s)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="(default bench/resume.json)")
    return parser.parse_args(argv)


async def frame(ws: websockets.ClientConnection) -> object:
    return json.loads(await asyncio.wait_for(ws.recv(), 30))


async def until_end(ws: websockets.ClientConnection, text: str = "") -> str:
    """Read the reply's frames up to its end: the text they carry, after `text`."""
    while True:
        got = await frame(ws)
        if isinstance(got, str):
            text += got
        elif got.get("type") == "resume":
            text += got["text"]
        else:
            assert got.get("type") == "end", got
            return text


async def dropped(cloud: LocalCloud, prompt: str, phase: float = 0.0) -> tuple[float, str]:
    """One reply whose socket closes after 3 deltas and `phase` of a poll period more, resumed on a connection opened
    before: the time from `resume` to the first resume frame (ms), and the whole text the client ends up with.
    Spreading `phase` over the repetitions samples every point of StreamReply's poll cycle, which starts with the
    reply (a drop at one fixed point would measure one point of it)."""
    async with websockets.connect(cloud.url) as new:
        async with websockets.connect(cloud.url) as old:
            await old.send(json.dumps({"action": "sendtext", "text": prompt, "resumable": True}))
            conversation_id = (await frame(old))["conversationId"]
            held = "".join([await frame(old) for _ in range(3)])
            until = time.monotonic() + phase * POLL_S
            while (left := until - time.monotonic()) > 0:
                try:
                    held += json.loads(await asyncio.wait_for(old.recv(), left))
                except TimeoutError:
                    break
        started = time.monotonic()
        await new.send(json.dumps({"action": "resume", "conversationId": conversation_id, "from": len(held)}))
        first = await frame(new)
        elapsed = (time.monotonic() - started) * 1000
        assert first["type"] == "resume" and first["offset"] == len(held), first
        return elapsed, await until_end(new, held + first["text"])


async def counted(cloud: LocalCloud, prompt: str, drop: bool) -> Counter:
    """The local DynamoDB's requests during one 10-second reply (dropped and resumed once, or not)."""
    before = local.requests()
    if drop:
        await dropped(cloud, prompt)
    else:
        async with websockets.connect(cloud.url) as ws:
            await ws.send(json.dumps({"action": "sendtext", "text": prompt}))
            await until_end(ws)
    await asyncio.sleep(0.2)  # the $disconnects settle, so the next count starts clean
    return Counter({op.rsplit(".", 1)[-1]: n for op, n in (local.requests() - before).items()})


async def measure(reps: int) -> dict:
    standin = BedrockStandIn(rate=100, ttft_ms=0)
    await standin.start()
    cloud = LocalCloud(template.load(ROOT / "main.yml"), function_environment(standin.url), port=0)
    await cloud.start()
    try:
        await dropped(cloud, f"{SHORT} Warm up")  # cold starts, not measured
        samples = []
        for rep in range(reps):
            elapsed, text = await dropped(cloud, f"{SHORT} Resume {rep}", rep / reps)
            assert len(text) > 0
            samples.append(elapsed)
        plain = await counted(cloud, f"{LONG} Never dropped", drop=False)
        resumed = await counted(cloud, f"{LONG} Dropped once", drop=True)
    finally:
        await cloud.stop()
        await standin.stop()
        stop_forkserver()
    return {
        "reps": reps,
        "resume_ms": {"median": round(statistics.median(samples), 1), "max": round(max(samples), 1)},
        "reply_s": 10,
        "dynamodb_per_reply": {
            "never dropped": dict(sorted(plain.items())),
            "resumed once": dict(sorted(resumed.items())),
        },
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return section.run(measure(args.reps), resume_table, args.output)


if __name__ == "__main__":
    sys.exit(main())
