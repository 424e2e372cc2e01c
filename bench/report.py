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
FIRST_FRAME_PATHS = {"serial": "synchronous (article)", "relay": "asynchronous (ships)"}
FIRST_FRAME_TARGET_MS = 25.0  # issue 10: the asynchronous path's warm median within this of the article's
READS = ("GetItem", "Query", "BatchGetItem")
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")
# Reads, writes per turn of a conversation with history: the connection's record and the history; the turn's
# reservation and store, the list item (issue 24), the daily budget's reservation and settlement (DailyTokenBudget,
# on by default) and the control item's close (issue 27). A turn that streams longer than 250 ms also reads its
# control item every 250 ms (bench.resume).
TURN_REQUESTS = (2, 6)
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


RESUME_WRITES_PER_S = 1.0  # issue 27: at most about one write per second of streaming per reply, plus the final


def resume_table(results: dict) -> str:
    """The resume section's table: requests per 10-second reply, then the time to the first caught-up frame."""
    rows = ["| a reply of 10 s | DynamoDB requests | reads + writes |", "|---|---|---:|"]
    for name, ops in results["dynamodb_per_reply"].items():
        reads, writes = _reads_writes(ops)
        rows.append(f"| {name} | {', '.join(f'{op} {n:g}' for op, n in ops.items())} | {reads:g} + {writes:g} |")
    most = max(_reads_writes(ops)[1] for ops in results["dynamodb_per_reply"].values())
    bound = RESUME_WRITES_PER_S * results["reply_s"] + 1
    timing = results["resume_ms"]
    rows.append(
        f"\n`resume` to the first caught-up frame: {timing['median']:.0f} ms median, {timing['max']:.0f} ms at "
        f"most ({results['reps']} resumes).\n\nTarget: at most {bound:g} writes per reply of {results['reply_s']} s "
        f"(one a second, plus the final): {'met' if most <= bound else 'missed'} ({most:g})."
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


HEADER = """<!-- Generated by `make bench` (bench/report.py) from bench/*.json. Do not edit: run `make bench`. -->

# Performance

Figures from the last `make bench`, in the offline emulator on the development machine (Python {python}): they
compare designs under the same conditions, not what AWS will measure. `make bench` rewrites `bench/*.json` and
this page; `make bench SECTION=first-frame|relay|conversations|caching|resume|authorizer` reruns one section, and the
page is rebuilt from whatever JSON files are there.
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

RESUME = """
## Resuming a reply

A reply whose socket closes after a few deltas, resumed on a connection already open (issue 27), warm; and what a
reply of 10 s costs in DynamoDB requests, never dropped and dropped once. StreamReply reads its reply's small
control item every 250 ms (a `stop` takes effect within that, and a `resume` is taken up at the next read), so a
resume waits about half of that on average; the catch-up comes from what StreamReply holds, with no write of the
reply's progress: the writes are the turn's own (reserve, store), the list item's, and the control item's close
(and the `resume` itself, by its route).

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


def render(bench: Path = BENCH) -> str:
    """The performance page from the JSON files in `bench`."""
    names = ("results", "first_frame", "conversations", "listing", "caching", "resume", "authorizer")
    found = {name: _load(bench, f"{name}.json") for name in names}
    python = next((r["python"] for r in found.values() if r and "python" in r), "unknown")
    parts = [HEADER.format(python=python)]
    if found["results"]:
        parts.append(_relay_section(found["results"]))
    if found["first_frame"]:
        parts.append(FIRST_FRAME.format(table=first_frame_table(found["first_frame"])))
    if found["conversations"]:
        cells = found["conversations"]["cells"]
        parts.append(CONVERSATIONS.format(reps=cells[0]["reps"], table=conversations_table(cells)))
    if found["listing"]:
        listing = found["listing"]
        table = listing_table(listing)
        parts.append(LISTING.format(reps=listing["list"][0]["reps"], before=listing["before_commit"], table=table))
    if found["caching"]:
        parts.append(_caching_section(found["caching"]))
    if found["resume"]:
        parts.append(RESUME.format(table=resume_table(found["resume"])))
    if found["authorizer"]:
        parts.append(AUTHORIZER.format(table=authorizer_table(found["authorizer"])))
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
