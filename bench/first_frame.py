"""`python -m bench --section first-frame` (`make bench SECTION=first-frame`): time to the first frame, the
article's synchronous handler (the baseline) against the asynchronous path that ships (SendText starts
StreamReply with an Event invocation, issue 10), warm and cold, side by side.

time to first frame = the client's send -> its first delta, minus the stand-in's request -> first chunk (so the
model's own latency is out of it). Warm: one emulator, a reply to warm every environment, then REPS replies.
Cold: a new emulator per reply, so every environment it needs starts cold (SendText's, and StreamReply's).
Target (issue 10): the warm median within 25 ms of the baseline's. Short replies (8 tokens, no pacing).
"""

import statistics

from bench import streams
from bench.tables import FIRST_FRAME_PATHS, FIRST_FRAME_TARGET_MS
from emulator.bedrock.server import BedrockStandIn


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
        "n": len(values),
    }


async def measure(reports: streams.Reports, standin: BedrockStandIn, warm_reps: int, cold_reps: int) -> dict:
    results: dict[str, dict] = {}
    for mode in FIRST_FRAME_PATHS:
        cold = []
        for rep in range(cold_reps):
            async with streams.gateway(mode, standin, 0) as emulator:
                text = f"[standin tokens=8 rate=0 ttft_ms=0] cold {mode} {rep}"
                cold.append((await streams.reply(emulator, standin, reports, mode, text, 8)).send_to_first_frame_ms)
        warm = []
        async with streams.gateway(mode, standin, 0) as emulator:
            await streams.reply(emulator, standin, reports, mode, f"[standin tokens=8 rate=0] warm-up {mode}", 8)
            for rep in range(warm_reps):
                text = f"[standin tokens=8 rate=0 ttft_ms=0] warm {mode} {rep}"
                warm.append((await streams.reply(emulator, standin, reports, mode, text, 8)).send_to_first_frame_ms)
        results[mode] = {"warm": summary(warm), "cold": summary(cold)}
    delta = results["relay"]["warm"]["median"] - results["serial"]["warm"]["median"]
    results["warm_median_difference_ms"] = round(delta, 1)
    results["target_met"] = delta <= FIRST_FRAME_TARGET_MS
    return results
