"""Test-only handler: which Python runs it, and what it can import. Standard library only, so any Python runs it."""

import importlib.util
import os
import sys
import time


def report(event: dict, context: object) -> dict:
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {
        "version": list(sys.version_info[:2]),
        "executable": sys.executable,
        "pid": os.getpid(),
        "sees_moto": importlib.util.find_spec("moto") is not None,  # one of the emulator's own packages, not Lambda's
        "boto3": importlib.util.find_spec("boto3") is not None,
    }
