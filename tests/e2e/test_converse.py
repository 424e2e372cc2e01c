"""main.yml + src/ with the stand-in, on the model parameters: the article's exchange through ConverseStream, a
long chat's cache reads on its end frames (both APIs), a guardrail's intervention as its error frame, the
stand-in's refusal of a call without the required guardrail, and a message choosing among the listed models."""

import json

import pytest
import websockets

from emulator.bedrock.script import reply_pieces, scripted_reply
from tests.local_cloud import ARTICLE, read_reply, sendtext

pytestmark = pytest.mark.e2e

NOVA = "amazon.nova-lite-v1:0"
HAIKU = "jp.anthropic.claude-haiku-4-5-20251001-v1:0"
GUARDRAIL = {"GuardrailId": "abc123def456", "GuardrailVersion": "1"}


async def test_the_articles_exchange_through_converse_with_nova(chat, standin):
    async with (
        chat(parameters={"ModelApi": "converse", "ModelId": NOVA}) as gateway,
        websockets.connect(gateway.url) as ws,
    ):
        await ws.send(sendtext(ARTICLE))
        deltas, end = await read_reply(ws)
    assert "".join(deltas) == scripted_reply(ARTICLE) and len(deltas) > 1
    assert end["type"] == "end" and end["stop_reason"] == "end_turn"
    assert end["usage"] == {
        "input_tokens": standin.streams[-1].input_tokens,
        "output_tokens": len(reply_pieces(ARTICLE)),
    }
    assert [(r.operation, r.model_id) for r in standin.streams] == [("ConverseStream", NOVA)]


@pytest.mark.parametrize("api", ["invoke", "converse"])
async def test_a_long_chat_reads_its_history_from_the_cache(chat, standin, api):
    """Haiku 4.5 caches from 4,096 tokens: a first message of ~5,000 makes the history cacheable at once."""
    long_question = "Please summarise this. " + "lorem ipsum dolor sit amet " * 750
    async with (
        chat(parameters={"ModelApi": api, "PromptCaching": "on"}) as gateway,
        websockets.connect(gateway.url) as ws,
    ):
        ends = []
        for text in (long_question, "And the second point?", "And the third?"):
            await ws.send(sendtext(text))
            ends.append((await read_reply(ws))[1])
    first, second, third = ends
    assert "cache_read_input_tokens" not in first["usage"]  # no history yet: no cache point
    assert second["usage"]["cache_creation_input_tokens"] > 4096 and second["usage"]["cache_read_input_tokens"] == 0
    assert third["usage"]["cache_read_input_tokens"] == second["usage"]["cache_creation_input_tokens"]
    recorded = [(r.cache_read, r.cache_write) for r in standin.streams]
    assert recorded[1:] == [
        (0, second["usage"]["cache_creation_input_tokens"]),
        (third["usage"]["cache_read_input_tokens"], third["usage"]["cache_creation_input_tokens"]),
    ]
    assert {r.operation for r in standin.streams} == {
        "ConverseStream" if api == "converse" else "InvokeModelWithResponseStream"
    }


@pytest.mark.parametrize("api", ["invoke", "converse"])
async def test_a_guardrail_intervention_reaches_the_client_as_its_frame(chat, standin, api):
    standin.guardrail = f"{GUARDRAIL['GuardrailId']}:{GUARDRAIL['GuardrailVersion']}"
    async with chat(parameters={"ModelApi": api, **GUARDRAIL}) as gateway, websockets.connect(gateway.url) as ws:
        await ws.send(sendtext("Tell me something [standin guardrail=intervene after=3 tokens=20]"))
        deltas, error = await read_reply(ws)
    assert len(deltas) <= 3 and "".join(deltas)  # asynchronous mode: what streamed before the verdict got through
    assert error["type"] == "error" and error["code"] == "GuardrailIntervened"
    assert standin.streams[-1].guardrail == standin.guardrail


async def test_the_standin_refuses_a_call_without_the_required_guardrail(chat, standin):
    standin.guardrail = "abc123def456:1"  # as IAM's GuardrailIdentifier condition would: the stack has none
    async with chat() as gateway, websockets.connect(gateway.url) as ws:
        await ws.send(sendtext(ARTICLE))
        deltas, error = await read_reply(ws)
    assert deltas == [] and error["code"] == "ModelError"
    assert (standin.streams[-1].status, standin.streams[-1].error) == (403, "AccessDeniedException")


async def test_a_message_chooses_among_the_listed_models(chat, standin):
    async with (
        chat(parameters={"ModelApi": "converse", "ModelIds": NOVA}) as gateway,
        websockets.connect(gateway.url) as ws,
    ):
        await ws.send(json.dumps({"action": "sendtext", "text": ARTICLE, "model": NOVA}))
        _, end = await read_reply(ws)
        await ws.send(json.dumps({"action": "sendtext", "text": ARTICLE}))
        _, default_end = await read_reply(ws)
        await ws.send(json.dumps({"action": "sendtext", "text": ARTICLE, "model": "meta.llama3-1-8b-instruct-v1:0"}))
        _, refused = await read_reply(ws)
    assert end["type"] == default_end["type"] == "end"
    assert [r.model_id for r in standin.streams] == [NOVA, HAIKU]
    assert refused["code"] == "BadRequest" and NOVA in refused["message"]
