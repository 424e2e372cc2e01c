"""After the door: SendText refuses a message when the connection's token has expired; it reserves each reply's
worst case against the principal's daily budget (and its replies in flight) in one conditional update, and
StreamReply or ReplyFailed settles the reservation when the reply ends."""

import json
import math
import time
from types import SimpleNamespace

import pytest
from bedrock_body import RawStream, frame, reply_messages
from botocore.stub import ANY, Stubber

from conversation import budget as daily_budget
from handlers import sendtext, streamreply
from protocol import BUDGET_EXHAUSTED, SIGNIN_EXPIRED, TOO_MANY_REPLIES
from reply import start
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
    monkeypatch.setattr(daily_budget, "BUDGET", 100_000)


def test_an_expired_sign_in_gets_unauthorized_and_no_reply_starts(message_event, lambdas, posts):
    posts.expect(frame({"type": "error", "code": "Unauthorized", "message": SIGNIN_EXPIRED.message}))
    sendtext.handler(signed_in(message_event, exp=time.time() - 1), None)  # lambdas: no invoke queued


def test_without_sign_in_or_budget_nothing_is_checked():
    session.check({"connectionId": "c"}, time.time())  # no authorizer: nothing expires
    assert daily_budget.reserve("-", [], time.time()) is None  # no budget, no limit: no table call


def worst_case(text: str = "Hello") -> int:
    """A reply's reservation: MaxTokens of output (x5) and its input as if all written to the cache (x1.25)."""
    return math.ceil(1024 * 5 + 1.25 * math.ceil(len(text.encode()) / 3))


def begins(table) -> None:
    table.add_response("get_item", {})  # SendText: the connection's current conversation (none)
    table.add_response("put_item", {})  # ... made the connection's


def test_a_message_reserves_its_worst_case_and_a_place_in_flight_in_one_conditional_update(
    message_event, table, budget, handed_over, monkeypatch
):
    monkeypatch.setattr(daily_budget, "MAX_IN_FLIGHT", 2)
    begins(table)
    table.add_response(
        "update_item",
        {"Attributes": {"spent": {"N": str(40 + worst_case())}}},
        {
            "TableName": "conversations-test",
            "Key": today_key(time.time()),
            "UpdateExpression": "ADD spent :units, inFlight :flight SET expiresAt = if_not_exists(expiresAt, :expires)",
            "ConditionExpression": (
                "(attribute_not_exists(spent) OR spent <= :room) AND "
                "(attribute_not_exists(inFlight) OR inFlight < :most)"
            ),
            "ExpressionAttributeValues": {
                ":units": {"N": str(worst_case())},
                ":flight": {"N": "1"},
                ":room": {"N": str(100_000 - worst_case())},
                ":most": {"N": "2"},
                ":expires": ANY,
            },
            "ReturnValues": "UPDATED_NEW",
        },
    )
    sendtext.handler(signed_in(message_event, exp=time.time() + 600), None)
    assert handed_over[-1]["budget"] == {
        "owner": PRINCIPAL,
        "day": time.strftime("%Y-%m-%d", time.gmtime()),
        "units": worst_case(),
        "in_flight": True,
    }


def test_a_long_prompt_is_metered_by_its_input_and_one_over_the_budget_never_starts(monkeypatch):
    """Finding 2: 100,000 characters ending "answer in one word" cost ~33,000 input tokens, not one output token.
    The table's Stubber has nothing queued: the worst case alone is over the budget, so no call is made."""
    text = "x" * 100_000 + " answer in one word"
    monkeypatch.setattr(daily_budget, "BUDGET", 40_000)
    assert worst_case(text) > 40_000 > worst_case()
    with pytest.raises(type(BUDGET_EXHAUSTED)) as refused:
        daily_budget.reserve(PRINCIPAL, [{"role": "user", "content": [{"type": "text", "text": text}]}], time.time())
    assert refused.value == BUDGET_EXHAUSTED


@pytest.mark.parametrize(
    ("stored", "code"),
    [
        ({"spent": {"N": "99000"}, "inFlight": {"N": "0"}}, "QuotaExceeded"),
        ({"inFlight": {"N": "2"}}, "TooManyReplies"),
    ],
)
def test_a_reservation_that_does_not_fit_is_refused_before_the_model_with_its_reason(
    message_event, lambdas, posts, table, budget, monkeypatch, stored, code
):
    monkeypatch.setattr(daily_budget, "MAX_IN_FLIGHT", 2)
    begins(table)
    table.add_client_error("update_item", "ConditionalCheckFailedException")
    table.add_response("get_item", {"Item": {**today_key(time.time()), **stored}})  # which condition failed
    message = BUDGET_EXHAUSTED.message if code == "QuotaExceeded" else TOO_MANY_REPLIES.message
    posts.expect(frame({"type": "error", "code": code, "message": message}))
    sendtext.handler(signed_in(message_event, exp=time.time() + 600), None)  # lambdas: no invoke queued


def stream(payload: dict) -> None:
    streamreply.handler(payload, SimpleNamespace(aws_request_id="r", get_remaining_time_in_millis=lambda: 900_000))


def test_a_reply_settles_what_was_billed_and_the_end_frame_says_what_is_left(
    message_event, bedrock, posts, table, budget, handed_over
):
    begins(table)
    table.add_response("update_item", {"Attributes": {"spent": {"N": str(40 + worst_case())}}})  # reserved
    sendtext.handler(signed_in(message_event, exp=time.time() + 600), None)
    bedrock.reply(RawStream(reply_messages(["Hi", " there"]), pace=posts.pace))
    table.add_response("put_item", {})  # StreamReply: the turn
    table.add_response("update_item", {})  # ... stored
    table.add_response("update_item", {})  # ... its conversation moved up the list
    billed = 14 + 2 * 5  # the stand-in body's usage: 14 input tokens, 2 output tokens at 5 each
    table.add_response(
        "update_item",
        {"Attributes": {"spent": {"N": str(40 + billed)}}},
        {
            "TableName": "conversations-test",
            "Key": today_key(time.time()),
            "UpdateExpression": "ADD spent :units, inFlight :flight",
            "ExpressionAttributeValues": {":units": {"N": str(billed - worst_case())}, ":flight": {"N": "0"}},
            "ReturnValues": "UPDATED_NEW",
        },
    )
    for _ in range(3):
        posts.accept()
    stream(handed_over[-1])
    end = json.loads(posts.sent[-1])
    assert end["type"] == "end" and end["budget"] == {"limit": 100_000, "remaining": 100_000 - 40 - billed}


def test_a_failed_settle_is_logged_and_the_reply_stands(
    message_event, bedrock, posts, table, budget, handed_over, capsys
):
    begins(table)
    table.add_response("update_item", {"Attributes": {"spent": {"N": "1"}}})
    sendtext.handler(signed_in(message_event, exp=time.time() + 600), None)
    bedrock.reply(RawStream(reply_messages(["Hi"]), pace=posts.pace))
    table.add_response("put_item", {})
    table.add_response("update_item", {})
    table.add_response("update_item", {})
    table.add_client_error("update_item", "ProvisionedThroughputExceededException")
    posts.accept()
    posts.accept()
    stream(handed_over[-1])
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    (failed,) = [line for line in lines if line["event"] == "budget"]
    assert failed["level"] == "ERROR" and "ProvisionedThroughputExceededException" in failed["cause"]
    assert lines[-1]["event"] == "reply" and lines[-1]["error"] is None
    end = json.loads(posts.sent[-1])
    assert end["type"] == "end" and "budget" not in end  # nothing known to say


def test_a_reply_that_could_not_start_gives_its_reservation_back(message_event, posts, table, budget, monkeypatch):
    monkeypatch.setattr(daily_budget, "MAX_IN_FLIGHT", 2)
    begins(table)
    table.add_response("update_item", {"Attributes": {"spent": {"N": "1"}}})
    table.add_response(
        "update_item",
        {"Attributes": {"spent": {"N": "0"}}},
        {
            "TableName": "conversations-test",
            "Key": today_key(time.time()),
            "UpdateExpression": "ADD spent :units, inFlight :flight",
            "ExpressionAttributeValues": {":units": {"N": str(-worst_case())}, ":flight": {"N": "-1"}},
            "ReturnValues": "UPDATED_NEW",
        },
    )
    posts.accept()
    with Stubber(start.client) as invokes:
        invokes.add_client_error("invoke", "TooManyRequestsException", http_status_code=429)
        sendtext.handler(signed_in(message_event, exp=time.time() + 600), None)
    assert json.loads(posts.sent[-1])["code"] == "Throttled"


def test_what_bedrock_bills_is_weighted_by_price_cache_reads_and_writes_too():
    # Haiku 4.5's ratios: input 1, output 5, cache write 1.25, cache read 0.1 (rounded up to whole units).
    assert daily_budget.cost(100, 10, cache_write_tokens=40, cache_read_tokens=1000) == 100 + 50 + 50 + 100
    assert daily_budget.cost(0, 0, cache_read_tokens=1) == 1
    assert daily_budget.cost(3, 0) == 3


def test_anonymous_use_has_no_principal_to_count_in_flight_and_no_budget_means_no_reservation(table, monkeypatch):
    """With the daily budget off, only a signed-in principal's replies in flight are counted, and nothing is
    reserved against a budget; anonymous, nothing at all (the table's Stubber fails on any call)."""
    monkeypatch.setattr(daily_budget, "BUDGET", 0)
    monkeypatch.setattr(daily_budget, "MAX_IN_FLIGHT", 2)
    messages = [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}]
    assert daily_budget.reserve("-", messages, NOW) is None
    table.add_response(
        "update_item",
        {"Attributes": {"spent": {"N": "0"}}},
        {
            "TableName": "conversations-test",
            "Key": today_key(NOW),
            "UpdateExpression": "ADD spent :units, inFlight :flight SET expiresAt = if_not_exists(expiresAt, :expires)",
            "ConditionExpression": "(attribute_not_exists(inFlight) OR inFlight < :most)",
            "ExpressionAttributeValues": {
                ":units": {"N": "0"},
                ":flight": {"N": "1"},
                ":most": {"N": "2"},
                ":expires": ANY,
            },
            "ReturnValues": "UPDATED_NEW",
        },
    )
    reservation = daily_budget.reserve(PRINCIPAL, messages, NOW)
    assert (reservation.units, reservation.in_flight) == (0, True)
