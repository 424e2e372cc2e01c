"""The conversation list through the emulator (issue 24): main.yml + src/ on dynalite with its byOwner index, the
Bedrock stand-in, real WebSocket clients; anonymous (the client names its ids) and signed in with the local Cognito
(each principal sees only their own list)."""

import asyncio
import json

import pytest
import websockets

from tests.e2e.test_conversations import SHORT, table_of, turn
from tests.e2e.test_sign_in import connected, stack  # noqa: F401 (stack: the fixture `connected` needs)
from tests.local_cloud import receive_json

pytestmark = pytest.mark.e2e


async def ask(ws, action: str, **fields) -> dict:
    await ws.send(json.dumps({"action": action, **fields}))
    return await receive_json(ws, 10)


def seed(gateway, owner: str, count: int) -> list[str]:
    """`count` list items as StreamReply leaves them (one a second apart), straight into the table: paging needs
    more conversations than a test can chat. Their ids, newest first."""
    client, name = table_of(gateway)
    ids = [f"Seeded-conversation-{n:012d}" for n in range(count)]
    for n, conversation_id in enumerate(ids):
        item = {
            "pk": {"S": f"conv#{conversation_id}"},
            "sk": {"N": "0"},
            "owner": {"S": owner},
            "title": {"S": f"Seeded {n}"},
            "updatedAt": {"N": str(1_700_000_000_000 + n * 1000)},
            "turns": {"N": "1"},
            "expiresAt": {"N": str(4_000_000_000)},
        }
        if owner != "-":
            item["listOwner"] = {"S": owner}
        client.put_item(TableName=name, Item=item)
    return ids[::-1]


async def test_anonymous_two_chats_are_listed_by_id_with_titles_then_renamed_and_forgotten(chat):
    async with chat() as gateway, websockets.connect(gateway.url) as ws:
        _, first = await turn(ws, f"{SHORT} How do tides work?\nAsk me more.")
        _, second = await turn(ws, f"{SHORT} A recipe for bread", new=True)
        ids = [first["conversationId"], second["conversationId"]]
        listed = await ask(ws, "conversations", conversationIds=[*ids, "NotAnId", "x" * 32])
        renamed = await ask(ws, "rename", conversationId=ids[0], title="  Tides  ")
        after_rename = await ask(ws, "conversations", conversationIds=ids)
        forgotten = await ask(ws, "forget", conversationId=ids[1])
        after_forget = await ask(ws, "conversations", conversationIds=ids)
        no_ids = await ask(ws, "conversations")
    assert listed["type"] == "conversations" and listed["next"] is None
    assert [(c["conversationId"], c["title"], c["turns"]) for c in listed["conversations"]] == [
        (ids[1], f"{SHORT} A recipe for bread", 1),  # newest activity first
        (ids[0], f"{SHORT} How do tides work? Ask me more.", 1),  # one line
    ]
    assert all(c["updatedAt"].endswith("Z") for c in listed["conversations"])
    assert renamed == {"type": "renamed", "conversationId": ids[0], "title": "Tides"}
    assert [c["title"] for c in after_rename["conversations"]] == [f"{SHORT} A recipe for bread", "Tides"]
    assert forgotten == {"type": "forgotten", "conversationId": ids[1]}
    assert [c["conversationId"] for c in after_forget["conversations"]] == [ids[0]]  # off the list at once
    assert no_ids["type"] == "error" and no_ids["code"] == "BadRequest" and "conversationIds" in no_ids["message"]


async def test_a_later_turn_moves_a_conversation_up_and_keeps_its_title(chat):
    async with chat() as gateway, websockets.connect(gateway.url) as ws:
        _, first = await turn(ws, f"{SHORT} Older chat")
        _, second = await turn(ws, f"{SHORT} Newer chat", new=True)
        await turn(ws, f"{SHORT} Back to the older one", conversationId=first["conversationId"])
        listed = await ask(ws, "conversations", conversationIds=[first["conversationId"], second["conversationId"]])
    assert [(c["title"], c["turns"]) for c in listed["conversations"]] == [
        (f"{SHORT} Older chat", 2),
        (f"{SHORT} Newer chat", 1),
    ]


async def test_bad_input_gets_a_readable_error_frame(chat):
    async with chat() as gateway, websockets.connect(gateway.url) as ws:
        _, end = await turn(ws, f"{SHORT} Hello")
        own = end["conversationId"]
        frames = [
            await ask(ws, "rename", conversationId=own, title="two\nlines"),
            await ask(ws, "rename", conversationId=own, title="x" * 101),
            await ask(ws, "rename", conversationId=own),
            await ask(ws, "rename", conversationId="A" * 32, title="Nobody's"),
            await ask(ws, "conversations", conversationIds="not a list"),
            await ask(ws, "conversations", conversationIds=[own] * 101),
            await ask(ws, "conversations", conversationIds=[own], next="not a cursor"),
            await ask(ws, "forget", all=True),
        ]
    assert [frame["code"] for frame in frames] == ["BadRequest"] * 3 + ["ConversationNotFound"] + ["BadRequest"] * 4
    assert all(frame["type"] == "error" and frame["message"] for frame in frames)


async def test_anonymous_ids_page_25_at_a_time_with_a_cursor(chat):
    async with chat() as gateway, websockets.connect(gateway.url) as ws:
        newest_first = seed(gateway, "-", 30)
        first = await ask(ws, "conversations", conversationIds=newest_first[::-1])
        rest = await ask(ws, "conversations", conversationIds=newest_first, next=first["next"])
    assert [c["conversationId"] for c in first["conversations"]] == newest_first[:25]
    assert [c["conversationId"] for c in rest["conversations"]] == newest_first[25:] and rest["next"] is None
    assert len(json.dumps(first)) < 32_000


async def test_signed_in_each_user_lists_pages_and_forgets_only_their_own(stack):  # noqa: F811
    async with stack() as signed_in:
        alice, bob = await connected(signed_in, "alice"), await connected(signed_in, "bob")
        try:
            _, mine = await turn(alice, f"{SHORT} Alice's first")
            _, also_mine = await turn(alice, f"{SHORT} Alice's second", new=True)
            _, theirs = await turn(bob, f"{SHORT} Bob's only")
            alice_list = await ask(alice, "conversations")
            bob_list = await ask(bob, "conversations")
            named = await ask(bob, "conversations", conversationIds=[mine["conversationId"]])
            stolen = await ask(bob, "rename", conversationId=mine["conversationId"], title="Mine now")
            everything = await ask(alice, "forget", all=True)
            emptied = await ask(alice, "conversations")
            history = await ask(alice, "history", conversationId=mine["conversationId"])
            bob_after = await ask(bob, "conversations")
            sub = await asyncio.to_thread(signed_in.sub, "bob")
            newest_first = seed(signed_in.gateway, sub, 30)
            first = await ask(bob, "conversations")
            rest = await ask(bob, "conversations", next=first["next"])
        finally:
            await alice.close()
            await bob.close()
    assert [c["conversationId"] for c in alice_list["conversations"]] == [
        also_mine["conversationId"],
        mine["conversationId"],
    ]
    assert [c["conversationId"] for c in bob_list["conversations"]] == [theirs["conversationId"]]
    assert named["conversations"] == [] and stolen["code"] == "ConversationNotFound"
    assert everything == {"type": "forgotten", "all": True, "count": 2, "more": False}
    assert emptied["conversations"] == [] and history["code"] == "ConversationNotFound"
    assert [c["conversationId"] for c in bob_after["conversations"]] == [theirs["conversationId"]]
    paged = [c["conversationId"] for c in first["conversations"] + rest["conversations"]]
    assert paged == [theirs["conversationId"], *newest_first]  # Bob's chat is newer than the seeded ones
    assert len(first["conversations"]) == 25 and rest["next"] is None


async def test_a_cursor_from_one_user_reads_only_the_other_users_own_list(stack):  # noqa: F811
    async with stack() as signed_in:
        alice, bob = await connected(signed_in, "alice"), await connected(signed_in, "bob")
        try:
            seed(signed_in.gateway, await asyncio.to_thread(signed_in.sub, "alice"), 30)
            cursor = (await ask(alice, "conversations"))["next"]
            await turn(bob, f"{SHORT} Bob's only")
            borrowed = await ask(bob, "conversations", next=cursor)
        finally:
            await alice.close()
            await bob.close()
    assert cursor is not None
    assert all(not c["conversationId"].startswith("Seeded") for c in borrowed["conversations"])
