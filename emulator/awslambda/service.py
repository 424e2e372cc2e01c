"""The Lambda service: a template's functions, found by name or ARN, invoked through Lambda's Invoke API.

What it does not emulate: IAM. Locally there are no roles, so every caller may invoke every function (on AWS an
execution role without `lambda:InvokeFunction` on the function gets `AccessDeniedException`, HTTP 403, and the
grant is checked by the template tests instead). Only `$LATEST` exists (no versions or aliases), and there is no
concurrency limit, hence no throttling (the `drop` fault stands in for an event throttled past its age).
"""

import logging
import socket
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from emulator.awslambda import wire
from emulator.awslambda.asynchronous import RETRY_DELAYS, EventQueue, Fault
from emulator.awslambda.runtime import Result, Runtime
from emulator.template import Function

log = logging.getLogger("emulator.awslambda")


class LambdaService:
    """Lambda's Invoke API for `functions`, run in `runtime`'s environments, on `host:port` (0: a free port)."""

    def __init__(
        self,
        functions: Iterable[Function],
        runtime: Runtime,
        region: str,
        account_id: str,
        host: str = "127.0.0.1",
        port: int = 0,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self.functions = list(functions)
        self.runtime = runtime
        self.region, self.account_id = region, account_id
        self.host, self.port = host, port
        self.queue = EventQueue(self._invoke, self.find, retry_delays)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """What functions get as AWS_ENDPOINT_URL_LAMBDA."""
        return f"http://{self.host}:{self.port}"

    def find(self, name: str) -> Function | None:
        """A function by name, ARN or partial ARN (`123456789012:function:name`), optionally `:$LATEST`."""
        name = name.removesuffix(":$LATEST")
        for function in self.functions:
            if name in (function.name, function.arn) or (":function:" in name and function.arn.endswith(f":{name}")):
                return function
        return None

    def inject(self, fault: Fault) -> None:
        """Apply `fault` to the next matching asynchronous events (see emulator/awslambda/asynchronous.py)."""
        self.queue.faults.append(fault)

    async def invoke(self, function: Function, payload: Any) -> Result:
        """RequestResponse: run now and answer with the result."""
        log.info("Invoke %s RequestResponse", function.name)
        return await self._invoke(function, payload, None)

    def invoke_async(self, function: Function, payload: Any) -> str:
        """Event: queue it, answer its request id at once."""
        request_id = self.queue.submit(function, payload)
        log.info("Invoke %s Event RequestId: %s", function.name, request_id)
        return request_id

    async def _invoke(self, function: Function, payload: Any, request_id: str | None) -> Result:
        return await self.runtime.invoke(function, payload, request_id)

    async def start(self) -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        app = web.Application(client_max_size=wire.MAX_SYNC_PAYLOAD + 1024)
        wire.add_routes(app, self)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        return self.url

    async def stop(self) -> None:
        """Stop taking requests, then cancel queued and running events (the runtime ends their environments)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.queue.stop()
