"""Inside an execution environment, as Lambda's Python runtime runs a handler: INIT (import the handler module), then
one invocation at a time until the pipe closes, with Lambda's context object, stdout/stderr as log lines, and a
failure reported as errorType, errorMessage and stackTrace.

Runs forked from the forkserver, or as a script on the interpreter a function's Runtime names (`python -I
bootstrap.py FD`, emulator/awslambda/environment.py): standard library only, and Python 3.11 syntax or older.
"""

import gc
import importlib
import io
import json
import os
import resource
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any


@dataclass(frozen=True)
class Spec:
    """What an environment needs to start: the function's identity, code and environment variables."""

    name: str
    arn: str
    handler: str
    code_dir: str
    memory_size: int
    log_group: str
    environment: dict[str, str]


@dataclass
class LambdaContext:
    """The context object the Python runtime passes to a handler (the attributes handlers use)."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline_ms: int

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


class _LogLines(io.TextIOBase):
    """sys.stdout/sys.stderr of an environment: complete lines go to the emulator's log, in order with START/END."""

    def __init__(self, send: "_Sender") -> None:
        self._send = send
        self._buffer = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self._buffer += text
            *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            self._send("log", line)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            line, self._buffer = self._buffer, ""
        if line:
            self._send("log", line)


class _Sender:
    """The environment's one pipe to the emulator, shared by the handler's threads."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def __call__(self, kind: str, value: Any) -> None:
        with self._lock:
            try:
                self._conn.send((kind, value))
            except OSError:  # the emulator has gone (or killed us mid-write): nobody is left to serve
                os._exit(0)


def environment_main(conn: Connection, spec: Spec) -> None:
    """An environment's life: INIT (import the handler module), then invocations until the pipe closes."""
    # What the forkserver imported stays out of the collector's reach, so it is never copied into this process
    # (with 200 environments, the difference between sharing boto3's pages and holding 200 copies).
    gc.freeze()
    sys.dont_write_bytecode = True  # src/ is zipped as is: never leave __pycache__ in it
    os.environ.clear()
    os.environ.update(spec.environment)
    # The handler sees its code dir and the installed packages (Lambda's boto3), not the emulator's checkout.
    emulator_dirs = {"", os.getcwd()}
    sys.path[:] = [spec.code_dir, *(p for p in sys.path if p not in emulator_dirs)]
    os.chdir(spec.code_dir)  # Lambda's working directory is the task root
    send = _Sender(conn)
    sys.stdout = sys.stderr = _LogLines(send)
    started = time.perf_counter()
    module_name, _, function_name = spec.handler.rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as exc:
        traceback.print_exc()
        sys.stdout.flush()
        send("ready", {"init_ms": ms_since(started), "error": f"Runtime.ImportModuleError: {exc!r}"})
        return
    send("ready", {"init_ms": ms_since(started), "error": None})
    while True:
        try:
            request_id, event_json, deadline_ms = conn.recv()
        except EOFError:
            return
        event = json.loads(event_json)
        context = LambdaContext(
            function_name=spec.name,
            function_version="$LATEST",
            invoked_function_arn=spec.arn,
            memory_limit_in_mb=spec.memory_size,
            aws_request_id=request_id,
            log_group_name=spec.log_group,
            log_stream_name=f"local/[$LATEST]{os.getpid()}",
            deadline_ms=deadline_ms,
        )
        started = time.perf_counter()
        payload, error, message, stack = None, None, None, []
        try:
            # Lambda returns the handler's value as JSON: what does not serialise fails as it would there.
            payload = json.loads(json.dumps(handler(event, context)))
        except Exception as exc:
            # Lambda's Python runtime logs `[ERROR] Type: message` and the traceback, then reports errorType.
            print(f"[ERROR] {type(exc).__name__}: {exc}\n{traceback.format_exc()}".rstrip())
            error, message = type(exc).__name__, str(exc)
            stack = traceback.format_list(traceback.extract_tb(exc.__traceback__))
        duration = ms_since(started)
        sys.stdout.flush()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        outcome = {"payload": payload, "error": error, "message": message, "stack": stack}
        send("result", {**outcome, "duration_ms": duration, "peak_mb": peak_mb})


def ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


if __name__ == "__main__":  # spawned on the Runtime's interpreter: the pipe is FD, the Spec its first message
    _conn = Connection(int(sys.argv[1]))
    environment_main(_conn, Spec(**_conn.recv()))
