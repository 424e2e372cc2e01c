"""Asynchronous invocation as Lambda does it (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html).

An `Event` invocation is acknowledged (202) before it runs; the event waits in a queue, then runs in an
execution environment with only the function's own Timeout. A function error (an exception, a timeout, a
crash) is retried `MaximumRetryAttempts` times (default 2) after Lambda's delays (1 min, then 2 min; shorter
for tests); an event older than `MaximumEventAgeInSeconds` is dropped. Either way the event's invocation record
goes to the `OnFailure` destination; a success's record goes to `OnSuccess`. Retries and duplicates keep the
event's request id, as on AWS.

Faults a test can inject, for the next `count` events of a function: `duplicate` (delivered twice, as Lambda's
at-least-once queue may), `drop` (discarded at once as though it had outlived its maximum age while throttled:
never run, `EventAgeExceeded` record), `delay` (held `seconds` before the first delivery; its age counts).
"""

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from emulator.awslambda.runtime import Result
from emulator.template import Function

log = logging.getLogger("emulator.awslambda")

# Lambda waits 1 minute before the first retry and 2 minutes before the second.
RETRY_DELAYS = (60.0, 120.0)
FAULTS = ("duplicate", "drop", "delay")


@dataclass
class Fault:
    kind: Literal["duplicate", "drop", "delay"]
    function: str | None = None  # the function's name or ARN; None: any function
    seconds: float = 0.0  # delay: before the first delivery; duplicate: from queueing to the second delivery
    count: int = 1  # how many of the function's next events it applies to

    def __post_init__(self) -> None:
        if self.kind not in FAULTS:
            raise ValueError(f"fault must be one of {', '.join(FAULTS)}")
        if self.count < 1 or self.seconds < 0:
            raise ValueError("count must be >= 1 and seconds >= 0")

    def applies_to(self, function: Function) -> bool:
        return self.function is None or self.function in (function.name, function.arn)


@dataclass
class Event:
    function: Function
    payload: Any
    request_id: str
    queued_at: float  # time.monotonic()

    @property
    def age(self) -> float:
        return time.monotonic() - self.queued_at


def error_payload(result: Result) -> dict:
    """What Lambda returns (or records) for a failed invocation: errorMessage, errorType, requestId, stackTrace."""
    payload: dict[str, Any] = {"errorMessage": result.error_message or "", "errorType": result.error}
    if not result.error or "." not in result.error:  # the handler's own exception, not Sandbox.*/Runtime.*
        payload |= {"requestId": result.request_id, "stackTrace": list(result.stack_trace)}
    return payload


def invocation_record(event: Event, condition: str, attempts: int, result: Result | None) -> dict:
    """Lambda's record for a destination (invocation-async-retain-records): version 1.0, requestContext,
    requestPayload, and (once the function ran) responseContext and responsePayload."""
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": event.request_id,
            "functionArn": f"{event.function.arn}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event.payload,
    }
    if result is not None:
        response = {"statusCode": 200, "executedVersion": "$LATEST"}
        if not result.ok:
            response["functionError"] = "Unhandled"
        record["responseContext"] = response
        record["responsePayload"] = result.payload if result.ok else error_payload(result)
    return record


Invoke = Callable[[Function, Any, str], Awaitable[Result]]


class EventQueue:
    """Every function's asynchronous events; `destination(arn)` finds a template function by ARN."""

    def __init__(
        self,
        invoke: Invoke,
        destination: Callable[[str], Function | None],
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self._invoke = invoke
        self._destination = destination
        self.retry_delays = retry_delays
        self.faults: list[Fault] = []
        self._tasks: set[asyncio.Task] = set()

    def submit(self, function: Function, payload: Any) -> str:
        """Queue one event; returns its request id at once (what the 202's x-amzn-RequestId says)."""
        event = Event(function, payload, str(uuid.uuid4()), time.monotonic())
        self._spawn(self._process(event, self._take_fault(function)))
        return event.request_id

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro: Awaitable) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _take_fault(self, function: Function) -> Fault | None:
        for fault in self.faults:
            if fault.applies_to(function):
                fault.count -= 1
                if fault.count == 0:
                    self.faults.remove(fault)
                return fault
        return None

    async def _process(self, event: Event, fault: Fault | None) -> None:
        name = event.function.name
        log.info("Event %s queued RequestId: %s%s", name, event.request_id, f" (fault: {fault.kind})" if fault else "")
        if fault and fault.kind == "drop":
            log.info("Event %s RequestId: %s dropped: EventAgeExceeded", name, event.request_id)
            await self._record(event, "EventAgeExceeded", 0, None)
            return
        if fault and fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
        if fault and fault.kind == "duplicate":
            self._spawn(self._duplicate(event, fault.seconds))
        await self._deliver(event)

    async def _duplicate(self, event: Event, after: float) -> None:
        await asyncio.sleep(after)
        log.info("Event %s RequestId: %s delivered again (duplicate)", event.function.name, event.request_id)
        await self._deliver(event)

    async def _deliver(self, event: Event) -> None:
        """Run the event, retrying function errors, until it succeeds, runs out of retries or of age."""
        config = event.function.event_invoke
        attempts, result = 0, None
        while True:
            if event.age > config.maximum_event_age:
                log.info("Event %s RequestId: %s dropped: EventAgeExceeded", event.function.name, event.request_id)
                await self._record(event, "EventAgeExceeded", attempts, result)
                return
            attempts += 1
            result = await self._invoke(event.function, event.payload, event.request_id)
            if result.ok:
                await self._record(event, "Success", attempts, result)
                return
            if attempts > config.maximum_retry_attempts:
                log.info(
                    "Event %s RequestId: %s failed %d time(s) (%s): RetriesExhausted",
                    event.function.name,
                    event.request_id,
                    attempts,
                    result.error,
                )
                await self._record(event, "RetriesExhausted", attempts, result)
                return
            delay = self.retry_delays[min(attempts, len(self.retry_delays)) - 1]
            log.info(
                "Event %s RequestId: %s failed (%s), retry in %gs",
                event.function.name,
                event.request_id,
                result.error,
                delay,
            )
            await asyncio.sleep(delay)

    async def _record(self, event: Event, condition: str, attempts: int, result: Result | None) -> None:
        config = event.function.event_invoke
        arn = config.on_success if condition == "Success" else config.on_failure
        if arn is None:
            return
        if ":lambda:" not in arn:
            log.info("Destination %s is not emulated (only Lambda functions are)", arn)
            return
        destination = self._destination(arn)
        if destination is None:
            log.info("DestinationDeliveryFailures: %s is not a function of the template", arn)
            return
        # Lambda invokes a function destination asynchronously, with the destination's own retry settings.
        self.submit(destination, invocation_record(event, condition, attempts, result))
