"""One structured JSON line per event (CloudWatch Logs Insights can query the fields)."""

import json
import os
import sys

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}
_THRESHOLD = _LEVELS.get(os.environ.get("LOG_LEVEL", "INFO").upper(), 20)


def log(event: str, level: str = "INFO", **fields: object) -> None:
    """Write `{"level", "event", **fields}` to stdout, which Lambda ships to the function's log group."""
    if _LEVELS[level] < _THRESHOLD:
        return
    line = json.dumps({"level": level, "event": event, **fields}, default=str, ensure_ascii=False)
    print(line, file=sys.stdout, flush=True)
