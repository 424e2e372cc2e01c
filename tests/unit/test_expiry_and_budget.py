"""After the door: SendText refuses a message when the connection's token has expired or the principal's daily
budget is spent (no reply is started), and StreamReply adds each reply's reported output tokens to the
principal's counter for the day (one atomic ADD)."""

import json
import time
from types import SimpleNamespace

import pytest
from bedrock_body import RawStream, frame, reply_messages
from botocore.stub import ANY

from conversation import budget as daily_budget
from handlers import sendtext, streamreply
from protocol import BUDGET_EXHAUSTED, SIGNIN_EXPIRED
from signin import session

PRINCIPAL = "11111111-2222-3333-4444-555555555555"
NOW = 1_795_750_000  # 2026-11-27 03:26 UTC


def signed_in(event: dict, exp: float) -> dict:
    event["requestContext"]["authorizer"] = {"principalId": PRINCIPAL, "sub": PRINCIPAL, "exp": str(int(exp))}
    event["body"] = json.dumps({"action": "sendtext", "text": "Hello"})
    return event


def today_key(now: float) -> dict:
    return {"pk": {"S": f"budget#{PRINCIPAL}#{time.strftime('%Y-%m-%d', time.gmtime(now))}"}, "sk": {"N": "0"}}


@pytest.fixture
def budget(monkeypatch):
    monkeypatch.setattr(daily_budget, "BUDGET", 100)


def test_an_expired_sign_in_gets_unauthorized_and_no_reply_starts(message_event, lambdas, posts):
    posts.expect(frame({"type": "error", "code": "Unauthorized", "message": SIGNIN_EXPIRED.message}))
    sendtext.handler(signed_in(message_event, exp=time.time() - 1), None)  # lambdas: no invoke queued


def test_without_sign_in_or_budget_nothing_is_checked():
    session.check({"connectionId": "c"}, time.time())  # no authorizer: nothing expires
    daily_budget.check("-", time.time())  # no budget: no table call


def test_a_spent_budget_is_quota_exceeded(table, budget):
    table.add_response(
        "get_item",
        {"Item": {"outputTokens": {"N": "100"}}},
        {"TableName": "conversations-test", "Key": today_key(NOW), "ConsistentRead": True},
    )
    with pytest.raises(type(BUDGET_EXHAUSTED)) as refused:
        daily_budget.check(PRINCIPAL, NOW)
    assert refused.value.code == "QuotaExceeded"


def test_a_refused_message_is_one_quota_exceeded_frame_and_no_reply(message_event, lambdas, posts, table, budget):
    table.add_response("get_item", {"Item": {"outputTokens": {"N": "250"}}})
    posts.expect(frame({"type": "error", "code": "QuotaExceeded", "message": BUDGET_EXHAUSTED.message}))
    sendtext.handler(signed_in(message_event, exp=time.time() + 600), None)


def stream(payload: dict) -> None:
    streamreply.handler(payload, SimpleNamespace(aws_request_id="r", get_remaining_time_in_millis=lambda: 900_000))


def test_a_reply_counts_its_reported_output_tokens_atomically(
    message_event, bedrock, posts, table, budget, handed_over
):
    table.add_response("get_item", {"Item": {"outputTokens": {"N": "40"}}})  # the check: 40 < 100
    table.fresh()
    sendtext.handler(signed_in(message_event, exp=time.time() + 600), None)
    bedrock.reply(RawStream(reply_messages(["Hi", " there"]), pace=posts.pace))
    for _ in range(3):
        posts.accept()
    table.add_response(
        "update_item",
        {},
        {
            "TableName": "conversations-test",
            "Key": today_key(time.time()),
            "UpdateExpression": "ADD outputTokens :n SET expiresAt = if_not_exists(expiresAt, :expires)",
            "ExpressionAttributeValues": {":n": {"N": "2"}, ":expires": ANY},
        },
    )
    stream(handed_over[-1])
    assert json.loads(posts.sent[-1])["type"] == "end"


def test_a_failed_count_is_logged_and_the_reply_stands(
    message_event, bedrock, posts, table, budget, handed_over, capsys
):
    table.add_response("get_item", {})
    table.fresh()
    sendtext.handler(signed_in(message_event, exp=time.time() + 600), None)
    bedrock.reply(RawStream(reply_messages(["Hi"]), pace=posts.pace))
    posts.accept()
    posts.accept()
    table.add_client_error("update_item", "ProvisionedThroughputExceededException")
    stream(handed_over[-1])
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    (failed,) = [line for line in lines if line["event"] == "budget"]
    assert failed["level"] == "ERROR" and "ProvisionedThroughputExceededException" in failed["cause"]
    assert lines[-1]["event"] == "reply" and lines[-1]["error"] is None
    assert json.loads(posts.sent[-1])["type"] == "end"
