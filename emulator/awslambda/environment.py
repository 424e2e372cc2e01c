"""The emulator's handle on one execution environment: start its process, send it invocations over a pipe, pass
its log lines on, and kill it when it overruns or is no longer needed.

The process is forked from the forkserver (boto3 preloaded, pages shared) when the function's Runtime is the
emulator's own Python, or spawned fresh on the interpreter its Runtime names (emulator/awslambda/interpreters.py):
a fork cannot change the Python version.
"""

import asyncio
import contextlib
import dataclasses
import json
import logging
import multiprocessing
import subprocess
import sys
import threading
import time
import types
from multiprocessing.connection import Connection
from pathlib import Path

from emulator.awslambda.bootstrap import Spec, environment_main
from emulator.template import Function

log = logging.getLogger("emulator.awslambda")

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")


class Environment:
    """The emulator's handle on one environment process; `interpreter` None: forked from the emulator's Python."""

    def __init__(self, function: Function, spec: Spec, interpreter: str | None = None) -> None:
        self.function = function
        self.spec = spec
        self._conn, child_conn = multiprocessing.Pipe()
        self._child_conn = child_conn
        self.process: _Forked | _Spawned = (
            _Forked(child_conn, spec, function.logical_id) if interpreter is None else _Spawned(interpreter, child_conn)
        )
        self.init_ms: float | None = None  # reported in the first REPORT line, as Lambda's "Init Duration"
        self.alive = True
        self._waiting: asyncio.Future | None = None
        self._launch: asyncio.Future | None = None  # the thread starting the process, once start() began

    async def _launched(self) -> None:
        """Wait out a launch still in its thread (a cancelled start() leaves it running) before the pipe's ends
        are closed: a launch that found its end closed would leave the forkserver a connection without file
        descriptors, which ends the forkserver (EOFError in its recvfds) for every later environment."""
        if self._launch is not None:
            await asyncio.gather(self._launch, return_exceptions=True)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._waiting = loop.create_future()
        # start() talks to the forkserver and waits for the fork: keep that off the event loop, one at a time
        # (multiprocessing's bookkeeping of children is not thread-safe).
        self._launch = asyncio.ensure_future(asyncio.to_thread(self.process.start))
        await asyncio.shield(self._launch)
        if isinstance(self.process, _Spawned):  # a fresh interpreter learns what to run over the pipe
            self._conn.send(dataclasses.asdict(self.spec))
        self._child_conn.close()
        loop.add_reader(self._conn.fileno(), self._readable)
        ready = await self._waiting
        self.init_ms = ready["init_ms"]
        if ready["error"]:
            raise InitError(ready["error"])

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
                self._waiting.set_exception(Exited())

    async def invoke(self, request_id: str, event: dict, timeout: float) -> dict:
        self._waiting = asyncio.get_running_loop().create_future()
        # As JSON, as Lambda passes it: the event may hold the server's own types (aiohttp's multidict strings),
        # which an environment on another interpreter could not unpickle.
        self._conn.send((request_id, json.dumps(event), int((time.time() + timeout) * 1000)))
        return await asyncio.wait_for(asyncio.shield(self._waiting), timeout)

    async def kill(self) -> None:
        self._ended(expected=True)
        await self._launched()
        self._conn.close()
        self._child_conn.close()
        if self.process.pid is not None:
            self.process.kill()
            await asyncio.to_thread(self.process.join, None)

    async def stop(self) -> None:
        """Close the pipe (the environment's loop ends at EOF); kill it if it is still busy after a moment."""
        self._ended(expected=True)
        await self._launched()
        self._conn.close()
        self._child_conn.close()
        if self.process.pid is None:  # never started
            return
        await asyncio.to_thread(self.process.join, 1.0)
        if self.process.is_alive():
            self.process.kill()
            await asyncio.to_thread(self.process.join, None)


_starting = threading.Lock()


class _Forked:
    """An environment forked from the forkserver: the emulator's own Python, boto3's pages shared."""

    def __init__(self, conn: Connection, spec: Spec, name: str) -> None:
        context = multiprocessing.get_context("forkserver")
        self._process = context.Process(target=environment_main, args=(conn, spec), name=f"env-{name}", daemon=True)

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self) -> None:
        # multiprocessing makes every child re-import the parent's main module (unless it is a package's
        # __main__): for a script like the load test that would import aiohttp and cfn-lint into every
        # environment. A bare stand-in for __main__ while forking keeps environments to the handler's imports.
        with _starting:
            main, sys.modules["__main__"] = sys.modules["__main__"], types.ModuleType("__main__")
            try:
                self._process.start()
            finally:
                sys.modules["__main__"] = main

    def kill(self) -> None:
        self._process.kill()

    def join(self, timeout: float | None) -> None:
        self._process.join(timeout)

    def is_alive(self) -> bool:
        return self._process.is_alive()


class _Spawned:
    """An environment on another interpreter: `python -I bootstrap.py FD`, which reads its Spec from the pipe.
    Isolated (-I), so it sees only its own site-packages (the runtime's boto3), not the emulator's checkout."""

    def __init__(self, interpreter: str, conn: Connection) -> None:
        self._command = [interpreter, "-I", str(BOOTSTRAP), str(conn.fileno())]
        self._fd = conn.fileno()
        self._popen: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    def start(self) -> None:
        self._popen = subprocess.Popen(self._command, pass_fds=(self._fd,), stdin=subprocess.DEVNULL)

    def kill(self) -> None:
        if self._popen is not None:
            self._popen.kill()

    def join(self, timeout: float | None) -> None:
        if self._popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._popen.wait(timeout)

    def is_alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None


class InitError(Exception):
    pass


class Exited(Exception):
    pass
