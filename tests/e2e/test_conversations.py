"""Conversations through the emulator: main.yml + src/ with the Bedrock stand-in and the local DynamoDB (dynalite).

The stand-in records how many messages each request carried, so these tests see what the model was sent; the
table is read (and aged) through the emulator's own local DynamoDB client.
"""

import asyncio
import json
import secrets

import boto3
import pytest
import websockets
from botocore.exceptions import ClientError

from emulator.awslambda.asynchronous import Fault
from emulator.bedrock.script import scripted_reply
from tests.local_cloud import read_reply, receive_json

pytestmark = pytest.mark.e2e

SHORT = "[standin tokens=4]"  # every reply a few tokens: the suite stays fast


def sendtext(text: str, **fields) -> str:
    return json.dumps({"action": "sendtext", "text": text, **fields})


async def turn(ws, text: str, timeout: float = 20, **fields) -> tuple[str, dict]:
    """Send one message; the reply's text and its closing frame (end or error)."""
    message = sendtext(text, **fields)
    # API Gateway takes a client frame of at most 32 KB: a longer message goes as fragments (128 KB in all).
    await ws.send([message[i : i + 16_000] for i in range(0, len(message), 16_000)])
    deltas, frame = await read_reply(ws, timeout)
    return "".join(deltas), frame


def table_of(cloud):
    services = cloud.services
    return services.client("dynamodb"), services.resources[0].name


def stored(cloud, conversation_id: str) -> list[dict]:
    client, name = table_of(cloud)
    items = client.query(
        TableName=name,
        KeyConditionExpression="pk = :id",
        ExpressionAttributeValues={":id": {"S": conversation_id}},
        ConsistentRead=True,
    )["Items"]
    return [{key: next(iter(value.values())) for key, value in item.items()} for item in items]


async def test_one_connection_is_one_conversation_and_the_model_sees_it_grow(chat, standin):
    async with chat() as cloud, websockets.connect(cloud.url) as ws:
        ends = [(await turn(ws, f"{SHORT} Message {n}"))[1] for n in range(3)]
    assert [standin.find(f"{SHORT} Message {n}")[-1].messages for n in range(3)] == [1, 3, 5]
    assert {end["type"] for end in ends} == {"end"}
    assert len({end["conversationId"] for end in ends}) == 1
    assert standin.find(f"{SHORT} Message 0")[-1].system is False  # no SystemPrompt: the article's request


async def test_a_reconnected_client_resumes_by_id_and_its_new_connection_keeps_it(chat, standin):
    async with chat() as cloud:
        async with websockets.connect(cloud.url) as ws:
            first_reply, first = await turn(ws, f"{SHORT} Remember 42")
        async with websockets.connect(cloud.url) as ws:
            _, resumed = await turn(ws, f"{SHORT} What number?", conversationId=first["conversationId"])
            _, kept = await turn(ws, f"{SHORT} And again?")
        rows = stored(cloud, first["conversationId"])
    assert resumed["conversationId"] == kept["conversationId"] == first["conversationId"]
    assert standin.find(f"{SHORT} What number?")[-1].messages == 3
    assert standin.find(f"{SHORT} And again?")[-1].messages == 5
    assert [(row["sk"], row["status"]) for row in rows] == [("1", "complete"), ("2", "complete"), ("3", "complete")]
    assert rows[0]["assistant"] == first_reply  # exactly as the client received it


async def test_new_true_starts_a_fresh_conversation_and_keeps_the_old_one(chat, standin):
    async with chat() as cloud, websockets.connect(cloud.url) as ws:
        _, old = await turn(ws, f"{SHORT} Old topic")
        _, fresh = await turn(ws, f"{SHORT} New topic", new=True)
        _, after = await turn(ws, f"{SHORT} Still new")
        _, back = await turn(ws, f"{SHORT} Back to old", conversationId=old["conversationId"])
    assert fresh["conversationId"] != old["conversationId"] == back["conversationId"]
    assert after["conversationId"] == fresh["conversationId"]
    assert [standin.find(f"{SHORT} {t}")[-1].messages for t in ("New topic", "Still new", "Back to old")] == [1, 3, 3]


async def test_history_comes_back_in_numbered_frames_under_32_kb_that_rejoin_whole(chat):
    long_text = "".join(f'line {n} \u3042\U0001f600 "quoted"\n' for n in range(2500))  # ~70 KB as JSON
    async with chat() as cloud, websockets.connect(cloud.url, max_size=None) as ws:
        reply1, end = await turn(ws, f"{SHORT} {long_text}")
        reply2, _ = await turn(ws, f"{SHORT} short one")
        await ws.send(json.dumps({"action": "history", "conversationId": end["conversationId"]}))
        raw = [await asyncio.wait_for(ws.recv(), 20)]
        while json.loads(raw[-1])["part"] < json.loads(raw[-1])["parts"]:
            raw.append(await asyncio.wait_for(ws.recv(), 20))
    frames = [json.loads(frame) for frame in raw]
    assert all(len(frame.encode()) <= 32 * 1024 for frame in raw) and len(frames) >= 3
    assert [f["part"] for f in frames] == list(range(1, frames[0]["parts"] + 1))
    turns: dict[int, dict] = {}
    for entry in (entry for frame in frames for entry in frame["turns"]):
        joined = turns.setdefault(entry["turn"], {"user": "", "assistant": "", "status": entry["status"]})
        joined["user"] += entry["user"]
        joined["assistant"] += entry["assistant"]
    assert turns == {
        1: {"user": f"{SHORT} {long_text}", "assistant": reply1, "status": "complete"},
        2: {"user": f"{SHORT} short one", "assistant": reply2, "status": "complete"},
    }


async def test_forget_deletes_the_text_at_once_and_the_next_message_starts_afresh(chat, standin):
    async with chat() as cloud, websockets.connect(cloud.url) as ws:
        await turn(ws, f"{SHORT} Secret one")
        _, end = await turn(ws, f"{SHORT} Secret two")
        await ws.send(json.dumps({"action": "forget"}))
        forgotten = await receive_json(ws)
        left = stored(cloud, end["conversationId"])
        _, fresh = await turn(ws, f"{SHORT} After forgetting")
        _, gone = await turn(ws, f"{SHORT} Old id?", conversationId=end["conversationId"])
        await ws.send(json.dumps({"action": "history", "conversationId": end["conversationId"]}))
        history = await receive_json(ws)
    assert forgotten == {"type": "forgotten", "conversationId": end["conversationId"]}
    # Gone from the store now, not at TTL time: each turn a tombstone with the id of the message that made it, and
    # forget's marker where the next would go (no text, no owner), for an hour: no message can be stored there again.
    assert [(row["status"], set(row)) for row in left] == [
        ("forgotten", {"pk", "sk", "status", "expiresAt", "eventId"}),
        ("forgotten", {"pk", "sk", "status", "expiresAt", "eventId"}),
        ("forgotten", {"pk", "sk", "status", "expiresAt"}),
    ]
    assert fresh["conversationId"] != end["conversationId"]
    assert standin.find(f"{SHORT} After forgetting")[-1].messages == 1
    assert gone["code"] == history["code"] == "ConversationNotFound"
    assert "conversationId" not in gone


async def test_a_reply_still_on_its_way_when_its_conversation_is_forgotten_is_not_stored(chat, standin):
    """StreamReply's event waits (Lambda's queue may hold it up to 60 s); the conversation is forgotten meanwhile.
    forget's marker refuses the late reservation: nothing of that message is stored and the model is not asked."""
    async with chat() as cloud, websockets.connect(cloud.url) as ws:
        _, first = await turn(ws, f"{SHORT} Remember this")
        queue = cloud.functions.queue
        queue.faults.append(Fault("delay", function=cloud.api.functions["StreamReplyFunction"].name, seconds=2))
        await ws.send(sendtext(f"{SHORT} On its way"))
        while queue.faults:  # SendText has handed the message over (the fault is taken): now forget
            await asyncio.sleep(0.01)
        await ws.send(json.dumps({"action": "forget"}))
        forgotten = await receive_json(ws)
        late = await receive_json(ws, 20)
        left = stored(cloud, first["conversationId"])
    assert forgotten == {"type": "forgotten", "conversationId": first["conversationId"]}
    assert (late["type"], late["code"]) == ("error", "ConversationNotFound") and "conversationId" not in late
    # Turn 1's tombstone and the marker at 2: no text of either message.
    assert [(row["status"], set(row)) for row in left] == [
        ("forgotten", {"pk", "sk", "status", "expiresAt", "eventId"}),
        ("forgotten", {"pk", "sk", "status", "expiresAt"}),
    ]
    assert standin.find(f"{SHORT} On its way") == []


async def test_an_unknown_id_is_not_found_and_the_model_is_not_called(chat, standin):
    async with chat() as cloud, websockets.connect(cloud.url) as ws:
        reply, error = await turn(ws, f"{SHORT} Anyone?", conversationId=secrets.token_urlsafe(24))
    assert (reply, error["type"], error["code"]) == ("", "error", "ConversationNotFound")
    assert standin.find(f"{SHORT} Anyone?") == []


async def test_two_messages_back_to_back_one_streams_intact_the_other_is_busy(chat, standin):
    async with chat() as cloud, websockets.connect(cloud.url) as ws, websockets.connect(cloud.url) as other:
        # Two warm SendText environments, so neither racer waits for a cold start.
        (_, first), _ = await asyncio.gather(turn(ws, f"{SHORT} Warm up"), turn(other, f"{SHORT} Warm up too"))
        racing = ["[standin tokens=30 rate=20] Race A", "[standin tokens=30 rate=20] Race B"]
        await ws.send(sendtext(racing[0]))
        await ws.send(sendtext(racing[1]))
        deltas, controls = [], []
        while len(controls) < 2:
            frame = await receive_json(ws, 20)
            (deltas if isinstance(frame, str) else controls).append(frame)
        rows = stored(cloud, first["conversationId"])
    busy = [c for c in controls if c["type"] == "error"]
    (end,) = [c for c in controls if c["type"] == "end"]
    assert [(b["code"], b["conversationId"]) for b in busy] == [("ConversationBusy", first["conversationId"])]
    winner = [text for text in racing if standin.find(text)]
    assert len(winner) == 1 and "".join(deltas) == scripted_reply(winner[0].split("] ")[1], 30)
    assert end["conversationId"] == first["conversationId"]
    assert [(row["sk"], row["status"]) for row in rows] == [("1", "complete"), ("2", "complete")]


async def test_a_turn_that_failed_mid_stream_is_kept_as_partial_and_the_next_turn_still_satisfies_bedrock(
    chat, standin
):
    async with chat() as cloud, websockets.connect(cloud.url) as ws:
        await turn(ws, f"{SHORT} One")
        partial, error = await turn(
            ws, "[standin tokens=20 fault=midstream exception=modelStreamErrorException after=3] Two"
        )
        _, throttled = await turn(ws, "[standin fault=throttle] Three")
        _, end = await turn(ws, f"{SHORT} Four")
        rows = stored(cloud, end["conversationId"])
    assert (error["code"], throttled["code"], end["type"]) == ("ModelError", "Throttled", "end")
    assert [row["status"] for row in rows] == ["complete", "partial", "failed", "complete"]
    assert rows[1]["assistant"] == partial != ""
    record = standin.find(f"{SHORT} Four")[-1]
    assert (record.status, record.messages) == (200, 5)  # One, Two (partial), Four: the failed turn left out


async def test_history_is_trimmed_to_the_newest_turns_within_history_max_tokens(chat, standin):
    # Each turn below costs ~40 tokens (the user text estimated, the reply's 30 output tokens), so 100 holds two.
    async with chat(parameters={"HistoryMaxTokens": "100"}) as cloud, websockets.connect(cloud.url) as ws:
        for n in range(5):
            await turn(ws, f"[standin tokens=30] Turn {n}")
    assert [standin.find(f"[standin tokens=30] Turn {n}")[-1].messages for n in range(5)] == [1, 3, 5, 5, 5]


async def test_expired_turns_are_ignored_though_dynamodb_has_not_deleted_them_yet(chat, standin):
    async with chat() as cloud, websockets.connect(cloud.url) as ws:
        await turn(ws, f"{SHORT} Long ago")
        _, end = await turn(ws, f"{SHORT} Recently")
        client, name = table_of(cloud)

        def expire(number: int) -> None:  # TTL's clock passed it: still stored, as DynamoDB leaves it for days
            client.update_item(
                TableName=name,
                Key={"pk": {"S": end["conversationId"]}, "sk": {"N": str(number)}},
                UpdateExpression="SET expiresAt = :past",
                ExpressionAttributeValues={":past": {"N": "1000000000"}},
            )

        expire(1)
        await turn(ws, f"{SHORT} Now")
        expire(2), expire(3)
        _, gone = await turn(ws, f"{SHORT} Anyone?", conversationId=end["conversationId"])
    assert standin.find(f"{SHORT} Now")[-1].messages == 3  # Recently + Now: Long ago left out
    assert gone["code"] == "ConversationNotFound"


@pytest.mark.slow
@pytest.mark.timeout(600)  # 100 cold environments (SendText, StreamReply): minutes on a loaded 2-core machine
async def test_fifty_conversations_of_three_turns_at_once_store_every_turn_in_order(chat):
    async def converse(n: int) -> tuple[str, list[str]]:
        async with websockets.connect(cloud.url, open_timeout=30) as ws:
            replies = []
            for t in range(3):
                reply, end = await turn(ws, f"[standin tokens=3] c{n} t{t}", timeout=240)
                assert end["type"] == "end", end
                replies.append(reply)
            return end["conversationId"], replies

    async with chat() as cloud:
        results = await asyncio.gather(*(converse(n) for n in range(50)))
        assert len({conversation_id for conversation_id, _ in results}) == 50
        for n, (conversation_id, replies) in enumerate(results):
            rows = stored(cloud, conversation_id)
            assert [(r["sk"], r["user"], r["assistant"], r["status"]) for r in rows] == [
                (str(t + 1), f"[standin tokens=3] c{n} t{t}", replies[t], "complete") for t in range(3)
            ]


async def test_a_system_prompt_is_sent_only_when_one_is_configured(chat, standin):
    async with (
        chat(parameters={"SystemPrompt": "Answer in one line."}) as cloud,
        websockets.connect(cloud.url) as ws,
    ):
        await turn(ws, f"{SHORT} With a system prompt")
    record = standin.find(f"{SHORT} With a system prompt")[-1]
    assert (record.system, record.messages) == (True, 1)


@pytest.mark.parametrize(
    ("roles", "message"),
    [
        (["assistant", "user"], 'messages: first message must use the "user" role'),
        (
            ["user", "user"],
            'messages: roles must alternate between "user" and "assistant", but found multiple "user" roles in a row',
        ),
        (
            ["user", "assistant", "assistant", "user"],
            'messages: roles must alternate between "user" and "assistant", but found multiple "assistant" roles in '
            "a row",
        ),
    ],
)
async def test_the_stand_in_refuses_what_bedrock_refuses_with_bedrocks_words(standin, roles, message):
    client = boto3.client(
        "bedrock-runtime",
        endpoint_url=standin.url,
        region_name="ap-northeast-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 10,
        "messages": [
            {"role": role, "content": [{"type": "text", "text": f"turn {n}"}]} for n, role in enumerate(roles)
        ],
    }
    with pytest.raises(ClientError) as caught:
        await asyncio.to_thread(
            client.invoke_model_with_response_stream,
            modelId="jp.anthropic.claude-haiku-4-5-20251001-v1:0",
            body=json.dumps(body),
        )
    assert caught.value.response["Error"] == {"Code": "ValidationException", "Message": message}
