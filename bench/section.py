"""How a bench section runs: its measurement timed and the machine's load noted (other work on the machine skews
every figure), its table printed, its JSON written (bench/report.py renders docs/performance.md from it)."""

import asyncio
import json
import os
import time
from collections.abc import Callable, Coroutine
from pathlib import Path


def run(measure: Coroutine[object, object, dict], table: Callable[[dict], str], output: Path) -> int:
    started, load_before = time.monotonic(), os.getloadavg()[0]
    result = asyncio.run(measure)
    result["load_average"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    result["wall_s"] = round(time.monotonic() - started, 1)
    print(table(result))
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"Wrote {output} in {time.monotonic() - started:.0f} s")
    return 0
