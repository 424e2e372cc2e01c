"""Execution environments, as Lambda runs them: one OS process per environment.

Each environment imports its function's handler module once (INIT) and then serves one invocation at a time,
keeping module state warm between them; when all of a function's environments are busy a new one starts. The
template's Timeout is enforced by killing the process, and a crash ends only that environment. Processes fork
from a forkserver that has boto3 already imported, so a cold start costs the handler's own INIT, not Python's,
and 200 concurrent environments fit on a small machine (their boto3 pages are shared copy-on-write).
`cold_start = "real"` makes each cold start cost what the handler's import costs in a fresh interpreter, as on
Lambda (emulator/coldstart.py).

This module is also what the forkserver preloads: keep its imports to the standard library.
"""

import asyncio
import gc
import importlib
import io
import json
import logging
import math
import multiprocessing
import multiprocessing.forkserver
import os
import resource
import sys
import threading
import time
import traceback
import types
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from emulator.coldstart import ColdStarts

if TYPE_CHECKING:
    from emulator.template import Function

log = logging.getLogger("emulator.runtime")

# Imported once in the forkserver, shared by every environment forked from it.
PRELOAD = [
    "emulator.runtime",
    "boto3",
    "botocore.client",
    "botocore.session",
    "botocore.eventstream",
    "json",
    "emulator.prewarm",
]


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


@dataclass(frozen=True)
class Result:
    request_id: str
    payload: Any = None  # what the handler returned, through JSON as Lambda does
    error: str | None = None  # errorType, e.g. "Sandbox.Timedout", "Runtime.ExitError", "KeyError"
    duration_ms: float = 0.0
    error_message: str | None = None  # errorMessage, as Lambda reports it to a synchronous caller
    stack_trace: tuple[str, ...] = ()  # stackTrace: the handler's frames, as the Python runtime lists them

    @property
    def ok(self) -> bool:
        return self.error is None


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


# --- inside the environment (a forked process) ---------------------------------------------------------------


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


def _environment_main(conn: Connection, spec: Spec) -> None:
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
        send("ready", {"init_ms": _ms_since(started), "error": f"Runtime.ImportModuleError: {exc!r}"})
        return
    send("ready", {"init_ms": _ms_since(started), "error": None})
    while True:
        try:
            request_id, event, deadline_ms = conn.recv()
        except EOFError:
            return
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
        duration = _ms_since(started)
        sys.stdout.flush()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        outcome = {"payload": payload, "error": error, "message": message, "stack": stack}
        send("result", {**outcome, "duration_ms": duration, "peak_mb": peak_mb})


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


# --- in the emulator -----------------------------------------------------------------------------------------


class _Environment:
    """The emulator's handle on one environment process."""

    def __init__(self, function: "Function", spec: Spec) -> None:
        self.function = function
        self.spec = spec
        self._conn, child_conn = multiprocessing.get_context("forkserver").Pipe()
        self._child_conn = child_conn
        self.process = multiprocessing.get_context("forkserver").Process(
            target=_environment_main, args=(child_conn, spec), name=f"env-{function.logical_id}", daemon=True
        )
        self.init_ms: float | None = None  # reported in the first REPORT line, as Lambda's "Init Duration"
        self.alive = True
        self._waiting: asyncio.Future | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._waiting = loop.create_future()
        # start() talks to the forkserver and waits for the fork: keep that off the event loop, one at a time
        # (multiprocessing's bookkeeping of children is not thread-safe).
        await asyncio.to_thread(_start, self.process)
        self._child_conn.close()
        loop.add_reader(self._conn.fileno(), self._readable)
        ready = await self._waiting
        self.init_ms = ready["init_ms"]
        if ready["error"]:
            raise _InitError(ready["error"])

    def _readable(self) -> None:
        try:
            while self._conn.poll():
                kind, value = self._conn.recv()
                if kind == "log":
                    log.info("%s", value)
                elif self._waiting and not self._waiting.done():
                    self._waiting.set_result(value)
        except (EOFError, OSError):
            self._ended()

    def _ended(self, expected: bool = False) -> None:
        if self.alive and not self._conn.closed:
            asyncio.get_running_loop().remove_reader(self._conn.fileno())
        self.alive = False
        if self._waiting and not self._waiting.done():
            if expected:  # we are ending it: whoever waited has stopped waiting
                self._waiting.cancel()
            else:
                self._waiting.set_exception(_Exited())

    async def invoke(self, request_id: str, event: dict, timeout: float) -> dict:
        self._waiting = asyncio.get_running_loop().create_future()
        self._conn.send((request_id, event, int((time.time() + timeout) * 1000)))
        return await asyncio.wait_for(asyncio.shield(self._waiting), timeout)

    async def kill(self) -> None:
        self._ended(expected=True)
        self._conn.close()
        self._child_conn.close()
        if self.process.pid is not None:
            self.process.kill()
            await asyncio.to_thread(self.process.join)

    async def stop(self) -> None:
        """Close the pipe (the environment's loop ends at EOF); kill it if it is still busy after a moment."""
        self._ended(expected=True)
        self._conn.close()
        self._child_conn.close()
        if self.process.pid is None:  # never started
            return
        await asyncio.to_thread(self.process.join, 1.0)
        if self.process.is_alive():
            self.process.kill()
            await asyncio.to_thread(self.process.join)


_starting = threading.Lock()


def _start(process: multiprocessing.process.BaseProcess) -> None:
    # multiprocessing makes every child re-import the parent's main module (unless it is a package's
    # __main__): for a script like the load test that would import aiohttp and cfn-lint into every
    # environment. A bare stand-in for __main__ while forking keeps environments to the handler's imports.
    with _starting:
        main, sys.modules["__main__"] = sys.modules["__main__"], types.ModuleType("__main__")
        try:
            process.start()
        finally:
            sys.modules["__main__"] = main


class _InitError(Exception):
    pass


class _Exited(Exception):
    pass


# Lambda gives every function its role's credentials; locally, any will do for the emulator's own endpoints.
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "emulator", "AWS_SECRET_ACCESS_KEY": "emulator"}
# With real Bedrock, the functions use the caller's own AWS identity (profile, SSO or keys), as `aws` would.
CREDENTIAL_VARIABLES = (
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "HOME",
)


def function_environment(bedrock_url: str | None, read_timeout: float | None = None) -> dict[str, str]:
    """What the emulator adds to every function's environment: the Bedrock stand-in's endpoint and dummy
    credentials, or (bedrock_url None) the caller's own AWS credentials, for real Bedrock."""
    if bedrock_url is None:
        environment = {name: os.environ[name] for name in CREDENTIAL_VARIABLES if name in os.environ}
    else:
        environment = {"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock_url, **DUMMY_CREDENTIALS}
    if read_timeout is not None:
        environment["BEDROCK_READ_TIMEOUT"] = str(read_timeout)
    return environment


class Runtime:
    """Invoke a template's functions, each in its own pool of warm environments."""

    def __init__(self, environment: Mapping[str, str] | None = None) -> None:
        """`environment` is added to every function's own (the local endpoints, credentials, region)."""
        self.environment = dict(environment or {})
        # Substrings of the template's environment values to replace: the deployed API's URL -> the emulator's.
        self.endpoints: dict[str, str] = {}
        self._idle: dict[str, list[_Environment]] = {}
        self._all: set[_Environment] = set()
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        self.cold_start = "fast"  # or "real": see emulator/coldstart.py
        self._cold_starts = ColdStarts()

    def pids(self) -> list[int]:
        """Every live environment process and the forkserver: what the emulator's memory is made of."""
        pids = [env.process.pid for env in self._all if env.alive and env.process.pid]
        forkserver_pid = multiprocessing.forkserver._forkserver._forkserver_pid
        return pids + ([forkserver_pid] if forkserver_pid else [])

    def spec(self, function: "Function") -> Spec:
        environment = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PYTHONDONTWRITEBYTECODE": "1",
            "LAMBDA_TASK_ROOT": str(function.code_dir),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": function.log_group,
            **{name: self._local(value) for name, value in function.environment.items()},
            **self.environment,
        }
        return Spec(
            name=function.name,
            arn=function.arn,
            handler=function.handler,
            code_dir=str(function.code_dir),
            memory_size=function.memory_size,
            log_group=function.log_group,
            environment=environment,
        )

    def _local(self, value: str) -> str:
        for deployed, local in self.endpoints.items():
            value = value.replace(deployed, local)
        return value

    async def invoke(self, function: "Function", event: Any, request_id: str | None = None) -> Result:
        """Run one invocation in an idle environment (or a new one), within the function's Timeout.

        `request_id`: the id to run under (an asynchronous event keeps its id across retries); default a new one.
        """
        request_id = request_id or str(uuid.uuid4())
        idle = self._idle.setdefault(function.logical_id, [])
        env = idle.pop() if idle else None
        cold = env is None
        if env is None:
            env = _Environment(function, self.spec(function))
            self._all.add(env)
            # Measured while the environment starts, so the first cold start is not paid twice.
            fresh = self._cold_starts.init_ms(env.spec) if self.cold_start == "real" else None
            started = time.perf_counter()
            try:
                await env.start()
                if fresh is not None:
                    await self._as_on_lambda(env, await asyncio.shield(fresh), started)
            except (_InitError, _Exited) as exc:
                log.info("INIT_REPORT %s failed: %s", function.logical_id, exc)
                await self._discard(env)
                return Result(request_id, error="Runtime.InitError", error_message=f"RequestId: {request_id} {exc}")
            except BaseException:
                await self._discard(env)
                raise
        log.info("START RequestId: %s Version: $LATEST", request_id)
        try:
            reply = await env.invoke(request_id, event, function.timeout)
        except TimeoutError:
            log.info("%s Task timed out after %.2f seconds", request_id, function.timeout)
            await self._discard(env)
            result = Result(
                request_id,
                error="Sandbox.Timedout",
                duration_ms=function.timeout * 1000,
                error_message=f"RequestId: {request_id} Error: Task timed out after {function.timeout:.2f} seconds",
            )
            peak_mb = None
        except _Exited:
            log.info("%s Runtime exited: the environment process ended during the invocation", request_id)
            await self._discard(env)
            message = f"RequestId: {request_id} Error: Runtime exited without providing a reason"
            result, peak_mb = Result(request_id, error="Runtime.ExitError", error_message=message), None
        else:
            result = Result(
                request_id,
                reply["payload"],
                reply["error"],
                reply["duration_ms"],
                reply["message"],
                tuple(reply["stack"]),
            )
            peak_mb = reply["peak_mb"]
            idle.append(env)
        log.info("END RequestId: %s", request_id)
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {result.duration_ms:.2f} ms\t"
            f"Billed Duration: {math.ceil(result.duration_ms)} ms\tMemory Size: {function.memory_size} MB"
        )
        if peak_mb is not None:
            report += f"\tMax Memory Used: {peak_mb} MB"
        if cold:
            report += f"\tInit Duration: {env.init_ms:.2f} ms"
        log.info("%s", report)
        return result

    async def _as_on_lambda(self, env: _Environment, fresh_ms: float, started: float) -> None:
        """Stretch a forked environment's INIT to the handler's import time in a fresh interpreter."""
        await asyncio.sleep(max(0.0, fresh_ms - _ms_since(started)) / 1000)
        env.init_ms = max(env.init_ms or 0.0, fresh_ms)

    async def _discard(self, env: _Environment) -> None:
        self._all.discard(env)
        await env.kill()

    async def stop(self) -> None:
        """End every environment, busy or idle. The forkserver stays for the next Runtime in this process."""
        envs, self._all, self._idle = list(self._all), set(), {}
        await asyncio.gather(*(env.stop() for env in envs))


def stop_forkserver() -> None:
    """End the forkserver now rather than when this process exits (it would then see its pipe close), so
    `make local` leaves nothing behind even for a moment. multiprocessing has no public call for this."""
    multiprocessing.forkserver._forkserver._stop()
