"""What a cold start costs on Lambda, measured, for `--cold-start real` (issue 15).

Environments fork from a forkserver that already has boto3 imported (runtime.py), so their INIT is only
the handler module's own lines: 1-70 ms, where a Lambda that imports boto3 spends a few hundred. In `real` mode the
runtime measures, once per handler, how long the handler module takes to import in a fresh interpreter with the
function's environment (boto3, botocore and the module-scope clients included, as on Lambda), then makes every
cold start take that long and report it as `Init Duration`. The environments still share the forkserver's pages,
so `make load` keeps fitting on a small machine. `fast` (the default) keeps the forked figure.
"""

import asyncio
import sys

from emulator.awslambda.bootstrap import Spec

MODES = ("fast", "real")

_IMPORT = "import importlib, sys, time; t = time.perf_counter(); importlib.import_module(sys.argv[1]); " + (
    "print((time.perf_counter() - t) * 1000)"
)


class ColdStarts:
    """Fresh-interpreter INIT times, measured once per (code dir, handler module) and shared by every caller."""

    def __init__(self) -> None:
        self._measured: dict[tuple[str, str], asyncio.Task[float]] = {}

    def init_ms(self, spec: Spec) -> "asyncio.Task[float]":
        """The measurement (started now if it is the first for this handler): await it for milliseconds."""
        module = spec.handler.rpartition(".")[0]
        key = (spec.code_dir, module)
        if key not in self._measured:
            self._measured[key] = asyncio.ensure_future(_measure(spec, module))
        return self._measured[key]


async def _measure(spec: Spec, module: str) -> float:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _IMPORT,
        module,
        cwd=spec.code_dir,
        env={**spec.environment, "PYTHONPATH": spec.code_dir},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await process.communicate()
    try:
        return float(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):  # the import failed: the environment's own INIT reports why
        return 0.0
