"""main.yml with Auth=cognito, offline: moto's cognito-idp as the issuer, src/authorizer.py at the door, real
clients (python websockets, wscat) completing the subprotocol handshake."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from emulator import template
from emulator.cloud import LocalCloud
from emulator.services.cognito import LocalCognito
from tests.e2e.wscat import wscat_transcript
from tests.local_cloud import ARTICLE, ROOT, chat_environment, lambda_interpreters, read_reply, receive_json, sendtext

pytestmark = pytest.mark.e2e

PASSWORD = "Correct-horse-42"


class SignedIn:
    def __init__(self, cloud: LocalCloud, cognito: LocalCognito) -> None:
        self.gateway, self.cognito = cloud, cognito
        self.client = cognito.client()
        self.pool, self.app = cognito.outputs["UserPool"], cognito.outputs["UserPoolClient"]

    def user(self, username: str) -> dict:
        """Create a confirmed user (as make user does) and sign in (as make token does): the tokens."""
        self.client.admin_create_user(UserPoolId=self.pool, Username=username, MessageAction="SUPPRESS")
        self.client.admin_set_user_password(UserPoolId=self.pool, Username=username, Password=PASSWORD, Permanent=True)
        return self.client.initiate_auth(
            ClientId=self.app,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]

    def sub(self, username: str) -> str:
        attributes = self.client.admin_get_user(UserPoolId=self.pool, Username=username)["UserAttributes"]
        return next(a["Value"] for a in attributes if a["Name"] == "sub")


@pytest.fixture
def stack(standin):
    """`async with stack(**parameters) as signed_in`: main.yml with Auth=cognito (and the given parameters)."""

    @asynccontextmanager
    async def start(**parameters: str) -> AsyncIterator[SignedIn]:
        cognito = LocalCognito(template.DEFAULT_REGION)
        api = template.load(ROOT / "main.yml", {"Auth": "cognito", **parameters}, provision=cognito.provision)
        environment = {**chat_environment(standin.url), **cognito.environment}
        cloud = LocalCloud(api, environment, port=0, interpreters=lambda_interpreters())
        await cloud.start()
        try:
            yield SignedIn(cloud, cognito)
        finally:
            await cloud.stop()

    return start


@pytest.fixture
async def signed_in(stack) -> AsyncIterator[SignedIn]:
    async with stack() as running:
        yield running


async def refused(url: str, subprotocols: list[str] | None) -> int:
    with pytest.raises(InvalidStatus) as failure:
        async with websockets.connect(url, subprotocols=subprotocols):
            pass
    return failure.value.response.status_code


async def test_a_signed_in_user_chats_and_the_token_never_reaches_a_log(signed_in, caplog):
    tokens = await asyncio.to_thread(signed_in.user, "alice")
    for token in (tokens["AccessToken"], tokens["IdToken"]):
        async with websockets.connect(signed_in.gateway.url, subprotocols=["bedrock-ws-chat", token]) as ws:
            assert ws.subprotocol == "bedrock-ws-chat"
            await ws.send(sendtext(ARTICLE))
            deltas, end = await read_reply(ws)
        assert deltas and end["type"] == "end"
    sub = await asyncio.to_thread(signed_in.sub, "alice")
    messages = [record.getMessage() for record in caplog.records]
    lines = [json.loads(message) for message in messages if message.startswith('{"level"')]
    # $connect and sendtext both saw the authorizer's principal (requestContext.authorizer.principalId).
    assert [line["principalId"] for line in lines if line["event"] in ("connect", "start")] == [sub] * 4
    for token in (tokens["AccessToken"], tokens["IdToken"]):
        assert token.split(".")[2] not in caplog.text and token.split(".")[1] not in caplog.text


async def test_no_token_a_bad_token_or_a_token_without_our_protocol_is_refused(signed_in):
    token = (await asyncio.to_thread(signed_in.user, "bob"))["AccessToken"]
    url = signed_in.gateway.url
    assert await refused(url, None) == 401  # no identity source: the authorizer is not even invoked
    assert await refused(url, ["bedrock-ws-chat", token[:-8] + "AAAAAAAA"]) == 401
    assert await refused(url, ["chat", token]) == 401
    assert await refused(url, ["bedrock-ws-chat"]) == 401


async def test_wscat_signs_in_with_two_subprotocols(signed_in):
    token = (await asyncio.to_thread(signed_in.user, "carol"))["AccessToken"]
    options = ("-s", "bedrock-ws-chat", "-s", token)
    frames = await asyncio.to_thread(wscat_transcript, signed_in.gateway.url, sendtext(ARTICLE), 20.0, options)
    assert frames[-1].startswith('{"type": "end"')


async def connected(signed_in: SignedIn, username: str) -> websockets.ClientConnection:
    token = (await asyncio.to_thread(signed_in.user, username))["AccessToken"]
    return await websockets.connect(signed_in.gateway.url, subprotocols=["bedrock-ws-chat", token])


async def test_two_users_cannot_reach_each_other_s_conversations(signed_in):
    alice, bob = await connected(signed_in, "alice"), await connected(signed_in, "bob")
    try:
        await alice.send(sendtext(ARTICLE))
        _, end = await read_reply(alice)
        theirs = end["conversationId"]
        await bob.send(json.dumps({"action": "history", "conversationId": theirs}))
        assert (await receive_json(bob))["code"] == "ConversationNotFound"
        await bob.send(json.dumps({"action": "sendtext", "text": "What did she say?", "conversationId": theirs}))
        _, refused_turn = await read_reply(bob)
        assert refused_turn["code"] == "ConversationNotFound"
        await alice.send(json.dumps({"action": "history", "conversationId": theirs}))
        history = await receive_json(alice)
        assert history["type"] == "history" and history["turns"][0]["user"] == ARTICLE
    finally:
        await alice.close()
        await bob.close()


async def test_the_daily_budget_runs_out_with_quota_exceeded_per_user(stack, standin):
    # A reply's worst case: 50 output tokens at 5 each, and the article's ~10 input tokens at 1.25: ~265 units.
    async with stack(DailyTokenBudget="400", MaxTokens="50") as signed_in:
        carol, dave = await connected(signed_in, "carol"), await connected(signed_in, "dave")
        try:
            await carol.send(sendtext(ARTICLE))  # fits; what it cost is counted when it ends
            _, first = await read_reply(carol)
            usage = first["usage"]
            billed = usage["input_tokens"] + 5 * usage["output_tokens"]
            assert first["type"] == "end" and first["budget"] == {"limit": 400, "remaining": 400 - billed}
            assert 400 - billed < 265  # so the next reply's worst case no longer fits
            calls = len(standin.streams)
            await carol.send(sendtext(ARTICLE))
            _, second = await read_reply(carol)
            assert second["code"] == "QuotaExceeded"
            assert len(standin.streams) == calls  # refused before the model
            await dave.send(sendtext(ARTICLE))  # another principal has a budget of their own
            _, others = await read_reply(dave)
            assert others["type"] == "end"
        finally:
            await carol.close()
            await dave.close()


async def test_revoke_token_ends_the_refresh_token_and_only_its_own_client_may_revoke_it(signed_in):
    tokens = await asyncio.to_thread(signed_in.user, "dave")
    client, app = signed_in.client, signed_in.app

    def refresh() -> dict:
        return client.initiate_auth(
            ClientId=app, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]}
        )

    assert "AccessToken" in (await asyncio.to_thread(refresh))["AuthenticationResult"]
    with pytest.raises(client.exceptions.UnauthorizedException):
        await asyncio.to_thread(client.revoke_token, Token=tokens["RefreshToken"], ClientId="someoneelsesclient")
    await asyncio.to_thread(client.revoke_token, Token=tokens["RefreshToken"], ClientId=app)
    with pytest.raises(client.exceptions.NotAuthorizedException):
        await asyncio.to_thread(refresh)
    with pytest.raises(client.exceptions.NotAuthorizedException):  # the access tokens it issued end with it
        await asyncio.to_thread(client.get_user, AccessToken=tokens["AccessToken"])
    await asyncio.to_thread(client.revoke_token, Token=tokens["RefreshToken"], ClientId=app)  # again: nothing left
