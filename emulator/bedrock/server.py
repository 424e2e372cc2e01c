"""The Bedrock runtime stand-in: InvokeModelWithResponseStream, ConverseStream (and InvokeModel) over real HTTP.

boto3 reaches it through `endpoint_url` or `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` and parses every byte with its
own code: rest-json errors, the event-stream framing (eventstream.py), the Anthropic events in
Bedrock's order (anthropic.py) or Converse's (converse.py). Prompt caching (caching.py) and a required
guardrail (guardrail.py) are modelled as Bedrock applies them. Every request is recorded (`BedrockStandIn.streams`)
so tests and the benchmark can see what the model did: when it wrote, how much, and whether the client left early.
"""

import asyncio
import json
import logging
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, replace
from functools import partial

from aiohttp import web

from . import converse, replies
from .anthropic import message_events
from .caching import PromptCache
from .directives import Directives, check_reachable, parse_directives
from .errors import INITIAL_FAULTS, STREAM_EXCEPTIONS, BedrockError
from .eventstream import chunk_event, exception_event
from .h2c import DualServer
from .invocation import Invocation
from .records import StreamRecord
from .replies import CONVERSE
from .script import estimate_input_tokens, prompt_hash, reply_pieces

log = logging.getLogger("emulator.bedrock")

STREAM = "InvokeModelWithResponseStream"
INVOKE = "InvokeModel"


class _Gone(Exception):
    """The client closed the connection: stop generating."""


class _Dropped(Exception):
    """fault=stall then=drop: end the response without its end, as a lost connection would."""


class BedrockStandIn:
    """`url = await standin.start()` … `await standin.stop()`; or `BackgroundStandIn` from synchronous code.

    `rate` is tokens (stream pieces) per second, 0 for as fast as possible; `ttft_ms` the delay before the
    first chunk. A `[standin …]` directive in the prompt overrides both for one request.
    """

    def __init__(
        self,
        rate: float = 60.0,
        ttft_ms: float = 300.0,
        host: str = "127.0.0.1",
        port: int = 0,
        guardrail: str | None = None,
    ) -> None:
        self.rate, self.ttft_ms, self.host, self.port = rate, ttft_ms, host, port
        self.guardrail = guardrail  # "id:version" every call must carry (an IAM GuardrailIdentifier condition)
        self.cache = PromptCache()
        self.streams: list[StreamRecord] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self.server: DualServer | None = None
        self._changed: asyncio.Condition | None = None
        self._stopping = False

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/model/{model_id:.+}/invoke-with-response-stream", self._invoke_stream)
        app.router.add_post("/model/{model_id:.+}/invoke", self._invoke)
        app.router.add_post("/model/{model_id:.+}/converse-stream", partial(self._invoke_stream, operation=CONVERSE))
        app.router.add_post("/model/{model_id:.+}/{operation}", self._unsupported)
        app.router.add_get("/_standin/streams", self._records)
        return app

    async def start(self) -> str:
        """Serve on host:port (port 0: a free one); returns the endpoint URL."""
        self._changed, self._stopping = asyncio.Condition(), False
        # handler_cancellation: aiohttp cancels a handler when its client disconnects, so a stream that is
        # waiting (time to first token, pacing, a stall) notices at once instead of at its next write.
        # shutdown_timeout: stop() cuts streams still running (a stall, say) instead of waiting 60 s for them.
        self._runner = web.AppRunner(self.app(), handler_cancellation=True, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        self.server = DualServer(self._runner)  # HTTP/1.1 and h2c on the one port, as Bedrock serves HTTP/2
        self.url = await self.server.start(self.host, self.port)
        return self.url

    async def stop(self) -> None:
        self._stopping = True
        if self.server is not None:
            await self.server.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def find(self, prompt: str) -> list[StreamRecord]:
        """Every request whose last user text was `prompt` (as sent, directives included), oldest first."""
        digest = prompt_hash(prompt)
        return [record for record in self.streams if record.prompt_hash == digest]

    async def wait_ended(self, prompt: str, timeout: float = 10.0) -> StreamRecord:
        """The latest request for `prompt`, once it has ended (TimeoutError if it does not in time)."""
        assert self._changed is not None, "start() first"

        def latest_ended() -> StreamRecord | None:
            records = self.find(prompt)
            return records[-1] if records and records[-1].ended else None

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(latest_ended), timeout)
        record = latest_ended()
        assert record is not None
        return record

    async def _notify(self) -> None:
        if self._changed is not None:
            async with self._changed:
                self._changed.notify_all()

    # --- requests -------------------------------------------------------------------------------------

    async def _accept(self, request: web.Request, record: StreamRecord) -> tuple[Invocation, Directives]:
        """Authorization, model id, body and directives checked as Bedrock would, or BedrockError."""
        # Signatures are not verified (any credentials will do), but an unsigned request is refused, as AWS does.
        if "Authorization" not in request.headers:
            raise BedrockError(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        invocation = replies.parse(request, record, await request.read(), self.guardrail)
        record.prompt_hash = prompt_hash(invocation.prompt)
        record.messages, record.system = invocation.messages, invocation.system
        await self._notify()
        prompt, directives = parse_directives(invocation.prompt)
        if directives.guardrail and record.guardrail is None:
            raise BedrockError.validation("Bad [standin] directive: guardrail=intervene needs a call with a guardrail")
        if directives.fault in INITIAL_FAULTS:
            raise replace(INITIAL_FAULTS[directives.fault])  # a copy: a shared exception's traceback grows
        return replace(invocation, prompt=prompt), directives

    def _begin(self, request: web.Request, operation: str) -> StreamRecord:
        record = StreamRecord(operation, request.match_info["model_id"], time.monotonic())
        self.streams.append(record)
        return record

    async def _end(self, record: StreamRecord) -> None:
        record.ended_at = time.monotonic()
        fields = {k: v for k, v in asdict(record).items() if not k.endswith("_at")}
        fields["ms"] = round((record.ended_at - record.started_at) * 1000)
        log.info(json.dumps({"event": "bedrock", **fields}))
        await self._notify()

    def _fail(self, record: StreamRecord, error: BedrockError) -> web.Response:
        record.status, record.error = error.status, error.code
        return error.response()

    async def _invoke_stream(self, request: web.Request, operation: str = STREAM) -> web.StreamResponse:
        record = self._begin(request, operation)
        try:
            invocation, directives = await self._accept(request, record)
            return await self._stream(request, record, invocation, directives)
        except BedrockError as error:
            return self._fail(record, error)
        except asyncio.CancelledError:  # the client went away while the stand-in was waiting
            record.closed_early = not self._stopping
            raise
        finally:
            await asyncio.shield(self._end(record))

    async def _stream(
        self, request: web.Request, record: StreamRecord, invocation: Invocation, directives: Directives
    ) -> web.StreamResponse:
        pieces, stop_reason = self._reply(invocation, directives)
        check_reachable(directives, len(pieces))
        if directives.guardrail:  # asynchronous mode: what streamed before the guardrail's verdict got through
            pieces, stop_reason = pieces[: directives.after], "guardrail_intervened"
        record.planned = len(pieces)
        rate, ttft_ms = self._speed(directives)
        events = replies.events(self.cache, record, invocation, pieces, stop_reason)
        await asyncio.sleep(ttft_ms / 1000)
        headers = {"Content-Type": "application/vnd.amazon.eventstream", "x-amzn-RequestId": str(uuid.uuid4())}
        if record.operation != CONVERSE:
            headers["X-Amzn-Bedrock-Content-Type"] = "application/json"
        response = web.StreamResponse(headers=headers)
        try:
            await response.prepare(request)
            await self._write_events(request, response, record, iter(events), directives, rate)
            await response.write_eof()
        except _Gone:
            record.closed_early = True
        except _Dropped:
            assert request.transport is not None
            request.transport.abort()
        return response

    async def _write_events(
        self,
        request: web.Request,
        response: web.StreamResponse,
        record: StreamRecord,
        events: Iterator[dict],
        directives: Directives,
        rate: float,
    ) -> None:
        async def write(message: bytes) -> None:
            # One event-stream message per write, as Bedrock flushes them; a closing transport means the
            # client has gone, and the rest of the reply is never generated.
            if request.transport is None or request.transport.is_closing():
                raise _Gone
            try:
                await response.write(message)
            except ConnectionError as exc:
                raise _Gone from exc

        paced_from = 0.0  # when delta 0 went out (or would have, after a stall): delta i is due offset_i later
        offset = 0.0  # i/rate, each gap varied by the jitter directive
        pace = random.Random(record.prompt_hash)  # the same prompt keeps the same rhythm
        encode = converse.encode if record.operation == CONVERSE else chunk_event
        for event in events:
            if event["type"] in ("content_block_delta", "contentBlockDelta"):
                if directives.fault == "midstream" and record.deltas == directives.after:
                    record.error = directives.exception
                    await write(exception_event(directives.exception, STREAM_EXCEPTIONS[directives.exception]))
                    return
                if directives.fault == "stall" and record.deltas == directives.after:
                    await asyncio.sleep(directives.seconds)
                    if directives.then == "drop":
                        # What a lost connection looks like to the client: no more bytes and no clean end.
                        record.error = "dropped"
                        raise _Dropped
                    paced_from = time.monotonic() - offset if rate else 0.0
                if rate:
                    paced_from = paced_from or time.monotonic()
                    if record.deltas:
                        offset += (1 + directives.jitter * (2 * pace.random() - 1)) / rate
                    await asyncio.sleep(max(0.0, paced_from + offset - time.monotonic()))
            if event["type"] == "message_stop":
                # Bedrock's metrics are measured, so fill them in now rather than when the events were built.
                now = time.monotonic()
                event["amazon-bedrock-invocationMetrics"].update(
                    invocationLatency=round((now - record.started_at) * 1000),
                    firstByteLatency=round(((record.first_chunk_at or now) - record.started_at) * 1000),
                )
            if event["type"] == "metadata":  # Converse's measured latency
                event["metrics"]["latencyMs"] = round((time.monotonic() - record.started_at) * 1000)
            await write(encode(event))
            record.last_chunk_at = time.monotonic()
            record.first_chunk_at = record.first_chunk_at or record.last_chunk_at
            record.chunks += 1
            record.deltas += event["type"] in ("content_block_delta", "contentBlockDelta")

    def _speed(self, directives: Directives) -> tuple[float, float]:
        """Tokens/s and time to first token (ms) for one request: the stand-in's, unless the prompt says."""
        rate = self.rate if directives.rate is None else directives.rate
        return rate, self.ttft_ms if directives.ttft_ms is None else directives.ttft_ms

    def _reply(self, invocation: Invocation, directives: Directives) -> tuple[list[str], str]:
        pieces = reply_pieces(invocation.prompt, directives.tokens, directives.reply)
        if len(pieces) > invocation.max_tokens:
            return pieces[: invocation.max_tokens], "max_tokens"
        return pieces, "end_turn"

    async def _invoke(self, request: web.Request) -> web.Response:
        """InvokeModel: the whole reply as one Anthropic Messages response, after the time streaming would take.
        Stream faults (midstream, stall) do not apply."""
        record = self._begin(request, INVOKE)
        try:
            try:
                invocation, directives = await self._accept(request, record)
            except BedrockError as error:
                return self._fail(record, error)
            pieces, stop_reason = self._reply(invocation, directives)
            record.planned = len(pieces)
            rate, ttft_ms = self._speed(directives)
            await asyncio.sleep(ttft_ms / 1000 + (len(pieces) / rate if rate else 0.0))
            input_tokens = estimate_input_tokens(invocation.texts)
            start = next(message_events(invocation.model, pieces, input_tokens))["message"]
            body = {
                **start,
                "content": [{"type": "text", "text": "".join(pieces)}],
                "stop_reason": stop_reason,
                "usage": {"input_tokens": input_tokens, "output_tokens": len(pieces)},
            }
            record.deltas = len(pieces)
            return web.json_response(
                body,
                headers={
                    "X-Amzn-Bedrock-Input-Token-Count": str(input_tokens),
                    "X-Amzn-Bedrock-Output-Token-Count": str(len(pieces)),
                    "x-amzn-RequestId": str(uuid.uuid4()),
                },
            )
        except asyncio.CancelledError:
            record.closed_early = not self._stopping
            raise
        finally:
            await asyncio.shield(self._end(record))

    async def _unsupported(self, request: web.Request) -> web.Response:
        operation = request.match_info["operation"]
        return BedrockError(
            404, "UnknownOperationException", f"The Bedrock stand-in does not serve /{operation}"
        ).response()

    async def _records(self, request: web.Request) -> web.Response:
        """The records as JSON, for a client in another process (the stand-in run on its own)."""
        return web.json_response([{**asdict(record), "ended": record.ended} for record in self.streams])
