"""`python -m bench.report` (the last step of `make bench`): docs/performance.md from bench/*.json.

Also the one place the benches' figures become Markdown: each bench prints its table with these functions, and the
page is those same tables, so the page says exactly what the last run measured. The page is never edited by hand
(tests/unit/test_bench_report.py fails when it differs from what the JSON files render). A section whose JSON file
is missing is left out. Imports nothing from the emulator or src/: it reads JSON only.
"""

import argparse
import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PAGE = BENCH.parent / "docs" / "performance.md"
RATES = (50, 150, 400)  # tokens/s from the model
LATENCIES = (0, 10, 30, 60)  # ms each post to @connections takes
PACING_LATENCIES = (0, 10, 30)  # the pacing bench's post latencies (issue 28)
FIRST_FRAME_PATHS = {"serial": "synchronous (article)", "relay": "asynchronous (ships)"}
FIRST_FRAME_TARGET_MS = 25.0  # issue 10: the asynchronous path's warm median within this of the article's
READS = ("GetItem", "Query", "BatchGetItem")
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")
TURN_REQUESTS = (2, 3)  # reads, writes per turn of a conversation with history (issue 24: + the list item)
TURN_ADDED_MS = 15.0  # at most this added to the first frame by the longest history measured


def check(relay: dict) -> list[str]:
    """Issue #5's targets for one relay cell; the misses, as text."""
    latency, misses = relay["latency_ms"], []
    if relay["overhead_ms"]["median"] > 1.6 * latency + 5:
        misses.append(f"median overhead > 1.6·L+5 = {1.6 * latency + 5:.0f} ms")
    if relay["overhead_ms"]["max"] > 2 * latency + 10:
        misses.append(f"worst overhead > 2·L+10 = {2 * latency + 10:.0f} ms")
    chunk_interval_ms = 1000 / relay["tok_s"]
    if latency > chunk_interval_ms and relay["frames"]["median"] > relay["stream_ms"] / latency + 3:
        misses.append(f"frames > stream/L+3 = {relay['stream_ms'] / latency + 3:.0f}")
    return misses


def relay_table(cells: list[dict]) -> tuple[str, list[dict]]:
    """Markdown: serial and relay side by side per (rate, L), with the ratios and the targets; and the ratios."""
    rows = [
        "| tok/s | L ms | stream ms | overhead ms serial | overhead ms relay (max) | ratio | frames serial | "
        "frames relay | ratio | first frame ms relay | handler ms serial / relay | targets |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    by_key = {(c["mode"], c["tok_s"], c["latency_ms"]): c for c in cells}
    ratios = []
    for rate in RATES:
        for latency in LATENCIES:
            serial, relay = by_key[("serial", rate, latency)], by_key[("relay", rate, latency)]
            overhead_ratio = serial["overhead_ms"]["median"] / max(relay["overhead_ms"]["median"], 0.1)
            frames_ratio = serial["frames"]["median"] / relay["frames"]["median"]
            misses = check(relay)
            ratios.append(
                {
                    "tok_s": rate,
                    "latency_ms": latency,
                    "overhead": round(overhead_ratio, 1),
                    "frames": round(frames_ratio, 1),
                    "targets_met": not misses,
                    "misses": misses,
                }
            )
            rows.append(
                f"| {rate} | {latency} | {relay['stream_ms']:.0f} | {serial['overhead_ms']['median']:.1f} | "
                f"{relay['overhead_ms']['median']:.1f} ({relay['overhead_ms']['max']:.1f}) | {overhead_ratio:.0f}x | "
                f"{serial['frames']['median']:.0f} | {relay['frames']['median']:.0f} | {frames_ratio:.1f}x | "
                f"{relay['first_frame_ms']['median']:.1f} | {serial['handler_ms']['median']:.0f} / "
                f"{relay['handler_ms']['median']:.0f} | {'met' if not misses else '; '.join(misses)} |"
            )
    return "\n".join(rows), ratios


def first_frame_table(results: dict) -> str:
    rows = [
        "| path | warm median ms (min-max, n) | cold median ms (min-max, n) |",
        "|---|---:|---:|",
    ]
    for mode, name in FIRST_FRAME_PATHS.items():
        warm, cold = results[mode]["warm"], results[mode]["cold"]
        rows.append(
            f"| {name} | {warm['median']:.1f} ({warm['min']:.1f}-{warm['max']:.1f}, {warm['n']}) | "
            f"{cold['median']:.1f} ({cold['min']:.1f}-{cold['max']:.1f}, {cold['n']}) |"
        )
    verdict = "met" if results["target_met"] else "missed"
    rows.append(
        f"\nWarm median difference: {results['warm_median_difference_ms']:+.1f} ms (target <= "
        f"{FIRST_FRAME_TARGET_MS:.0f} ms: {verdict})"
    )
    return "\n".join(rows)


def _reads_writes(ops: dict[str, float]) -> tuple[float, float]:
    return sum(n for op, n in ops.items() if op in READS), sum(n for op, n in ops.items() if op in WRITES)


def conversations_table(cells: list[dict]) -> str:
    base = cells[0]["first_frame_ms"]
    rows = [
        "| stored turns | DynamoDB requests per turn | reads + writes | first frame ms (median) | added vs 0 | "
        "input tokens sent | local Query alone ms |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for c in cells:
        ops = c["dynamodb_per_turn"]
        reads, writes = _reads_writes(ops)
        listed = ", ".join(f"{op} {n:g}" for op, n in ops.items())
        rows.append(
            f"| {c['stored_turns']} | {listed} | {reads:g} + {writes:g} | {c['first_frame_ms']:.1f} | "
            f"{c['first_frame_ms'] - base:+.1f} | {c['input_tokens']} | {c['query_ms']:.1f} |"
        )
    with_history = [c for c in cells if c["stored_turns"]]
    requests_met = all(_reads_writes(c["dynamodb_per_turn"]) == TURN_REQUESTS for c in with_history)
    added = with_history[-1]["first_frame_ms"] - base
    rows.append(
        f"\nTargets: {TURN_REQUESTS[0]} reads + {TURN_REQUESTS[1]} writes per turn with history: "
        f"{'met' if requests_met else 'missed'}; at most {TURN_ADDED_MS:.0f} ms added at "
        f"{with_history[-1]['stored_turns']} turns: {'met' if added <= TURN_ADDED_MS else 'missed'} ({added:+.1f} ms)."
    )
    return "\n".join(rows)


LIST_ADDED_MS = 15.0  # issue 24: `conversations` at 1,000 conversations within this of the figure at 10


def listing_table(results: dict) -> str:
    """Markdown: the list's answer time by size, then a turn's requests and first frame before and after."""
    rows = ["| conversations | `conversations` answer ms (median) | vs 10 |", "|---:|---:|---:|"]
    cells = results["list"]
    for c in cells:
        rows.append(f"| {c['conversations']:,} | {c['list_ms']:.1f} | {c['list_ms'] - cells[0]['list_ms']:+.1f} |")
    rows += ["", "| src/ | DynamoDB requests per turn | reads + writes | first frame ms (median) |"]
    rows.append("|---|---|---:|---:|")
    for name, turn in results["per_turn"].items():
        ops = turn["dynamodb_per_turn"]
        reads, writes = _reads_writes(ops)
        listed = ", ".join(f"{op} {n:g}" for op, n in ops.items())
        rows.append(f"| {name} | {listed} | {reads:g} + {writes:g} | {turn['first_frame_ms']:.1f} |")
    added = cells[-1]["list_ms"] - cells[0]["list_ms"]
    rows.append(
        f"\nTarget: at most {LIST_ADDED_MS:.0f} ms more at {cells[-1]['conversations']:,} conversations than at "
        f"{cells[0]['conversations']}: {'met' if added <= LIST_ADDED_MS else 'missed'} ({added:+.1f} ms)."
    )
    return "\n".join(rows)


def authorizer_table(results: dict) -> str:
    rows = [
        "| key | warm ms (p99) | signature check ms | fresh key cache ms | cold start ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in ("rsa2048", "rsa4096"):
        r = results[name]
        rows.append(
            f"| RSA-{name[3:]} | {r['warm_ms']['median']:.2f} ({r['warm_ms']['p99']:.2f}) | "
            f"{r['verify_ms']['median']:.3f} | {r['cold_keys_ms']['median']:.2f} | {r['cold_start_ms']['median']:.0f} |"
        )
    verdict = "met" if results["target_met"] else "missed"
    rows.append(f"\nTarget: warm RSA-2048 median <= {results['target_warm_rsa2048_ms']:g} ms: {verdict}.")
    return "\n".join(rows)


CACHING_TARGET = 4.0  # issue 25: caching with cache-aware trimming at least this many times cheaper than none


def caching_table(results: dict) -> str:
    """The three ways side by side (tokens and dollars over the priced turns), then the first frame per API."""
    ways = results["ways"]
    base = ways["none"]["dollars"]
    names = {"none": "no caching", "stable": "caching, cache-aware trimming", "one_turn": "caching, one-turn trimming"}
    lines = [
        "| way | input (uncached) | cache write | cache read | input $ | vs no caching |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for way, name in names.items():
        cell = ways[way]
        lines.append(
            f"| {name} | {cell['input']:,} | {cell['cache_write']:,} | {cell['cache_read']:,} | "
            f"{cell['dollars']:.4f} | {base / cell['dollars']:.1f}x cheaper |"
        )
    frames = results["first_frame_ms"]
    lines += ["", "| API | first frame, ms (median) |", "|---|---:|"]
    lines += [f"| {api} | {ms:.1f} |" for api, ms in frames.items()]
    return "\n".join(lines)


def pacing_check(paced: dict, today: dict) -> list[str]:
    """Issue 28's targets for a paced cell; the misses, as text."""
    interval, latency, misses = paced["interval_ms"], paced["latency_ms"], []
    if paced["tok_s"] == 150 and paced["posts_per_s"] > 10:
        misses.append("posts/s > 10 at 150 tok/s")
    if paced["last_delta_ms"]["max"] > interval + latency + 5:
        misses.append(f"last delta > interval + L + 5 = {interval + latency + 5} ms")
    if paced["first_frame_ms"] > today["first_frame_ms"] + 5:
        misses.append("first frame later than today's")
    return misses


def pacing_table(cells: list[dict]) -> str:
    """Markdown: interval 0 and the default side by side per (rate, L), with the targets."""
    interval = max(c["interval_ms"] for c in cells)
    rows = [
        f"| tok/s | L ms | posts/s per reply, 0 / {interval} ms | frames | last delta after the model ms (max) | "
        "first frame ms | targets |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    by_key = {(c["interval_ms"], c["tok_s"], c["latency_ms"]): c for c in cells}
    for rate in RATES:
        for latency in PACING_LATENCIES:
            today, paced = by_key[(0, rate, latency)], by_key[(interval, rate, latency)]
            misses = pacing_check(paced, today)
            rows.append(
                f"| {rate} | {latency} | {today['posts_per_s']:.1f} / {paced['posts_per_s']:.1f} | "
                f"{today['frames']:.0f} / {paced['frames']:.0f} | "
                f"{today['last_delta_ms']['median']:.1f} ({today['last_delta_ms']['max']:.1f}) / "
                f"{paced['last_delta_ms']['median']:.1f} ({paced['last_delta_ms']['max']:.1f}) | "
                f"{today['first_frame_ms']:.1f} / {paced['first_frame_ms']:.1f} | "
                f"{'met' if not misses else '; '.join(misses)} |"
            )
    return "\n".join(rows)


def render_table(results: dict) -> str:
    """Markdown: ms to render each delta, by tenth of a long reply, streaming (per block) against whole."""
    head = "| | " + " | ".join(f"{n}/10" for n in range(1, 11)) + " |"
    rows = [head, "|---|" + "---:|" * 10]
    for mode, name in (("stream", "rendered per block (ships)"), ("full", "re-rendered whole (before)")):
        rows.append(f"| {name} | " + " | ".join(f"{ms:.1f}" for ms in results[mode]) + " |")
    return "\n".join(rows)


HEADER = """<!-- Generated by `make bench` (bench/report.py) from bench/*.json. Do not edit: run `make bench`. -->

# Performance

Figures from the last `make bench`, in the offline emulator on the development machine (Python {python}): they
compare designs under the same conditions, not what AWS will measure. `make bench` rewrites `bench/*.json` and
this page; `make bench SECTION=first-frame|relay|conversations|caching|authorizer` reruns one section, and the page is
rebuilt from whatever JSON files are there.
"""

RELAY = """
## The relay against the article's loop

The original article posts each delta with a synchronous `post_to_connection` inside the loop that reads the
Bedrock stream, so when deltas arrive faster than one post takes (each an HTTPS round trip, 10-60 ms from
Lambda) the reply falls further and further behind the model. The relay reads and posts at the same time: one
sender posts in order; while it is idle each delta goes out alone at once (the article's frames exactly), and the
deltas that arrive during a post are joined into the next frame. The client then sees the last delta at most about
two post latencies after the model sent it, however long the reply.

The Bedrock stand-in streams a {tokens}-token reply at 50, 150 and 400 tokens/s, the emulator's `@connections`
answers every post L ms late, and the article's loop (`bench/article_serial.py`, kept only as the baseline) and
the relay are served through the same `main.yml`. Medians of {relay_reps} repetitions for the relay and
{serial_reps} for the serial loop. "overhead" is the client's last delta minus the stand-in's last chunk;
"handler" is the streaming invocation's duration. Targets per relay cell: median overhead within 1.6 L + 5 ms,
worst within 2 L + 10 ms, frames within stream / L + 3.

{table}

{verdict} At {rate} tokens/s and L = {latency} ms the relay's overhead is {overhead:.0f}x lower and it sends
{frames:.1f}x fewer frames; the gap grows with the reply's length (`make bench FULL=1`: the article's 1024-token
reply, about 25 minutes). With that reply and L = 30 ms or more, the serial loop also outlasts API Gateway's 29 s
integration timeout. Each repetition's stream ends at a different point of the relay's post cycle
(`bench/__init__.py` says how), so a median is the middle of the cycle.

Also measured: the Lambda zip is {zip_bytes:,} bytes ({zip_files} files of ours, nothing else); a cold import
of the SendText handler (boto3 and its clients included) takes {import_ms:.0f} ms in a fresh interpreter, which
is what the emulator's `--cold-start real` charges; the emulator's own per-frame overhead (HTTP POST to
`@connections` to the frame at the client, L = 0) is {frame_overhead:.2f} ms median.
"""

FIRST_FRAME = """
## Time to the first frame

A message costs SendText's invocation, its conversation bookkeeping, the `Event` hop and StreamReply's
reservation before the model is asked ([architecture](architecture.md)). This measures the client's send to its
first delta, minus the stand-in's own request to first chunk, for the article's synchronous handler (the baseline,
no store) and for the path that ships: warm (one emulator, after a warm-up) and cold (a new emulator per reply, so
every environment starts cold; the emulator's default `--cold-start fast`, where a real Lambda cold start adds the
handler's import time to each environment). 8-token replies.

{table}
"""

CONVERSATIONS = """
## What a conversation turn costs

A connection with no history (its first message starts a conversation) against connections holding 1, 10 and 50
stored turns (200-character questions, 800-character replies of 200 tokens), warm environments, the stand-in
answering at once. DynamoDB requests are counted at the local DynamoDB (dynalite); "first frame" is the client's
first delta minus its send, median of {reps}; the last column is the history `Query` alone. A conversation's first
message reads no history and writes the connection's record instead: four requests, as every turn.

{table}
"""

LISTING = """
## The conversation list

A signed-in principal's `{{"action": "conversations"}}` (one page of 25, one `Query` on the byOwner index), warm,
with 10, 100 and 1,000 conversations (list items seeded in the table), median of {reps} answers; then what a turn
of a conversation with history costs with src/ as it was before the list (commit {before}) and as it is, side by
side in the same run: the one more write is the list item's `UpdateItem`, after the reply is stored.

{table}
"""

AUTHORIZER = """
## Sign-in: the authorizer

In process: warm (the issuer's keys cached), the signature check alone, a fresh key cache (the JWKS fetched over
loopback; on AWS add the issuer's own round trip) and a cold start (a new process: imports, fetch, check).

{table}
"""


CACHING = """
## Prompt caching on a long conversation

A {turns}-turn conversation with the conversations section's turn sizes, HistoryMaxTokens {budget:,} (the
history is trimmed from about turn 30), on {model} (4,096-token cache minimum). src/ builds and sends every
request; the stand-in models Bedrock's cache (exact prefix, minimum per cache point, 5-minute TTL) and every
figure is the usage it reported. Turns {priced_from} to {turns}, priced at Haiku 4.5's list prices (input
${input_price:.2f}, cache write ${write_price:.2f}, cache read ${read_price:.2f} per million tokens). "One-turn
trimming" drops as few turns as fit, so the history's first message changes every turn once it is full: every such
turn misses the cache and writes the whole history again at 1.25x. Cache-aware trimming moves the history's start
in steps of about a quarter of what fits ([models](models.md#prompt-caching)).

{table}

{verdict} First frame: the client's send to its first delta, {reps} replies per API, the stand-in answering at once.
"""


def _caching_section(results: dict) -> str:
    ways = results["ways"]
    ratio = ways["none"]["dollars"] / ways["stable"]["dollars"]
    met = "met" if ratio >= CACHING_TARGET else "missed"
    verdict = (
        f"Caching with cache-aware trimming costs {ratio:.1f}x less than no caching (target {CACHING_TARGET:.0f}x: "
        f"{met}); with one-turn trimming {ways['none']['dollars'] / ways['one_turn']['dollars']:.1f}x."
    )
    prices = results["prices"]
    return CACHING.format(
        turns=results["turns"],
        budget=results["history_max_tokens"],
        model=results["model"],
        priced_from=results["priced_from"],
        input_price=prices["input"],
        write_price=prices["cache_write"],
        read_price=prices["cache_read"],
        table=caching_table(results),
        verdict=verdict,
        reps=results["first_frame_reps"],
    )


def _load(bench: Path, name: str) -> dict | None:
    path = bench / name
    return json.loads(path.read_text()) if path.exists() else None


def _relay_section(results: dict) -> str:
    markdown, ratios = relay_table(results["cells"])
    missed = sum(not r["targets_met"] for r in ratios)
    last = ratios[-1]
    reps = {c["mode"]: c["reps"] for c in results["cells"]}
    return RELAY.format(
        tokens=results["tokens"],
        relay_reps=reps["relay"],
        serial_reps=reps["serial"],
        table=markdown,
        verdict="Every cell met every target." if not missed else f"{missed} of {len(ratios)} cells missed a target.",
        rate=last["tok_s"],
        latency=last["latency_ms"],
        overhead=last["overhead"],
        frames=last["frames"],
        zip_bytes=results["zip_bytes"],
        zip_files=len(results["zip_files"]),
        import_ms=results["import_ms"],
        frame_overhead=results["emulator_frame_overhead_ms"],
    )


PACING = """
## Frame pacing (`make bench SECTION=pacing`)

Posts per second per streaming reply (its share of API Gateway's account-wide request rate), the last delta's
delay after the model's last chunk (median and max) and the first frame's, for a {tokens}-token reply, at
`FrameIntervalMs` 0 and the default. Targets (issue 28): at 150 tokens/s at most 10 posts per second; the last
delta at most one interval and one post after the model; the first frame as early as with 0.

{table}
"""

RENDER = """
## The page's render time per delta (`make bench SECTION=render`)

Headless Chromium, a {characters:,}-character reply arriving in {deltas:,} deltas: the median ms to render each
delta, by tenth of the reply. Rendering only the open block keeps it flat as the reply grows.

{table}
"""


CHATTERS = """
## People chatting (`make load`)

{people} people, each on a connection of their own, {messages} messages each with about {think_s:g} s of thinking
between a reply and the next; {tokens}-token replies at {tok_s:g} tokens/s, {post_latency_ms:g} ms per post, the
template's defaults (frame pacing, the daily budget, the reply cap). {intact} of {replies} replies intact, in
{wall_s:g} s. Over every reply:

| | p50 | p95 | p99 |
|---|---:|---:|---:|
{rows}
"""


def chatters_rows(results: dict) -> str:
    names = {
        "posts_per_s": "posts per second while a reply streams",
        "frames": "delta frames per reply",
        "first_frame_ms": "first frame after the message was sent, ms",
        "last_delta_ms": "last delta after the model's last chunk, ms",
    }
    return "\n".join(
        f"| {name} | {results[key]['p50']:g} | {results[key]['p95']:g} | {results[key]['p99']:g} |"
        for key, name in names.items()
    )


def render(bench: Path = BENCH) -> str:
    """The performance page from the JSON files in `bench`."""
    names = (
        "results",
        "first_frame",
        "pacing",
        "chatters",
        "conversations",
        "listing",
        "caching",
        "authorizer",
        "render",
    )
    found = {name: _load(bench, f"{name}.json") for name in names}
    python = next((r["python"] for r in found.values() if r and "python" in r), "unknown")
    parts = [HEADER.format(python=python)]
    if found["results"]:
        parts.append(_relay_section(found["results"]))
    if found["first_frame"]:
        parts.append(FIRST_FRAME.format(table=first_frame_table(found["first_frame"])))
    if found["pacing"]:
        pacing = found["pacing"]
        parts.append(PACING.format(tokens=pacing["tokens"], table=pacing_table(pacing["cells"])))
    if found["chatters"]:
        load = found["chatters"]
        parts.append(
            CHATTERS.format(**{k: v for k, v in load.items() if not isinstance(v, dict)}, rows=chatters_rows(load))
        )
    if found["conversations"]:
        cells = found["conversations"]["cells"]
        parts.append(CONVERSATIONS.format(reps=cells[0]["reps"], table=conversations_table(cells)))
    if found["listing"]:
        listing = found["listing"]
        table = listing_table(listing)
        parts.append(LISTING.format(reps=listing["list"][0]["reps"], before=listing["before_commit"], table=table))
    if found["caching"]:
        parts.append(_caching_section(found["caching"]))
    if found["authorizer"]:
        parts.append(AUTHORIZER.format(table=authorizer_table(found["authorizer"])))
    if found["render"]:
        page = found["render"]
        parts.append(RENDER.format(characters=page["characters"], deltas=page["deltas"], table=render_table(page)))
    return "".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("--bench", type=Path, default=BENCH, help="where the JSON files are (default bench/)")
    parser.add_argument("--output", type=Path, default=PAGE, help="(default docs/performance.md)")
    args = parser.parse_args(argv)
    args.output.write_text(render(args.bench))
    print(f"Wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
