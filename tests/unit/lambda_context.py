"""The parts of Lambda's context object our handlers read, with a fixed request id for tests that pin log lines."""

from types import SimpleNamespace

REQUEST_ID = "request-1"


def lambda_context(request_id: str = REQUEST_ID, remaining_ms: int = 900_000) -> SimpleNamespace:
    return SimpleNamespace(aws_request_id=request_id, get_remaining_time_in_millis=lambda: remaining_ms)
