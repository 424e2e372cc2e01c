"""The benches' figures as Markdown tables, with each issue's targets and verdicts: every bench prints its table
with these functions, and bench/report.py puts the same tables on docs/performance.md. Reads nothing, imports
nothing from the emulator or src/: results in, text out."""

RATES = (50, 150, 400)  # tokens/s from the model
LATENCIES = (0, 10, 30, 60)  # ms each post to @connections takes
PACING_LATENCIES = (0, 10, 30)  # the pacing bench's post latencies (issue 28)
FIRST_FRAME_PATHS = {"serial": "synchronous (article)", "relay": "asynchronous (ships)"}
FIRST_FRAME_TARGET_MS = 25.0  # issue 10: the asynchronous path's warm median within this of the article's
READS = ("GetItem", "Query", "BatchGetItem")
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")
# Reads, writes per turn of a conversation with history: the connection's record and the history; the turn's
# reservation and store, the list item (issue 24) and the control item's close (issue 27). With the daily budget on
# (the default, issue 23), its reservation and settlement too. A turn that streams longer than 250 ms also reads its
# control item every 250 ms (bench.resume).
TURN_REQUESTS = (2, 4)
METERED_TURN_REQUESTS = (2, 6)
RESUME_WRITES_PER_S = 1  # issue 27: at most about one write per second of streaming per reply, plus the final
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


def conversations_table(cells: list[dict], with_meter: dict | None = None) -> str:
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
    if with_meter:
        reads, writes = _reads_writes(with_meter["dynamodb_per_turn"])
        met = (reads, writes) == METERED_TURN_REQUESTS
        rows.append(
            f"With the template's defaults (the daily budget's meter on), at {with_meter['stored_turns']} stored "
            "turns: "
            f"{reads:g} reads + {writes:g} writes per turn (target {METERED_TURN_REQUESTS[0]} + "
            f"{METERED_TURN_REQUESTS[1]}: {'met' if met else 'missed'}), first frame "
            f"{with_meter['first_frame_ms']:.1f} ms."
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
