"""What the stand-in records of each request, for tests and the benchmark (`BedrockStandIn.streams`)."""

from dataclasses import dataclass


@dataclass
class StreamRecord:
    """One request to the stand-in. Times are time.monotonic(): CLOCK_MONOTONIC on Linux, one clock for every
    process on the machine, so a client in another process can compare its own readings with these."""

    operation: str  # InvokeModelWithResponseStream, InvokeModel or ConverseStream: the API the request used
    model_id: str
    started_at: float  # the request arrived
    prompt_hash: str = ""  # script.prompt_hash() of the last user text as sent, directives included
    messages: int = 0  # how many messages the request carried (history + the new one)
    system: bool = False  # whether the request carried a system prompt
    status: int = 200  # the HTTP status answered
    error: str | None = None  # Bedrock error code sent, before the stream or as its exception event
    planned: int = 0  # text deltas the reply had (after max_tokens)
    chunks: int = 0  # `chunk` events written (message_start … message_stop), the exception event excluded
    deltas: int = 0  # of which text deltas
    first_chunk_at: float | None = None
    last_chunk_at: float | None = None
    guardrail: str | None = None  # the guardrail the request carried, "id:version"
    input_tokens: int = 0  # the usage reported: input neither read from nor written to the prompt cache
    cache_read: int = 0  # input tokens read from the prompt cache
    cache_write: int = 0  # input tokens written to it
    closed_early: bool = False  # the client went away before the last message; the stand-in stopped there
    ended_at: float | None = None

    @property
    def ended(self) -> bool:
        return self.ended_at is not None
