"""The one structured log line, and LOG_LEVEL: DEBUG lines (with the user's text) appear only when asked for."""

import json
from pathlib import Path

import pytest
from lambda_context import lambda_context

from telemetry import logs


def test_one_json_line_with_level_event_the_invocations_ids_and_fields(capsys):
    assert logs.bind(lambda_context("r-1"), "m-1", connectionId="c1") == "r-1"
    logs.log("reply", frames=3, ok=True, missing=None)
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert json.loads(out) == {
        "level": "INFO",
        "event": "reply",
        "requestId": "r-1",
        "messageId": "m-1",
        "connectionId": "c1",
        "frames": 3,
        "ok": True,
        "missing": None,
    }


def test_values_json_cannot_hold_are_logged_as_text_and_unicode_stays_readable(capsys):
    logs.log("odd", path=Path("/tmp/x"), cause=ValueError("bad"), text="café 😀")
    out = capsys.readouterr().out
    assert "café 😀" in out  # not \u escapes: CloudWatch shows the line as written
    assert json.loads(out)["path"] == "/tmp/x" and json.loads(out)["cause"] == "bad"


def test_each_line_is_flushed_at_once(monkeypatch):
    """Lambda ships stdout as written; an unflushed line could land after the invocation's END, or never."""

    class Stdout:
        def __init__(self):
            self.events: list[str] = []

        def write(self, text):
            self.events.append("write")

        def flush(self):
            self.events.append("flush")

    stdout = Stdout()
    monkeypatch.setattr("sys.stdout", stdout)
    logs.log("reply")
    assert stdout.events[-1] == "flush"


@pytest.mark.parametrize(
    ("setting", "shown"),
    [
        (None, ["INFO", "WARNING", "ERROR"]),
        ("INFO", ["INFO", "WARNING", "ERROR"]),
        ("debug", ["DEBUG", "INFO", "WARNING", "ERROR"]),
        ("WARNING", ["WARNING", "ERROR"]),
        ("ERROR", ["ERROR"]),
        ("NONSENSE", ["INFO", "WARNING", "ERROR"]),
    ],
)
def test_log_level_sets_the_lowest_level_written(log_level, capsys, setting, shown):
    log_level(setting)
    for level in ("DEBUG", "INFO", "WARNING", "ERROR"):
        logs.log("e", level=level)
    assert [json.loads(line)["level"] for line in capsys.readouterr().out.splitlines()] == shown
