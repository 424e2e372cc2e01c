"""Sample API Gateway WebSocket events, kept as files in tests/events/ (powertools' names)."""

import json
from pathlib import Path

EVENTS = Path(__file__).parent / "events"


def load_event(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())
