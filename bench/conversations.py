"""`python -m bench.conversations` (`make bench SECTION=conversations`): what a conversation costs per turn.

In the emulator (main.yml + src/, the Bedrock stand-in at ttft 0, the local DynamoDB), one warm SendText
environment, for a connection with no history (its first message starts a conversation) and for a connection
that holds a conversation of 1, 10 and 50 stored turns (seeded directly in the table: 200-character questions,
800-character replies of 200 tokens):
  dynamodb       requests per turn, by operation (counted at the local DynamoDB)
  first_frame_ms the client's first delta - its `sendtext` send (median of REPS), and its difference from the
                 connection with no history
  query_ms       the same Query SendText makes, timed alone against the local DynamoDB (dynalite): how much of
                 the difference is the store's own cost
  input_tokens   what the model was sent (the stand-in's estimate), to compare with HistoryMaxTokens
Writes bench/conversations.json and prints a table. About half a minute.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import websockets

from bench.tables import conversations_table
from emulator import template
from emulator.awslambda.runtime import stop_forkserver
from emulator.bedrock.server import BedrockStandIn
from emulator.cloud import LocalCloud, function_environment
from emulator.services import local

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("conversations.json")
STORED = (0, 1, 10, 50)  # 0: a connection with no history (its first message starts a conversation)
# The conversation store's own cost: the daily budget's meter off, and prompt caching off so "input tokens sent"
# counts every token sent (with caching, Bedrock's input_tokens leaves out the cached part). The defaults (the
# meter on) are measured too, at 10 stored turns, beside it.
STORE_ALONE = {"DailyTokenBudget": "0", "MaxRepliesInFlight": "0", "PromptCaching": "off"}
NOW = int(time.time())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.conversations", description=__doc__)
    parser.add_argument("--reps", type=int, default=15, help="turns measured per cell (default %(default)s)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="(default bench/conversations.json)")
    return parser.parse_args(argv)


def seed(client, table: str, conversation_id: str, turns: int) -> None:
    """`turns` complete turns, as SendText stores them."""
    for number in range(1, turns + 1):
        client.put_item(
            TableName=table,
            Item={
                "pk": {"S": conversation_id},
                "sk": {"N": str(number)},
                "owner": {"S": "-"},
                "user": {"S": f"Question {number}: " + "q" * 186},
                "assistant": {"S": f"Answer {number}: " + "a" * 788},
                "status": {"S": "complete"},
                "stopReason": {"S": "end_turn"},
                "inputTokens": {"N": "100"},
                "outputTokens": {"N": "200"},
                "startedAt": {"N": str(NOW * 1000)},
                "deadlineAt": {"N": str(NOW * 1000)},
                "requestId": {"S": "seeded"},
                "expiresAt": {"N": str(NOW + 86400)},
            },
        )


def hold(client, table: str, connection_id: str, conversation_id: str) -> None:
    """The connection's record, as a first message would leave it: later messages are the steady state."""
    client.put_item(
        TableName=table,
        Item={
            "pk": {"S": f"connection#{connection_id}"},
            "sk": {"N": "0"},
            "conversationId": {"S": conversation_id},
            "expiresAt": {"N": str(NOW + 3600)},
        },
    )


async def one_turn(cloud: LocalCloud, client, table: str, stored: int, rep: int) -> tuple[float, Counter, int]:
    conversation_id = f"bench-{stored:02d}-{rep:03d}".ljust(32, "x")
    seed(client, table, conversation_id, stored)
    async with websockets.connect(cloud.url) as ws:
        (connection_id,) = cloud.stage.registry.open
        if stored:
            hold(client, table, connection_id, conversation_id)
        before = local.requests()
        started = time.monotonic()
        await ws.send(json.dumps({"action": "sendtext", "text": f"[standin tokens=8] Turn {rep} after {stored}"}))
        first = None
        while isinstance(frame := json.loads(await ws.recv()), str):
            first = first or time.monotonic()
        assert frame.get("type") == "end" and (frame["conversationId"] == conversation_id or not stored), frame
        await asyncio.sleep(0.05)  # the $disconnect of the previous connection is not in the next count
    used = local.requests() - before
    return (first - started) * 1000, used, frame["usage"]["input_tokens"]


def query_ms(client, table: str, conversation_id: str) -> float:
    """SendText's history Query, as src/store.py's newest_first(for_reply=True) sends it (src/ is not imported:
    its modules need a function's environment), timed alone: median of 5."""
    request = {
        "TableName": table,
        "KeyConditionExpression": "pk = :id AND sk > :zero",
        "ExpressionAttributeValues": {":id": {"S": conversation_id}, ":zero": {"N": "0"}},
        "ScanIndexForward": False,
        "ConsistentRead": True,
        "Limit": 100,
        "ProjectionExpression": "pk, sk, #owner, #user, assistant, #status, outputTokens, deadlineAt, expiresAt",
        "ExpressionAttributeNames": {"#owner": "owner", "#user": "user", "#status": "status"},
    }
    samples = []
    for _ in range(5):
        started = time.monotonic()
        client.query(**request)
        samples.append((time.monotonic() - started) * 1000)
    return statistics.median(samples)


async def measure(reps: int, parameters: dict[str, str], stored_turns: tuple[int, ...] = STORED) -> list[dict]:
    standin = BedrockStandIn(rate=0, ttft_ms=0)
    await standin.start()
    api = template.load(ROOT / "main.yml", parameters)
    cloud = LocalCloud(api, function_environment(standin.url), port=0)
    await cloud.start()
    client = cloud.services.client("dynamodb")
    table = cloud.services.resources[0].name
    cells = []
    try:
        await one_turn(cloud, client, table, 0, 999)  # a cold start, not measured
        for stored in stored_turns:
            await one_turn(cloud, client, table, stored, reps)  # each path once first, not measured
            samples = [await one_turn(cloud, client, table, stored, rep) for rep in range(reps)]
            counts = Counter()
            for _, used, _ in samples:
                counts.update(used)
            cells.append(
                {
                    "stored_turns": stored,
                    "reps": reps,
                    "first_frame_ms": round(statistics.median(s[0] for s in samples), 2),
                    "dynamodb_per_turn": {
                        op.rsplit(".", 1)[-1]: round(n / reps, 2) for op, n in sorted(counts.items())
                    },
                    "input_tokens": samples[0][2],
                    "query_ms": round(query_ms(client, table, f"bench-{stored:02d}-000".ljust(32, "x")), 2),
                }
            )
    finally:
        await cloud.stop()
        await standin.stop()
        stop_forkserver()
    return cells


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    cells = asyncio.run(measure(args.reps, STORE_ALONE))
    with_meter = asyncio.run(measure(args.reps, {}, (10,)))[0]
    load = [round(load_before, 1), round(os.getloadavg()[0], 1)]  # other work on the machine skews every figure
    print(conversations_table(cells, with_meter))
    print(f"Load average (1 min) before and after: {load[0]}, {load[1]}")
    result = {
        "cells": cells,
        "with_meter": with_meter,
        "load_average": load,
        "wall_s": round(time.monotonic() - started, 1),
    }
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"Wrote {args.output} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
