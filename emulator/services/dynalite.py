"""The local DynamoDB: dynalite (dynalite.js, from npm) in a child process, one per emulator process.

Why dynalite, not moto's DynamoDB: both keep conditional writes, consistent reads, Query order and paging as
DynamoDB does (the conversation tests hold on either), but moto 5.2's response serializer spends about a
millisecond per returned item, so a 50-turn history Query took ~55 ms against dynalite's ~4 ms, and the emulator's
time to first frame measured moto rather than the code. What dynalite lacks: TimeToLive (UpdateTimeToLive is an
unknown operation; DynamoDB's TTL deletes days late anyway, so readers filter expired items themselves),
transactions, and ReturnValuesOnConditionCheckFailure; nothing here uses them.
"""

import atexit
import json
import shutil
import subprocess
import threading
import urllib.request
from collections import Counter
from pathlib import Path

SCRIPT = Path(__file__).with_name("dynalite.js")
_lock = threading.Lock()
_endpoint: str | None = None


class DynaliteError(RuntimeError):
    """The local DynamoDB could not start (node or the npm packages missing)."""


def endpoint() -> str:
    """dynalite's URL, started on first use; it lives as long as this process (its stdin is our pipe)."""
    global _endpoint
    with _lock:
        if _endpoint is None:
            node = shutil.which("node")
            if node is None:
                raise DynaliteError("the local DynamoDB needs Node.js (20 or later) on PATH")
            process = subprocess.Popen(
                [node, str(SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )  # its stderr is ours: a failure to start says why, above our error
            line = process.stdout.readline()
            if not line.startswith("listening "):
                process.kill()
                raise DynaliteError("dynalite did not start (its error is above); run `npm ci` or `make setup`")
            atexit.register(_stop, process)
            _endpoint = f"http://127.0.0.1:{int(line.split()[1])}"
    return _endpoint


def requests() -> Counter[str]:
    """Requests dynalite has served, by X-Amz-Target; empty before it starts."""
    if _endpoint is None:
        return Counter()
    with urllib.request.urlopen(f"{_endpoint}/_emulator/requests", timeout=5) as response:
        return Counter(json.load(response))


def _stop(process: subprocess.Popen) -> None:
    process.kill()
    process.wait(timeout=5)
