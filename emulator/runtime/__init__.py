"""Execution environments, as Lambda runs them: one OS process per environment.

Each environment imports its function's handler module once (INIT) and then serves one invocation at a time,
keeping module state warm between them; when all of a function's environments are busy a new one starts. The
template's Timeout is enforced by killing the process, and a crash ends only that environment. Processes fork
from a forkserver that has boto3 already imported, so a cold start costs the handler's own INIT, not Python's,
and 200 concurrent environments fit on a small machine (their boto3 pages are shared copy-on-write).
`cold_start = "real"` makes each cold start cost what the handler's import costs in a fresh interpreter, as on
Lambda (emulator/coldstart.py).

- pool.py: Runtime: each function's warm environments, invoke(), START/END/REPORT lines; what every function's
  environment variables hold (function_environment).
- environment.py: the emulator's handle on one environment process (start, invoke, stop, kill).
- bootstrap.py: what runs inside that process: INIT, then the invocation loop with Lambda's context object.

This package is also what the forkserver preloads (PRELOAD): keep its imports to the standard library.
"""

from emulator.runtime.bootstrap import LambdaContext, Spec
from emulator.runtime.pool import (
    CREDENTIAL_VARIABLES,
    DUMMY_CREDENTIALS,
    PRELOAD,
    Result,
    Runtime,
    function_environment,
    stop_forkserver,
)

__all__ = [
    "CREDENTIAL_VARIABLES",
    "DUMMY_CREDENTIALS",
    "PRELOAD",
    "LambdaContext",
    "Result",
    "Runtime",
    "Spec",
    "function_environment",
    "stop_forkserver",
]
