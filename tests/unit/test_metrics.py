"""The EMF lines: valid Embedded Metric Format, a reply's figures from StreamReply, one Outcome per way a message
ends (SendText's refusals, StreamReply's replies, ReplyFailed's records)."""

import json
import time
from types import SimpleNamespace

import pytest
from async_record import record
from bedrock_body import RawStream, reply_messages

from handlers import replyfailed, sendtext, streamreply
from telemetry import metrics

PIECES = ["Hello", "! I'm", " an AI"]


HANDED_OVER: list[dict] = []


@pytest.fixture(autouse=True)
def _handed_over(handed_over):
    global HANDED_OVER
    HANDED_OVER = handed_over


@pytest.fixture(autouse=True)
def deployed(monkeypatch):
    """main.yml's environment for SendText's dimensions."""
    monkeypatch.setenv("STACK_NAME", "chat")
    monkeypatch.setenv("STAGE", "dev")


def emf_lines(out: str) -> list[dict]:
    return [line for line in map(json.loads, out.strip().splitlines()) if "_aws" in line]


def assert_valid_emf(line: dict) -> None:
    """What CloudWatch requires to extract metrics: every declared metric and dimension is a root member."""
    directives = line["_aws"]["CloudWatchMetrics"]
    assert isinstance(line["_aws"]["Timestamp"], int)
    for directive in directives:
        assert directive["Namespace"] == metrics.NAMESPACE
        for dimension_set in directive["Dimensions"]:
            assert all(isinstance(line[key], str) for key in dimension_set)
        for metric in directive["Metrics"]:
            assert isinstance(line[metric["Name"]], int | float)
            assert metric["Unit"] in ("Count", "Milliseconds")


def run(message_event, body, capsys) -> dict:
    """The message through SendText, then (when it started a reply) StreamReply: the one EMF line written."""
    message_event["requestContext"]["requestTimeEpoch"] = int(time.time() * 1000) - 40  # API Gateway got it 40 ms ago
    sendtext.handler({**message_event, "body": body if isinstance(body, str) else json.dumps(body)}, None)
    if HANDED_OVER:
        context = SimpleNamespace(aws_request_id="stream-request", get_remaining_time_in_millis=lambda: 900_000)
        streamreply.handler(HANDED_OVER[0], context)
    (line,) = emf_lines(capsys.readouterr().err)
    assert_valid_emf(line)
    return line


def test_a_reply_reports_its_tokens_frames_and_times(message_event, bedrock, posts, table, capsys):
    table.fresh()
    bedrock.reply(RawStream(reply_messages(PIECES), pace=posts.pace))
    for _ in range(len(PIECES) + 1):
        posts.accept()
    line = run(message_event, {"action": "sendtext", "text": "Hello, AI! What you can do?"}, capsys)
    assert (line["Stack"], line["Stage"], line["Outcome"]) == ("chat", "dev", "end")
    assert (line["Replies"], line["ReplyErrors"]) == (1, 0)
    assert (line["InputTokens"], line["OutputTokens"]) == (14, len(PIECES))
    assert line["Frames"] == len(posts.sent) == len(PIECES) + 1
    assert 0 <= line["FirstTokenMs"] <= line["ReplyMs"]
    assert line["FirstFrameMs"] >= line["FirstTokenMs"]  # from SendText's start, before StreamReply's


def test_outcome_is_a_dimension_of_replies_only(message_event, bedrock, posts, table, capsys):
    # Each extra dimension on a metric is another billed custom metric.
    table.fresh()
    bedrock.reply(RawStream(reply_messages(PIECES), pace=posts.pace))
    for _ in range(len(PIECES) + 1):
        posts.accept()
    line = run(message_event, {"action": "sendtext", "text": "Hello, AI! What you can do?"}, capsys)
    base, by_outcome = line["_aws"]["CloudWatchMetrics"]
    assert base["Dimensions"] == [["Stack", "Stage"]]
    assert by_outcome == {
        "Namespace": metrics.NAMESPACE,
        "Dimensions": [["Outcome", "Stack", "Stage"]],
        "Metrics": [{"Name": "Replies", "Unit": "Count"}],
    }


def test_a_refused_message_counts_as_bad_request_not_as_an_error(message_event, bedrock, posts, capsys):
    posts.accept()
    line = run(message_event, "not json", capsys)
    assert (line["Outcome"], line["Replies"], line["ReplyErrors"]) == ("BadRequest", 1, 0)
    assert "FirstTokenMs" not in line and "InputTokens" not in line and not HANDED_OVER


@pytest.mark.parametrize(
    ("exception", "outcome", "errors"),
    [("throttlingException", "Throttled", 0), ("modelStreamErrorException", "ModelError", 1)],
)
def test_a_failed_stream_counts_its_code(message_event, bedrock, posts, table, capsys, exception, outcome, errors):
    table.fresh()
    bedrock.reply(RawStream(reply_messages(PIECES, fail_after=2, exception=exception), pace=posts.pace))
    for _ in range(3):
        posts.accept()
    line = run(message_event, {"action": "sendtext", "text": "Hello, AI! What you can do?"}, capsys)
    assert (line["Outcome"], line["ReplyErrors"], line["Frames"]) == (outcome, errors, 3)
    assert line["InputTokens"] == 14 and "FirstTokenMs" in line


def test_a_client_that_left_is_gone(message_event, bedrock, posts, table, capsys):
    table.fresh()
    bedrock.reply(RawStream(reply_messages([f"piece {i} " for i in range(40)]), pace=posts.pace))
    posts.gone()
    line = run(message_event, {"action": "sendtext", "text": "Hello, AI! What you can do?"}, capsys)
    assert (line["Outcome"], line["ReplyErrors"], line["Frames"]) == ("gone", 0, 0)
    assert "FirstFrameMs" not in line


def test_a_reply_whose_posts_fail_for_another_reason_is_undelivered_and_an_error(
    message_event, bedrock, posts, table, capsys
):
    """Not a client that left (gone, no alarm): API Gateway refused the post itself, so nobody got the reply and
    the reply-errors alarm must hear of it."""
    table.fresh()
    bedrock.reply(RawStream(reply_messages([f"piece {i} " for i in range(40)]), pace=posts.pace))
    posts.add_client_error("post_to_connection", "InternalServerErrorException", http_status_code=500)
    line = run(message_event, {"action": "sendtext", "text": "Hello, AI! What you can do?"}, capsys)
    assert (line["Outcome"], line["ReplyErrors"], line["Frames"]) == ("Undelivered", 1, 0)
    assert "Undelivered" in metrics.ERRORS


@pytest.mark.parametrize(
    ("condition", "outcome", "errors"),
    [("EventAgeExceeded", "ReplyNotStarted", 0), ("RetriesExhausted", "ReplyFailed", 1)],
)
def test_a_failed_asynchronous_reply_is_counted_by_replyfailed(posts, table, capsys, condition, outcome, errors):
    if condition == "RetriesExhausted":
        table.add_response("update_item", {})  # the turn it reserved, marked failed
    posts.accept()  # the client's error frame
    replyfailed.handler(record(condition, 1), None)
    (line,) = emf_lines(capsys.readouterr().err)
    assert (line["Outcome"], line["Replies"], line["ReplyErrors"]) == (outcome, 1, errors)
