"""Shared by every kind of test: sample events as files."""

import json
from pathlib import Path

import pytest

EVENTS = Path(__file__).parent / "events"


def load_event(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


@pytest.fixture
def message_event():
    """A MESSAGE event; tests set its `body`."""
    return load_event("apiGatewayWebSocketApiMessage")
