"""`python -m bench.caching` (`make bench SECTION=caching`): what prompt caching saves on a long conversation, and
the first frame through ConverseStream against the article's call.

Cost: the 50-turn conversation of the conversations bench's turn sizes (200-character questions, 200-token
replies), HistoryMaxTokens 8,000 so the history is trimmed from about turn 30, on Claude Haiku 4.5 (4,096-token
cache minimum). Each turn's messages are built by src/ (conversation.history, reply.anthropic) and sent by src/'s
Bedrock client to the stand-in, which models Bedrock's prompt cache; every token figure is the usage the stand-in
reports. Three ways: no caching (PromptCaching=off), caching with cache-aware trimming (PromptCaching=on), and
caching with one-turn trimming (the history trimmed by as little as fits, every turn). Turns 10 to 50 are priced
at Haiku 4.5's list prices per million tokens: input $1, cache write $1.25, cache read $0.10.

First frame: main.yml + src/ in the emulator with ModelApi=invoke and with ModelApi=converse side by side (one
stand-in answering at once), the client's send to its first delta, alternating, median of REPS each.
Writes bench/caching.json and prints the tables.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

import websockets

from bench.tables import caching_table
from emulator import template
from emulator.awslambda.runtime import stop_forkserver
from emulator.bedrock.background import BackgroundStandIn
from emulator.bedrock.caching import PromptCache
from emulator.bedrock.server import BedrockStandIn
from emulator.cloud import LocalCloud, function_environment

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("caching.json")
MODEL = "jp.anthropic.claude-haiku-4-5-20251001-v1:0"
TURNS, PRICED_FROM, BUDGET = 50, 10, 8000
PRICES = {"input": 1.00, "cache_write": 1.25, "cache_read": 0.10}  # $ per million tokens, Haiku 4.5
WAYS = {"none": "no caching", "stable": "caching, cache-aware trimming", "one_turn": "caching, one-turn trimming"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.caching", description=__doc__)
    parser.add_argument("--reps", type=int, default=15, help="first-frame replies per API (default %(default)s)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="(default bench/caching.json)")
    return parser.parse_args(argv)


def _src(endpoint: str):
    """src/'s modules, imported as a function would import them (its environment first)."""
    os.environ.update(
        MODEL_ID=MODEL,
        TABLE_NAME="bench",
        AWS_DEFAULT_REGION="ap-northeast-1",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME=endpoint,
    )
    sys.path.insert(0, str(ROOT / "src"))
    from conversation import history, store
    from reply import bedrock
    from reply.outcome import Outcome

    return history, store, bedrock, Outcome


def question(number: int) -> str:
    text = f"[standin tokens=200] Question {number}: "
    return text + "q" * (200 - len(text))


def conversation(standin: BackgroundStandIn, way: str) -> list[dict]:
    """One 50-turn conversation: each turn's usage as the stand-in reported it."""
    history, store, bedrock, Outcome = _src(standin.url)
    standin.standin.cache = PromptCache()  # each way starts cold
    bedrock.PROMPT_CACHING = way != "none"
    stored: list = []
    usages = []
    for number in range(1, TURNS + 1):
        text = question(number)
        messages, kept = history.messages(reversed(stored), text, BUDGET, stable=way == "stable")
        stream, read = bedrock.open_stream(messages, MODEL)
        outcome, pieces = Outcome(), []
        for event in stream:
            if (piece := read(event, outcome)) is not None:
                pieces.append(piece)
        reply = "".join(pieces)
        stored.append(store.Turn("bench", number, "-", text, reply, "complete", output_tokens=outcome.output_tokens))
        usages.append(
            {
                "turn": number,
                "history_turns": kept,
                "input": outcome.input_tokens,
                "cache_read": outcome.cache_read_tokens or 0,
                "cache_write": outcome.cache_write_tokens or 0,
            }
        )
    return usages


def priced(usages: list[dict]) -> dict:
    turns = [u for u in usages if u["turn"] >= PRICED_FROM]
    tokens = {kind: sum(u[kind] for u in turns) for kind in ("input", "cache_read", "cache_write")}
    dollars = sum(tokens[kind] * PRICES[kind] for kind in tokens) / 1e6
    return {**tokens, "dollars": round(dollars, 6), "sent": sum(tokens.values())}


async def first_frames(reps: int) -> dict[str, float]:
    standin = BedrockStandIn(rate=0, ttft_ms=0)
    await standin.start()
    gateways = {
        api: LocalCloud(template.load(ROOT / "main.yml", {"ModelApi": api}), function_environment(standin.url), port=0)
        for api in ("invoke", "converse")
    }
    samples: dict[str, list[float]] = {api: [] for api in gateways}
    try:
        for gateway in gateways.values():
            await gateway.start()
        for rep in range(-2, reps):  # two rounds to warm every environment, not measured
            for api, gateway in gateways.items():
                async with websockets.connect(gateway.url) as ws:
                    started = time.monotonic()
                    await ws.send(json.dumps({"action": "sendtext", "text": f"[standin tokens=8] First frame {rep}"}))
                    first = None
                    while isinstance(frame := json.loads(await ws.recv()), str):
                        first = first or time.monotonic()
                    assert frame["type"] == "end", frame
                if rep >= 0:
                    samples[api].append((first - started) * 1000)
    finally:
        for gateway in gateways.values():
            await gateway.stop()
        await standin.stop()
        stop_forkserver()
    return {api: round(statistics.median(values), 2) for api, values in samples.items()}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    with BackgroundStandIn(rate=0, ttft_ms=0) as standin:
        turns = {way: conversation(standin, way) for way in WAYS}
    ways = {way: priced(usages) for way, usages in turns.items()}
    frames = asyncio.run(first_frames(args.reps))
    load = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    result = {
        "model": MODEL,
        "turns": TURNS,
        "priced_from": PRICED_FROM,
        "history_max_tokens": BUDGET,
        "prices": PRICES,
        "ways": ways,
        "per_turn": turns,
        "first_frame_ms": frames,
        "first_frame_reps": args.reps,
        "load_average": load,
        "wall_s": round(time.monotonic() - started, 1),
    }
    print(caching_table(result))
    args.output.write_text(json.dumps(result, indent=1) + "\n")
    print(f"Wrote {args.output} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
