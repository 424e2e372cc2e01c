"""Every route ends with the token that opened the connection (issue 23, item 6): history, forget and $default
answer `Unauthorized` once `exp` has passed, and read or delete nothing (the table stubber fails on any call)."""

import json
import time

import pytest
from bedrock_body import frame
from lambda_context import lambda_context
from table_items import CONVERSATION_ID, NOW, current, item

from handlers import conversations, default
from protocol import SIGNIN_EXPIRED

EXPIRED = frame({"type": "error", "code": "Unauthorized", "message": SIGNIN_EXPIRED.message})


def signed_in(event: dict, route: str, body: dict, exp: float) -> dict:
    event["requestContext"]["routeKey"] = route
    event["requestContext"]["authorizer"] = {"principalId": "-", "exp": str(int(exp))}
    event["body"] = json.dumps(body)
    return event


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: NOW)


@pytest.mark.parametrize("route", ["history", "forget"])
def test_history_and_forget_refuse_once_the_token_has_expired(message_event, posts, route):
    posts.expect(EXPIRED)
    body = {"action": route, "conversationId": CONVERSATION_ID}
    assert conversations.handler(signed_in(message_event, route, body, exp=NOW), lambda_context()) == {
        "statusCode": 200
    }


def test_history_still_reads_the_second_before_expiry(message_event, posts, table):
    table.add_response("get_item", current())
    table.add_response("query", {"Items": [item(1, "One?", "1")]})
    posts.accept()
    conversations.handler(signed_in(message_event, "history", {"action": "history"}, exp=NOW + 1), lambda_context())
    assert json.loads(posts.sent[0])["type"] == "history"


def test_default_refuses_once_the_token_has_expired(message_event, posts):
    posts.expect(EXPIRED)
    default.handler(signed_in(message_event, "$default", {"action": "chat"}, exp=NOW - 1), lambda_context())
