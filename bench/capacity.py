"""`make capacity`: which AWS quota refuses first as more people chat at once, and the knob that moves it.

A steady-state model, not a measurement: people chatting at once each send `messages_per_min`; every message is
one reply of `reply_tokens` streamed at `tokens_per_s`. Per reply it counts what each quota meters (docs/capacity.md
explains every figure and its AWS source), then, since every count grows with the number of people, the number of
people at which each quota is used up. Bench figures (bench/pacing.json) check the frames-per-reply estimate.

Run: `make capacity [PEOPLE=1000 MESSAGES_PER_MIN=2 REPLY_TOKENS=400 TOKENS_PER_S=150 POST_MS=10
FRAME_INTERVAL_MS=125 MAX_TOKENS=1024 BEDROCK_RPM=... BEDROCK_TPM=...]`, or `python -m bench.capacity --help`.
"""

import argparse
import dataclasses
import math
import sys
from dataclasses import dataclass

SIZES = (100, 1_000, 10_000)  # people chatting at once, printed after the given figures


@dataclass(frozen=True)
class Load:
    people: int = 1_000  # chatting at once: connected, sending now and then
    messages_per_min: float = 2.0  # per person: one every 30 s while they chat
    reply_tokens: int = 400  # a typical answer (MaxTokens caps it)
    input_tokens: int = 2_000  # the message and the history sent with it (HistoryMaxTokens caps it)
    tokens_per_s: float = 150.0  # the model's output speed
    first_token_ms: float = 600.0  # the model's time to first token: StreamReply is held, nothing posted
    post_ms: float = 10.0  # one post to @connections, from Lambda
    frame_interval_ms: float = 125.0  # FrameIntervalMs (main.yml's default)
    reply_concurrency: float = 100  # ReplyConcurrency (main.yml's default): this stack's own cap; 0: none
    max_tokens: int = 1_024  # MaxTokens: Bedrock reserves it against tokens per minute at each request's start
    session_min: float = 30.0  # how long a person stays connected: new connections per second
    sendtext_ms: float = 100.0  # SendText's own run per message (it starts StreamReply and returns)


@dataclass(frozen=True)
class Quotas:
    """Account defaults per Region (docs/capacity.md has the sources); Bedrock's differ by account and model."""

    api_rps: float = 10_000  # API Gateway, shared by every API in the account, @connections posts included
    new_connections_per_s: float = 500  # API Gateway WebSocket, across all WebSocket APIs
    lambda_concurrency: float = 1_000  # Lambda concurrent executions, shared by every function
    table_request_units: float = 40_000  # DynamoDB on-demand, per table, read and write each
    bedrock_rpm: float | None = None  # Bedrock requests per minute for the model: read Service Quotas
    bedrock_tpm: float | None = None  # Bedrock tokens per minute for the model: read Service Quotas


@dataclass(frozen=True)
class Reply:
    """What one message costs, whoever sends it."""

    stream_s: float  # first token to last
    held_s: float  # StreamReply's execution: the model's first token, then the stream
    frames: int  # delta frames posted
    api_requests: int  # the client's message, the frames, the closing frame

    @classmethod
    def of(cls, load: Load) -> "Reply":
        stream_s = load.reply_tokens / load.tokens_per_s
        # After the first frame, one post per interval, per post (the sender is busy), or per token, whichever is
        # longest; the last frame goes when the model ends. No more frames than tokens.
        gap_s = max(load.frame_interval_ms, load.post_ms, 1000 / load.tokens_per_s) / 1000
        frames = min(load.reply_tokens, 1 + math.ceil(stream_s / gap_s))
        return cls(stream_s, load.first_token_ms / 1000 + stream_s, frames, frames + 2)


@dataclass(frozen=True)
class Binding:
    quota: str
    used: float  # at load.people
    limit: float | None  # None: unknown (no default)
    unit: str
    people: float | None  # people chatting at once when it is used up
    knob: str

    @property
    def share(self) -> float | None:
        return None if self.limit is None else self.used / self.limit


def bindings(load: Load, quotas: Quotas = Quotas()) -> list[Binding]:
    """Every quota that applies, with its use at `load` and the people at which it binds, first to bind first
    (unknown limits last)."""
    reply = Reply.of(load)
    messages_per_s = load.people * load.messages_per_min / 60
    replies_at_once = messages_per_s * reply.held_s  # Little's law
    connections_per_s = load.people / (load.session_min * 60)
    # A turn reads the conversation twice and writes twice (the reservation, then the turn), plus the daily meter's
    # two small writes (reserve, settle); a read unit is 4 KB, a write unit 1 KB, and a token about 4 bytes of text.
    read_units = 2 * math.ceil(load.input_tokens * 4 / 4096)
    write_units = 2 * math.ceil(load.reply_tokens * 4 / 1024) + 2
    reserved_tokens = load.input_tokens + load.max_tokens
    rows = [
        ("API Gateway requests/s (account)", messages_per_s * reply.api_requests + 2 * connections_per_s,
         quotas.api_rps, "req/s", "FrameIntervalMs; a quota increase (L-8A5B8E43)"),
        ("API Gateway new connections/s", connections_per_s, quotas.new_connections_per_s, "conn/s",
         "a quota increase (L-9ED1E49A)"),
        ("ReplyConcurrency (this stack's cap)", replies_at_once, load.reply_concurrency or None, "replies",
         "ReplyConcurrency: a bound on spend you chose; raise it (0: no cap)"),
        ("Lambda concurrent executions", replies_at_once + messages_per_s * load.sendtext_ms / 1000,
         quotas.lambda_concurrency, "executions", "ReplyConcurrency (caps replies); a quota increase"),
        ("DynamoDB read units/s (table)", messages_per_s * read_units, quotas.table_request_units, "RRU/s",
         "HistoryMaxTokens; a quota increase"),
        ("DynamoDB write units/s (table)", messages_per_s * write_units, quotas.table_request_units, "WRU/s",
         "MaxTokens; a quota increase"),
        ("Bedrock requests/min (model)", messages_per_s * 60, quotas.bedrock_rpm, "req/min", "a quota increase"),
        ("Bedrock tokens/min (model, reserved)", messages_per_s * 60 * reserved_tokens, quotas.bedrock_tpm,
         "tok/min", "MaxTokens, HistoryMaxTokens; a quota increase"),
    ]  # fmt: skip
    out = [
        Binding(name, used, limit, unit, None if limit is None else load.people * limit / used, knob)
        for name, used, limit, unit, knob in rows
    ]
    return sorted(out, key=lambda b: math.inf if b.people is None else b.people)


def first_to_bind(load: Load, quotas: Quotas = Quotas()) -> Binding:
    return bindings(load, quotas)[0]


def replies_at_once(load: Load, people: float) -> float:
    return people * load.messages_per_min / 60 * Reply.of(load).held_s


def report(load: Load, quotas: Quotas) -> str:
    reply = Reply.of(load)
    lines = [
        f"{load.people:,} people chatting, {load.messages_per_min:g} messages/min each, {load.reply_tokens}-token "
        f"replies at {load.tokens_per_s:g} tok/s, FrameIntervalMs={load.frame_interval_ms:g}, post {load.post_ms:g} ms",
        f"  per reply: {reply.frames} frames, {reply.api_requests} API requests, "
        f"{reply.api_requests / reply.stream_s:.1f} requests/s while it streams, StreamReply held {reply.held_s:.1f} s;"
        f" {replies_at_once(load, load.people):,.0f} replies streaming at once",
        f"  {'quota':<38} {'used':>12} {'limit':>12} {'share':>7} {'binds at (people)':>18}  knob",
    ]
    for b in bindings(load, quotas):
        limit = "unknown" if b.limit is None else f"{b.limit:,.0f}"
        share = "" if b.share is None else f"{b.share:.0%}"
        people = "set its quota" if b.people is None else f"{b.people:,.0f}"
        lines.append(f"  {b.quota:<38} {b.used:>12,.1f} {limit:>12} {share:>7} {people:>18}  {b.knob}")
    first = first_to_bind(load, quotas)
    assert first.people is not None  # API Gateway and Lambda have defaults
    lines.append(
        f"  first to bind: {first.quota} at {first.people:,.0f} people "
        f"({replies_at_once(load, first.people):,.0f} replies streaming at once)"
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> tuple[Load, Quotas]:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__.split("\n\n")[0])
    for field in dataclasses.fields(Load):
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=type(field.default), default=field.default)
    parser.add_argument("--bedrock-rpm", type=float, help="the model's requests per minute (Service Quotas)")
    parser.add_argument("--bedrock-tpm", type=float, help="the model's tokens per minute (Service Quotas)")
    args = vars(parser.parse_args(argv))
    quotas = Quotas(bedrock_rpm=args.pop("bedrock_rpm"), bedrock_tpm=args.pop("bedrock_tpm"))
    return Load(**args), quotas


def main(argv: list[str] | None = None) -> int:
    load, quotas = parse_args(argv)
    print(report(load, quotas))
    for people in (size for size in SIZES if size != load.people):
        print()
        print(report(dataclasses.replace(load, people=people), quotas))
    return 0


if __name__ == "__main__":
    sys.exit(main())
