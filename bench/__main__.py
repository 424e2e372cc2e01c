"""`python -m bench [--full] [--reps N] [--tokens N]`: see bench/__init__.py."""

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

from bench import first_frame, pacing, static, streams
from bench.tables import LATENCIES, RATES, first_frame_table, pacing_table, relay_table

MODES = ("serial", "relay")
RESULTS = Path(__file__).with_name("results.json")
FIRST_FRAME_RESULTS = Path(__file__).with_name("first_frame.json")
PACING_RESULTS = Path(__file__).with_name("pacing.json")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--full", action="store_true", help="the 1024-token reply (about 25 minutes)")
    parser.add_argument("--tokens", type=int, help="reply length (default 96, or 1024 with --full)")
    parser.add_argument("--reps", type=int, default=9, help="repetitions per relay cell (default %(default)s)")
    parser.add_argument("--serial-reps", type=int, default=3, help="per serial cell (default %(default)s)")
    parser.add_argument("--output", type=Path, help="(default bench/results.json, or bench/first_frame.json)")
    parser.add_argument(
        "--section", choices=["all", "relay", "first-frame", "pacing"], default="all", help="run only one (default all)"
    )
    parser.add_argument("--pacing-reps", type=int, default=3, help="per frame-pacing cell (default %(default)s)")
    parser.add_argument("--warm-reps", type=int, default=25, help="first-frame warm replies per path")
    parser.add_argument("--cold-reps", type=int, default=5, help="first-frame cold replies per path")
    return parser.parse_args(argv)


def phase_rate(rate: int, tokens: int, rep: int, reps: int, latency_ms: int) -> float:
    """The stand-in's rate for repetition `rep`: the nominal rate, nudged so the repetitions' streams end at
    evenly spread points of one post cycle.

    The relay's last frame waits for the post in flight, so its completion overhead is L plus anywhere from 0 to
    L, decided by where in the post cycle the reply ends. With one steady rate every repetition would end at the
    same point, and a cell's median would show one arbitrary point of the cycle; stretching the stream by
    (rep/reps - 1/2) of a cycle samples the whole cycle evenly (the median is then the cycle's middle, what a
    user sees on average). The rate moves by at most L/2 over the stream time: a few percent for most cells.
    """
    stream_s = (tokens - 1) / rate
    return round((tokens - 1) / (stream_s + (rep / reps - 0.5) * latency_ms / 1000), 3)


def summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 2), "max": round(max(values), 2)}


async def measure(tokens: int, reps: dict[str, int]) -> tuple[list[dict], float]:
    cells: list[dict] = []
    overhead = float("nan")
    async with streams.measuring() as (standin, reports):
        for latency in LATENCIES:
            for mode in MODES:
                async with streams.gateway(mode, standin, latency) as emulator:
                    if latency == 0 and mode == "relay":
                        overhead = await streams.frame_overhead_ms(emulator)
                    # A cold start first, not measured: every cell runs in a warm environment.
                    await streams.reply(emulator, standin, reports, mode, f"[standin tokens=8] warm {mode}", 8)
                    for rate in RATES:
                        samples = []
                        for rep in range(reps[mode]):
                            pace = phase_rate(rate, tokens, rep, reps[mode], latency)
                            text = f"[standin tokens={tokens} rate={pace} ttft_ms=0] Plan a project ({rate} {rep})"
                            samples.append(await streams.reply(emulator, standin, reports, mode, text, tokens))
                        cells.append(cell(mode, rate, latency, samples))
                        print(line(cells[-1]), flush=True)
    return cells, overhead


def cell(mode: str, rate: int, latency: int, samples: list[streams.Sample]) -> dict:
    return {
        "mode": mode,
        "tok_s": rate,
        "latency_ms": latency,
        "reps": len(samples),
        "stream_ms": round(statistics.median(s.stream_ms for s in samples), 1),
        "overhead_ms": summary([s.overhead_ms for s in samples]),
        "first_frame_ms": summary([s.first_frame_ms for s in samples]),
        "frames": summary([s.frames for s in samples]),
        "handler_ms": summary([s.handler_ms for s in samples]),
        "timed_out_reps": sum(s.timed_out > 0 for s in samples),  # replies that outlasted the 29 s timeout
    }


def line(c: dict) -> str:
    return (
        f"  {c['mode']:<6} {c['tok_s']:>4} tok/s  L={c['latency_ms']:>2} ms  stream {c['stream_ms']:>7.0f} ms  "
        f"overhead {c['overhead_ms']['median']:>8.1f} ms (max {c['overhead_ms']['max']:.1f})  "
        f"frames {c['frames']['median']:>5.0f}  first {c['first_frame_ms']['median']:>5.1f} ms  "
        f"handler {c['handler_ms']['median']:>7.0f} ms"
        + (f"  ({c['timed_out_reps']} past API Gateway's 29 s)" if c["timed_out_reps"] else "")
    )


async def measure_pacing(reps: int) -> list[dict]:
    async with streams.measuring() as (standin, reports):
        return await pacing.measure(standin, reports, reps)


def run_pacing(args: argparse.Namespace) -> None:
    started = time.monotonic()
    print(f"Frame pacing: FrameIntervalMs 0 and {pacing.default_interval_ms()}, a {pacing.TOKENS}-token reply")
    cells = asyncio.run(measure_pacing(args.pacing_reps))
    print(pacing_table(cells))
    results = {"tokens": pacing.TOKENS, "cells": cells, "wall_s": round(time.monotonic() - started, 1)}
    PACING_RESULTS.write_text(json.dumps(results | {"python": sys.version.split()[0]}, indent=2) + "\n")
    print(f"Wrote {PACING_RESULTS}")


async def measure_first_frame(warm_reps: int, cold_reps: int) -> dict:
    async with streams.measuring() as (standin, reports):
        return await first_frame.measure(reports, standin, warm_reps, cold_reps)


def run_first_frame(args: argparse.Namespace) -> None:
    started = time.monotonic()
    print(f"Time to first frame: synchronous vs asynchronous, {args.warm_reps} warm and {args.cold_reps} cold each")
    results = asyncio.run(measure_first_frame(args.warm_reps, args.cold_reps))
    print(first_frame_table(results))
    output = args.output or FIRST_FRAME_RESULTS
    results |= {"wall_s": round(time.monotonic() - started, 1), "python": sys.version.split()[0]}
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"Wrote {output}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.section in ("all", "first-frame"):
        run_first_frame(args)
        if args.section == "first-frame":
            return 0
    if args.section in ("all", "pacing"):
        run_pacing(args)
        if args.section == "pacing":
            return 0
    tokens = args.tokens or (1024 if args.full else 96)
    started = time.monotonic()
    zip_bytes, zip_files = static.lambda_zip()
    import_ms = static.cold_import_ms()
    print(f"Lambda zip: {zip_bytes} bytes ({', '.join(zip_files)}); cold import of sendtext: {import_ms:.0f} ms")
    print(f"Cells: serial and relay x {RATES} tok/s x L {LATENCIES} ms; {args.reps} reps (relay), {args.serial_reps}")
    print(f"(serial), {tokens}-token reply")
    cells, overhead = asyncio.run(measure(tokens, {"relay": args.reps, "serial": args.serial_reps}))
    markdown, ratios = relay_table(cells)
    print()
    print(markdown)
    print(f"\nEmulator per-frame overhead (POST @connections -> client, L=0): {overhead:.2f} ms median")
    wall = time.monotonic() - started
    results = {
        "tokens": tokens,
        "cells": cells,
        "ratios": ratios,
        "zip_bytes": zip_bytes,
        "zip_files": zip_files,
        "import_ms": round(import_ms, 1),
        "emulator_frame_overhead_ms": round(overhead, 3),
        "wall_s": round(wall, 1),
        "python": sys.version.split()[0],
    }
    output = args.output or RESULTS
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"Wrote {output} in {wall:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
