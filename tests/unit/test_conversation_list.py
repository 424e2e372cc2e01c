"""The conversation list (issue 24) with the table's Stubber: titles, whose list, cursors, rename and its refusals."""

import json
import time

import pytest
from table_items import CONVERSATION_ID, NOW, OTHER_ID

from conversation.listing import title_of
from handlers import conversations
from protocol import FRAME_LIMIT_BYTES
from protocol.listing import conversations_frame, cursor_of


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: NOW)


def call(message_event, route: str, body: dict, principal: str | None = None) -> list[dict]:
    message_event["requestContext"]["routeKey"] = route
    if principal:
        message_event["requestContext"]["authorizer"] = {"principalId": principal}
    message_event["body"] = json.dumps(body)
    conversations.handler(message_event, None)


def listed(conversation_id: str, owner: str = "-", updated: int = 1, **extra) -> dict:
    item = {
        "pk": {"S": f"conv#{conversation_id}"},
        "sk": {"N": "0"},
        "owner": {"S": owner},
        "title": {"S": f"About {conversation_id[:5]}"},
        "updatedAt": {"N": str(int(NOW * 1000) - updated)},
        "turns": {"N": "2"},
        "expiresAt": {"N": str(extra.pop("expires_at", int(NOW) + 60))},
    }
    return {**item, **extra}


def test_a_default_title_is_one_line_cut_on_a_word_boundary():
    assert title_of("  How do\n tides\twork?  ") == "How do tides work?"
    long = "word " * 20
    assert title_of(long) == ("word " * 12).strip() + "…" and len(title_of(long)) <= 61
    assert title_of("x" * 80) == "x" * 60 + "…"


def test_anonymous_ids_answer_only_live_anonymous_ones_newest_first(message_event, posts, table):
    third = "Third_conversation-0123456789abc"
    fourth = "Fourth_conversation-0123456789ab"
    items = [
        listed(CONVERSATION_ID, updated=5),
        listed(OTHER_ID, updated=1),
        listed(third, owner="user-1"),  # someone's signed-in chat: never to an anonymous caller
        {**listed(fourth), "status": {"S": "forgotten"}},
    ]
    table.add_response("batch_get_item", {"Responses": {"conversations-test": items}})
    posts.accept()
    call(message_event, "conversations", {"action": "conversations", "conversationIds": [CONVERSATION_ID, "bad"]})
    (frame,) = [json.loads(f) for f in posts.sent]
    assert [c["conversationId"] for c in frame["conversations"]] == [OTHER_ID, CONVERSATION_ID]
    assert frame["next"] is None and frame["conversations"][0]["updatedAt"].endswith(".999Z")
    keys = table.calls[0][1]["RequestItems"]["conversations-test"]["Keys"]
    assert keys == [{"pk": {"S": f"conv#{CONVERSATION_ID}"}, "sk": {"N": "0"}}]  # a made-up id is never a key


def test_signed_in_a_cursor_moves_within_the_callers_own_list_only(message_event, posts, table):
    table.add_response("query", {"Items": [listed(OTHER_ID, owner="user-1")]})
    posts.accept()
    cursor = cursor_of(123, CONVERSATION_ID)
    call(message_event, "conversations", {"action": "conversations", "next": cursor}, principal="user-1")
    query = table.calls[0][1]
    assert query["IndexName"] == "byOwner" and query["ExpressionAttributeValues"][":owner"] == {"S": "user-1"}
    assert query["ExclusiveStartKey"] == {
        "pk": {"S": f"conv#{CONVERSATION_ID}"},
        "sk": {"N": "0"},
        "listOwner": {"S": "user-1"},  # the caller's, whatever the cursor was made from
        "updatedAt": {"N": "123"},
    }
    assert json.loads(posts.sent[0])["conversations"][0]["conversationId"] == OTHER_ID


@pytest.mark.parametrize(
    ("route", "body", "code"),
    [
        ("conversations", {"action": "conversations"}, "BadRequest"),  # anonymous: name the ids
        ("conversations", {"action": "conversations", "conversationIds": [], "next": "!!"}, "BadRequest"),
        ("forget", {"action": "forget", "all": True}, "BadRequest"),  # anonymous: one by one
        ("rename", {"action": "rename", "conversationId": CONVERSATION_ID, "title": "a\u2028b"}, "BadRequest"),
        ("rename", {"action": "rename", "conversationId": CONVERSATION_ID, "title": "   "}, "BadRequest"),
        ("rename", {"action": "rename", "title": "No id"}, "ConversationNotFound"),
    ],
)
def test_bad_input_is_a_readable_error_frame_and_never_reaches_the_table(
    message_event, posts, table, route, body, code
):
    posts.accept()
    call(message_event, route, body)
    (frame,) = [json.loads(f) for f in posts.sent]
    assert (frame["type"], frame["code"]) == ("error", code) and frame["message"]
    assert table.calls == []


def test_an_id_with_more_after_a_valid_one_is_no_id_and_never_reaches_the_table(message_event, posts, table):
    """A prefix match would take the first 32 characters of a longer string as an id: only whole ids count."""
    longer = CONVERSATION_ID + "-and-more"
    posts.accept()
    call(
        message_event, "conversations", {"action": "conversations", "conversationIds": [longer, CONVERSATION_ID + "\n"]}
    )
    (frame,) = [json.loads(f) for f in posts.sent]
    assert (frame["type"], frame["conversations"], frame["next"]) == ("conversations", [], None)
    assert table.calls == []
    posts.accept()
    call(
        message_event, "conversations", {"action": "conversations", "conversationIds": [], "next": cursor_of(1, longer)}
    )
    assert json.loads(posts.sent[-1])["code"] == "BadRequest"


def test_renaming_someone_elses_or_a_forgotten_conversation_is_not_found(message_event, posts, table):
    table.add_client_error("update_item", "ConditionalCheckFailedException")
    posts.accept()
    call(message_event, "rename", {"action": "rename", "conversationId": OTHER_ID, "title": "Mine"}, "user-2")
    assert json.loads(posts.sent[0])["code"] == "ConversationNotFound"
    condition = table.calls[0][1]
    assert condition["ConditionExpression"] == "#owner = :owner AND attribute_not_exists(#status) AND expiresAt > :now"
    assert condition["ExpressionAttributeValues"][":owner"] == {"S": "user-2"}


def test_a_full_page_of_the_longest_titles_fits_one_frame():
    title = "\U0001f600" * 80  # the longest title, each character 12 bytes as JSON escapes (a surrogate pair)
    entries = [
        {"conversationId": "x" * 32, "title": title, "updatedAt": "2026-12-06T00:00:00.000Z", "turns": 10**6}
    ] * 25
    assert len(conversations_frame(entries, cursor_of(10**13, "x" * 32)).encode()) < FRAME_LIMIT_BYTES
