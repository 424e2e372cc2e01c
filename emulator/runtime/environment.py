"""The emulator's handle on one execution environment: start its process (forked from the forkserver), send it
invocations over a pipe, pass its log lines on, and kill it when it overruns or is no longer needed."""

import asyncio
import logging
import multiprocessing
import sys
import threading
import time
import types
from typing import TYPE_CHECKING

from emulator.runtime.bootstrap import Spec, environment_main

if TYPE_CHECKING:
    from emulator.template import Function

log = logging.getLogger("emulator.runtime")


class Environment:
    """The emulator's handle on one environment process."""

    def __init__(self, function: "Function", spec: Spec) -> None:
        self.function = function
        self.spec = spec
        self._conn, child_conn = multiprocessing.get_context("forkserver").Pipe()
        self._child_conn = child_conn
        self.process = multiprocessing.get_context("forkserver").Process(
            target=environment_main, args=(child_conn, spec), name=f"env-{function.logical_id}", daemon=True
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


class InitError(Exception):
    pass


class Exited(Exception):
    pass
