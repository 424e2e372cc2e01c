"""The stand-in from synchronous code: its own event loop in a daemon thread."""

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, Self, TypeVar

from .records import StreamRecord
from .server import BedrockStandIn

T = TypeVar("T")


class BackgroundStandIn:
    """A BedrockStandIn on its own event loop in a daemon thread, for synchronous callers: boto3 blocks, and
    blocking the loop that serves it would deadlock.

        with BackgroundStandIn(rate=0, ttft_ms=0) as bedrock:
            client = boto3.client("bedrock-runtime", endpoint_url=bedrock.url, …)
            bedrock.wait_ended(prompt)
    """

    def __init__(self, **options: Any) -> None:
        self.standin = BedrockStandIn(**options)  # rate, ttft_ms, host, port, guardrail: BedrockStandIn's
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bedrock-standin", daemon=True)

    @property
    def url(self) -> str:
        return self.standin.url

    @property
    def streams(self) -> list[StreamRecord]:
        return self.standin.streams

    def find(self, prompt: str) -> list[StreamRecord]:
        return self.standin.find(prompt)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run a coroutine on the stand-in's loop and wait for its result (e.g. to start a companion server)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def wait_ended(self, prompt: str, timeout: float = 10.0) -> StreamRecord:
        return self.run(self.standin.wait_ended(prompt, timeout), timeout + 1)

    def __enter__(self) -> Self:
        self._thread.start()
        self.run(self.standin.start())
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.run(self.standin.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
