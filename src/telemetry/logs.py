"""One structured JSON line per event (CloudWatch Logs Insights can query the fields).

Every line carries the invocation's `requestId` and the `messageId` of the client message it serves, so one
message's lines join across SendText, StreamReply and ReplyFailed (the message id is SendText's request id, which
the handover carries on). A handler calls `bind` first; Lambda runs one invocation at a time per environment, so
the module-level binding is the invocation's own until the next `bind` replaces it.
"""

import json
import os
import sys
import uuid

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}
_THRESHOLD = _LEVELS.get(os.environ.get("LOG_LEVEL", "INFO").upper(), 20)
_bound: dict[str, object] = {}


def bind(context: object, message_id: str | None = None, **fields: object) -> str:
    """Start the invocation's lines: its request id, the message's id (default: the request id) and `fields`.
    Returns the request id (a fresh one where the caller has no context, as in some tests)."""
    global _bound
    request_id = getattr(context, "aws_request_id", None) or str(uuid.uuid4())
    _bound = {"requestId": request_id, "messageId": message_id or request_id, **fields}
    return request_id


def log(event: str, level: str = "INFO", **fields: object) -> None:
    """Write `{"level", "event", requestId, messageId, **fields}` to stdout, which Lambda ships to the log group."""
    if _LEVELS[level] < _THRESHOLD:
        return
    line = json.dumps({"level": level, "event": event, **_bound, **fields}, default=str, ensure_ascii=False)
    print(line, file=sys.stdout, flush=True)
