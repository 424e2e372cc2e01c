"""`python -m bench.listing` (`make bench SECTION=list`): what the conversation list (issue 24) costs.

In the emulator (main.yml with Auth=cognito and the local Cognito, src/, the Bedrock stand-in at ttft 0, dynalite
with the byOwner index), one signed-in principal, warm environments:
  list_ms        the client's `{"action": "conversations"}` send to its answer (one page of 25), median of REPS,
                 for a principal with 10, 100 and 1,000 conversations (list items seeded in the table)
  per_turn       DynamoDB requests per turn of a conversation with history and the first frame's median, side by
                 side: `before`, src/ as it was before the list (git BEFORE, served by the same main.yml), and
                 `after`, src/ as it is
Writes bench/listing.json and prints a table. About a minute.
"""

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from io import BytesIO
from pathlib import Path

import websockets

from bench import section
from bench.tables import listing_table
from emulator import template
from emulator.awslambda.runtime import stop_forkserver
from emulator.bedrock.server import BedrockStandIn
from emulator.cloud import LocalCloud, function_environment
from emulator.services import local
from emulator.services.cognito import LocalCognito

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("listing.json")
BEFORE = "72c62c9"  # the last commit before the conversation list: its src/ is the `before` column
SIZES = (10, 100, 1000)
PASSWORD = "Bench-passw0rd!"
NOW_MS = int(time.time() * 1000)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.listing", description=__doc__)
    parser.add_argument("--reps", type=int, default=20, help="answers or turns measured per cell (%(default)s)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="(default bench/listing.json)")
    return parser.parse_args(argv)


def seed(client, table: str, owner: str, start: int, count: int) -> None:
    """List items as StreamReply leaves them, for `owner` (who then has start + count)."""
    for n in range(start, start + count):
        client.put_item(
            TableName=table,
            Item={
                "pk": {"S": f"conv#bench-{n:06d}".ljust(37, "x")},
                "sk": {"N": "0"},
                "owner": {"S": owner},
                "listOwner": {"S": owner},
                "title": {"S": f"Conversation {n}: a title of about sixty characters, cut on a word"},
                "updatedAt": {"N": str(NOW_MS - n * 1000)},
                "turns": {"N": "3"},
                "expiresAt": {"N": str(NOW_MS // 1000 + 86400)},
            },
        )


def token(cognito: LocalCognito, username: str) -> tuple[str, str]:
    """A user in the local Cognito, signed in: (access token, sub)."""
    client, pool, app = cognito.client(), cognito.outputs["UserPool"], cognito.outputs["UserPoolClient"]
    client.admin_create_user(UserPoolId=pool, Username=username, MessageAction="SUPPRESS")
    client.admin_set_user_password(UserPoolId=pool, Username=username, Password=PASSWORD, Permanent=True)
    auth = client.initiate_auth(
        ClientId=app, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD}
    )["AuthenticationResult"]["AccessToken"]
    attributes = client.admin_get_user(UserPoolId=pool, Username=username)["UserAttributes"]
    return auth, next(a["Value"] for a in attributes if a["Name"] == "sub")


async def list_ms(ws) -> float:
    started = time.monotonic()
    await ws.send(json.dumps({"action": "conversations"}))
    frame = json.loads(await ws.recv())
    assert frame["type"] == "conversations" and len(frame["conversations"]) > 0, frame
    return (time.monotonic() - started) * 1000


async def turn(ws, text: str) -> tuple[float, Counter]:
    before = local.requests()
    started = time.monotonic()
    await ws.send(json.dumps({"action": "sendtext", "text": text}))
    first = None
    while isinstance(frame := json.loads(await ws.recv()), str):
        first = first or time.monotonic()
    assert frame.get("type") == "end", frame
    return (first - started) * 1000, local.requests() - before


async def serve(standin: BedrockStandIn, code_dir: Path | None):
    cognito = LocalCognito(template.DEFAULT_REGION)
    api = template.load(ROOT / "main.yml", {"Auth": "cognito"}, code_dir=code_dir, provision=cognito.provision)
    gateway = LocalCloud(api, {**function_environment(standin.url), **cognito.environment}, port=0)
    await gateway.start()
    return gateway, cognito


async def per_turn(standin: BedrockStandIn, code_dir: Path | None, reps: int) -> dict:
    gateway, cognito = await serve(standin, code_dir)
    try:
        access, _ = await asyncio.to_thread(token, cognito, "turns")
        async with websockets.connect(gateway.url, subprotocols=["bedrock-ws-chat", access]) as ws:
            for n in range(3):  # warm, and a conversation with history
                await turn(ws, f"[standin tokens=8] Warm-up {n}")
            samples = [await turn(ws, f"[standin tokens=8] Turn {n}") for n in range(reps)]
    finally:
        await gateway.stop()
    counts = Counter()
    for _, used in samples:
        counts.update(used)
    return {
        "first_frame_ms": round(statistics.median(s[0] for s in samples), 2),
        "dynamodb_per_turn": {op.rsplit(".", 1)[-1]: round(n / reps, 2) for op, n in sorted(counts.items())},
    }


async def listing(standin: BedrockStandIn, reps: int) -> list[dict]:
    gateway, cognito = await serve(standin, None)
    client, table = gateway.services.client("dynamodb"), gateway.services.resources[0].name
    cells, seeded = [], 0
    try:
        access, sub = await asyncio.to_thread(token, cognito, "lister")
        async with websockets.connect(gateway.url, subprotocols=["bedrock-ws-chat", access]) as ws:
            for size in SIZES:
                await asyncio.to_thread(seed, client, table, sub, seeded, size - seeded)
                seeded = size
                await list_ms(ws)  # warm
                samples = [await list_ms(ws) for _ in range(reps)]
                cells.append({"conversations": size, "reps": reps, "list_ms": round(statistics.median(samples), 2)})
    finally:
        await gateway.stop()
    return cells


def before_src(directory: Path) -> Path:
    """src/ as it was at BEFORE, unpacked into `directory`."""
    archive = subprocess.run(["git", "archive", BEFORE, "src"], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
    return directory / "src"


async def measure(reps: int) -> dict:
    standin = BedrockStandIn(rate=0, ttft_ms=0)
    await standin.start()
    try:
        with tempfile.TemporaryDirectory() as directory:
            before = await per_turn(standin, before_src(Path(directory)), reps)
        after = await per_turn(standin, None, reps)
        cells = await listing(standin, reps)
    finally:
        await standin.stop()
        stop_forkserver()
    return {"list": cells, "per_turn": {"before": before, "after": after}, "before_commit": BEFORE}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return section.run(measure(args.reps), listing_table, args.output)


if __name__ == "__main__":
    sys.exit(main())
