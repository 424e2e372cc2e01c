"""CloudWatch metrics as log lines: Embedded Metric Format (EMF), so no API call and no extra permission.

CloudWatch Logs turns each EMF line into metrics in NAMESPACE with the stack and stage as dimensions
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
main.yml's alarms and dashboard read exactly the names written here. Every custom metric costs money per month,
so the only extra dimension is the reply's Outcome, on the one count metric that needs it.
"""

import json
import os
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the authorizer imports this module: it needs no botocore
    from reply.outcome import Outcome

NAMESPACE = "BedrockWsChat"
COUNT, MILLISECONDS = "Count", "Milliseconds"

# Outcomes that need a human (ReplyErrors). Not the client's mistakes (BadRequest, ConversationNotFound, ...),
# Bedrock's quota (Throttled) or the reply cap (ReplyNotStarted), each alarmed on its own, nor a client that left.
ERRORS = {"ModelError", "Internal", "Undelivered", "ReplyFailed", "StoreFailed"}


def now() -> float:
    """The epoch clock the reply's times are taken on (Outcome's marks use it too)."""
    return time.time()


def dimensions() -> dict[str, str]:
    return {"Stack": os.environ.get("STACK_NAME", "local"), "Stage": os.environ.get("STAGE", "local")}


def emit(values: dict[str, tuple[float, str]], by: dict[str, dict[str, str]] | None = None) -> dict:
    """Write one EMF line: every metric in `values` ({name: (value, unit)}) under the stack and stage; each
    metric named in `by` also under the extra dimensions given for it. Returns the line, as written."""
    base = dimensions()
    directives = [{"Namespace": NAMESPACE, "Dimensions": [sorted(base)], "Metrics": _declare(values, values)}]
    extra: dict[str, str] = {}
    for name, more in (by or {}).items():
        extra |= more
        keys = sorted(base | more)
        directives.append({"Namespace": NAMESPACE, "Dimensions": [keys], "Metrics": _declare(values, [name])})
    line = {
        "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": directives},
        **base,
        **extra,
        **{name: value for name, (value, _) in values.items()},
    }
    # stderr: Lambda ships it to the log group like stdout, and the handlers' own log lines keep stdout to themselves.
    print(json.dumps(line), file=sys.stderr, flush=True)
    return line


def _declare(values: dict[str, tuple[float, str]], names) -> list[dict]:
    return [{"Name": name, "Unit": values[name][1]} for name in names]


def outcome_name(outcome: "Outcome") -> str:
    """end, gone, the error's outcome name (its code, or the name protocol.py gives it), or Undelivered (the
    frames could not be posted for another reason than a client that left)."""
    if outcome.error is not None:
        return outcome.error.outcome_name
    if outcome.gone:
        return "gone"
    return "Undelivered" if outcome.cause else "end"


def reply(outcome: "Outcome", started_at: float, request_time_ms: int | None, name: str) -> dict:
    """A streamed reply's EMF line. `started_at` is when the function began it, `request_time_ms` when the message
    arrived (epoch ms); both on the clock of `now()`, as Outcome's marks are."""
    values: dict[str, tuple[float, str]] = {
        "Replies": (1, COUNT),
        "ReplyErrors": (int(name in ERRORS), COUNT),
        "ReplyMs": (_ms(now() - started_at), MILLISECONDS),
        "Frames": (outcome.frames, COUNT),
    }
    if outcome.first_delta_at is not None:
        values["FirstTokenMs"] = (_ms(outcome.first_delta_at - started_at), MILLISECONDS)
    if outcome.first_frame_at is not None and request_time_ms:
        values["FirstFrameMs"] = (max(0, round(outcome.first_frame_at * 1000) - request_time_ms), MILLISECONDS)
    if outcome.input_tokens is not None:
        values["InputTokens"] = (outcome.input_tokens, COUNT)
    if outcome.output_tokens is not None:
        values["OutputTokens"] = (outcome.output_tokens, COUNT)
    if outcome.cache_read_tokens is not None:  # only where prompt caching applied: no metric otherwise
        values["CacheReadTokens"] = (outcome.cache_read_tokens, COUNT)
    if outcome.cache_write_tokens is not None:
        values["CacheWriteTokens"] = (outcome.cache_write_tokens, COUNT)
    return emit(values, by={"Replies": {"Outcome": name}})


def refused(name: str) -> dict:
    """A message that got an error frame instead of a reply, from SendText (or ReplyFailed): counts only."""
    return emit({"Replies": (1, COUNT), "ReplyErrors": (int(name in ERRORS), COUNT)}, by={"Replies": {"Outcome": name}})


def connect(allowed: bool) -> dict:
    """One $connect through the sign-in authorizer: Connects, by Outcome allowed or refused."""
    return emit({"Connects": (1, COUNT)}, by={"Connects": {"Outcome": "allowed" if allowed else "refused"}})


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))
