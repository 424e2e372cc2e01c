"""The stand-in's ConverseStream as the AWS SDK for JavaScript v3 parses it (ConverseStreamCommand over HTTP/2):
a streamed reply with its stop reason and usage, a mid-stream exception, Converse's validation error, and cache
reads reported in `usage` on the second of two calls with the same cached prefix."""

import json
import os
import shutil
import subprocess

import pytest

from emulator.bedrock.background import BackgroundStandIn
from emulator.bedrock.script import reply_pieces, scripted_reply

pytestmark = pytest.mark.e2e

SCRIPT = os.path.join(os.path.dirname(__file__), "js", "converse_stream.mjs")
NOVA = "amazon.nova-lite-v1:0"
ARTICLE = "Hello, AI! What you can do?"


def user(text: str) -> dict:
    return {"role": "user", "content": [{"text": text}]}


@pytest.fixture(scope="module")
def converse():
    node = shutil.which("node")
    assert node, "node is needed (make setup installs the SDK with npm)"
    with BackgroundStandIn(rate=0, ttft_ms=0) as standin:

        def call(messages: list[dict], model_id: str = NOVA) -> dict:
            argv = [node, SCRIPT, standin.url, model_id, json.dumps(messages)]
            env = {**os.environ, "NODE_NO_WARNINGS": "1"}
            done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True, env=env)
            return json.loads(done.stdout.strip().splitlines()[-1])

        call.standin = standin
        yield call


def test_the_sdk_parses_a_streamed_reply_its_stop_reason_and_usage(converse):
    seen = converse([user(ARTICLE)])
    assert seen["error"] is None and "".join(seen["deltas"]) == scripted_reply(ARTICLE)
    assert seen["stopReason"] == "end_turn"
    tokens = len(reply_pieces(ARTICLE))
    record = converse.standin.streams[-1]
    assert record.operation == "ConverseStream"
    usage = {"inputTokens": record.input_tokens, "outputTokens": tokens, "totalTokens": record.input_tokens + tokens}
    assert seen["usage"] == usage


def test_the_sdk_throws_the_mid_stream_exception(converse):
    seen = converse([user("[standin fault=midstream exception=throttlingException after=2] Hi")])
    assert seen["deltas"] == reply_pieces("Hi")[:2]
    assert seen["error"] == {
        "name": "ThrottlingException",
        "message": "Too many tokens, please wait before trying again.",
    }


def test_the_sdk_gets_converses_validation_error(converse):
    seen = converse([{"role": "assistant", "content": [{"text": "Hi"}]}])
    assert seen["error"]["name"] == "ValidationException"
    assert seen["error"]["message"].startswith("A conversation must start with a user message.")


def test_cache_reads_and_writes_reach_the_sdk_in_usage(converse):
    history = [
        user("Summarise: " + "lorem ipsum dolor sit amet " * 200),
        {"role": "assistant", "content": [{"text": "Done."}, {"cachePoint": {"type": "default"}}]},
    ]
    first = converse([*history, user("Go on")])
    second = converse([*history, user("And then?")])
    assert first["usage"]["cacheWriteInputTokens"] > 1000 and first["usage"]["cacheReadInputTokens"] == 0
    assert second["usage"]["cacheReadInputTokens"] == first["usage"]["cacheWriteInputTokens"]
    assert second["usage"]["cacheWriteInputTokens"] == 0
