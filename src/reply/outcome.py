"""What became of one reply: what the model did, what the client was sent, and what it was told went wrong.
SendText fills the refusals, StreamReply the rest; the handlers log it and count it (telemetry.metrics)."""

from dataclasses import dataclass, field

from protocol import ProtocolError

GONE = "gone"  # Outcome.halted: nobody to send to (the client left, and no resume came within the grace period)


@dataclass
class Outcome:
    deltas: int = 0  # text deltas read from the model
    frames: int = 0  # frames the client was sent, control frames included
    stop_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None  # input tokens read from the prompt cache (None: caching did not apply)
    cache_write_tokens: int | None = None  # input tokens written to it
    model: str | None = None  # the model id the reply was asked of
    error: ProtocolError | None = None  # what the client was told went wrong
    cause: Exception | None = field(default=None, repr=False)  # why, for the log only
    gone: bool = False  # the client left before the reply was done, and no resume took its place
    stopped: bool = False  # nothing more can be posted to the client (it left, or a post failed)
    first_delta_at: float | None = None  # time.time() when the model's first text delta was read (metrics)
    first_frame_at: float | None = None  # time.time() when the first frame reached API Gateway (metrics)
    turn: int | None = None  # the turn's number in its conversation
    history_turns: int | None = None  # stored turns the model was sent with the new text
    generated: list[str] = field(default_factory=list, repr=False)  # every text delta the model produced
    halted: str | None = None  # why the model was stopped early: GONE, or protocol.STOPPED (the client's `stop`)
    budget: dict | None = None  # {"limit", "remaining"} of the owner's day, for the end frame

    @property
    def text(self) -> str:
        """The reply exactly as the model produced it (a client that resumed received all of it)."""
        return "".join(self.generated)

    def usage(self) -> dict[str, int | None]:
        """The end frame's `usage`, in Anthropic's names for both APIs; the cache fields only when caching applied."""
        usage = {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}
        if self.cache_read_tokens is not None or self.cache_write_tokens is not None:
            usage["cache_read_input_tokens"] = self.cache_read_tokens or 0
            usage["cache_creation_input_tokens"] = self.cache_write_tokens or 0
        return usage

    @property
    def complete(self) -> bool:
        """The model ended the reply itself: no error, no failed post, not halted (a `stop`, or nobody to send to)."""
        return self.error is None and self.cause is None and self.halted is None
