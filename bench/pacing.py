"""Frame pacing (issue 28): the relay at FrameIntervalMs=0 (every delta as soon as the sender is free) against
main.yml's default interval, through the emulator.

Per (interval, model rate, post latency L) cell: posts per second per reply ((delta frames + the end frame) over
the model's stream time: what one streaming reply costs of API Gateway's account-wide requests per second), the
last delta's delay after the model's last chunk, and the first frame's delay after the model's first chunk. The
reply is 400 tokens, a typical chat answer: long enough that the first and last frames (which pacing never delays)
do not swamp the rate. `make bench SECTION=pacing` (3 repetitions per cell, about 4 minutes on 2 cores); bench
docs and docs/capacity.md quote its table; writes bench/pacing.json.
"""

import statistics

from bench import streams
from bench.tables import PACING_LATENCIES as LATENCIES
from bench.tables import RATES
from emulator.bedrock.server import BedrockStandIn
from emulator.template import load

TOKENS = 400


def default_interval_ms() -> int:
    return int(load(streams.ROOT / "main.yml").functions["StreamReplyFunction"].environment["FRAME_INTERVAL_MS"])


async def measure(standin: BedrockStandIn, reports: streams.Reports, reps: int, tokens: int = TOKENS) -> list[dict]:
    cells = []
    for interval in (0, default_interval_ms()):
        for latency in LATENCIES:
            async with streams.gateway("relay", standin, latency, interval) as emulator:
                await streams.reply(emulator, standin, reports, "relay", "[standin tokens=8] warm", 8)
                for rate in RATES:
                    samples = []
                    for rep in range(reps):
                        text = f"[standin tokens={tokens} rate={rate} ttft_ms=0] Plan a trip ({interval} {rate} {rep})"
                        samples.append(await streams.reply(emulator, standin, reports, "relay", text, tokens))
                    cells.append(cell(interval, rate, latency, samples))
                    print(line(cells[-1]), flush=True)
    return cells


def cell(interval: int, rate: int, latency: int, samples: list[streams.Sample]) -> dict:
    posts = [(s.frames + 1) / (s.stream_ms / 1000) for s in samples]
    return {
        "interval_ms": interval,
        "tok_s": rate,
        "latency_ms": latency,
        "reps": len(samples),
        "stream_ms": round(statistics.median(s.stream_ms for s in samples), 1),
        "frames": statistics.median(s.frames for s in samples),
        "posts_per_s": round(statistics.median(posts), 2),
        "last_delta_ms": {
            "median": round(statistics.median(s.overhead_ms for s in samples), 1),
            "max": round(max(s.overhead_ms for s in samples), 1),
        },
        "first_frame_ms": round(statistics.median(s.first_frame_ms for s in samples), 1),
    }


def line(c: dict) -> str:
    return (
        f"  interval {c['interval_ms']:>3} ms  {c['tok_s']:>4} tok/s  L={c['latency_ms']:>2} ms  "
        f"posts/s {c['posts_per_s']:>6.1f}  frames {c['frames']:>4.0f}  "
        f"last delta +{c['last_delta_ms']['median']:.1f} ms (max {c['last_delta_ms']['max']:.1f})  "
        f"first +{c['first_frame_ms']:.1f} ms"
    )
