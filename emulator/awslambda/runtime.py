"""Execution environments, as Lambda runs them: one OS process per environment, each function its own pool.

Each environment imports its function's handler module once (INIT) and then serves one invocation at a time,
keeping module state warm between them; when all of a function's environments are busy a new one starts. The
template's Timeout is enforced by killing the process, and a crash ends only that environment; START, END and
REPORT lines are logged as Lambda logs them. Environments of a function whose Runtime is the emulator's own Python
fork from a forkserver that has boto3 already imported, so a cold start costs the handler's own INIT, not
Python's, and 200 concurrent environments fit on a small machine (their boto3 pages are shared copy-on-write);
another Runtime's start fresh on its interpreter (emulator/awslambda/interpreters.py). `cold_start = "real"` makes
each forked cold start cost what the handler's import costs in a fresh interpreter, as on Lambda (coldstart.py).
"""

import asyncio
import logging
import math
import multiprocessing
import multiprocessing.forkserver
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emulator.awslambda.bootstrap import Spec, ms_since
from emulator.awslambda.coldstart import ColdStarts
from emulator.awslambda.environment import Environment, Exited, InitError
from emulator.awslambda.interpreters import Interpreters
from emulator.template import Function

log = logging.getLogger("emulator.awslambda")

# Imported once in the forkserver, shared by every environment forked from it: keep bootstrap's own imports to the
# standard library (its package's __init__ imports nothing).
PRELOAD = [
    "emulator.awslambda.bootstrap",
    "boto3",
    "botocore.client",
    "botocore.session",
    "botocore.eventstream",
    "json",
    "emulator.awslambda.prewarm",
]


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


# Lambda gives every function its role's credentials; locally, any will do for the emulator's own endpoints.
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "emulator", "AWS_SECRET_ACCESS_KEY": "emulator"}
# With real AWS services, the functions use the caller's own AWS identity (profile, SSO or keys), as `aws` would.
CREDENTIAL_VARIABLES = (
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "HOME",
)


def caller_credentials() -> dict[str, str]:
    """The caller's own AWS credentials, for functions that call a real AWS service (e.g. real Bedrock)."""
    return {name: os.environ[name] for name in CREDENTIAL_VARIABLES if name in os.environ}


class Runtime:
    """Invoke a template's functions, each in its own pool of warm environments."""

    def __init__(self, environment: Mapping[str, str] | None = None, interpreters: Interpreters | None = None) -> None:
        """`environment` is added to every function's own (the local endpoints, credentials, region)."""
        self.environment = dict(environment or {})
        self.interpreters = interpreters or Interpreters()
        # Substrings of the template's environment values to replace: the deployed API's URL -> the emulator's.
        self.endpoints: dict[str, str] = {}
        self._idle: dict[str, list[Environment]] = {}
        self._all: set[Environment] = set()
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        self.cold_start = "fast"  # or "real": see emulator/awslambda/coldstart.py
        self._cold_starts = ColdStarts()

    def pids(self) -> list[int]:
        """Every live environment process and the forkserver: what the emulator's memory is made of."""
        pids = [env.process.pid for env in self._all if env.alive and env.process.pid]
        forkserver_pid = multiprocessing.forkserver._forkserver._forkserver_pid
        return pids + ([forkserver_pid] if forkserver_pid else [])

    def spec(self, function: Function) -> Spec:
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

    async def invoke(self, function: Function, event: Any, request_id: str | None = None) -> Result:
        """Run one invocation in an idle environment (or a new one), within the function's Timeout.

        `request_id`: the id to run under (an asynchronous event keeps its id across retries); default a new one.
        """
        request_id = request_id or str(uuid.uuid4())
        idle = self._idle.setdefault(function.logical_id, [])
        env = idle.pop() if idle else None
        cold = env is None
        if env is None:
            interpreter = self.interpreters.for_runtime(function.runtime)
            env = Environment(function, self.spec(function), interpreter)
            self._all.add(env)
            # Measured while the environment starts, so the first cold start is not paid twice. A fresh
            # interpreter's INIT is already what Lambda's costs.
            real = self.cold_start == "real" and interpreter is None
            fresh = self._cold_starts.init_ms(env.spec) if real else None
            started = time.perf_counter()
            try:
                await env.start()
                if fresh is not None:
                    await self._as_on_lambda(env, await asyncio.shield(fresh), started)
            except (InitError, Exited) as exc:
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
        except Exited:
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

    async def _as_on_lambda(self, env: Environment, fresh_ms: float, started: float) -> None:
        """Stretch a forked environment's INIT to the handler's import time in a fresh interpreter."""
        await asyncio.sleep(max(0.0, fresh_ms - ms_since(started)) / 1000)
        env.init_ms = max(env.init_ms or 0.0, fresh_ms)

    async def _discard(self, env: Environment) -> None:
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
