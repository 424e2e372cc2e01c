"""The stand-in as the AWS SDK for JavaScript v3 meets it (issue 15): @aws-sdk/client-bedrock-runtime's default
client talks HTTP/2 with prior knowledge to an http:// endpoint, so this is the h2c path, end to end, with the
real SDK (a devDependency, pinned) parsing every byte: a streamed reply, a mid-stream exception, an initial error."""

import concurrent.futures
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.bedrock.background import BackgroundStandIn
from emulator.bedrock.script import reply_pieces, scripted_reply

pytestmark = pytest.mark.e2e

SCRIPT = Path(__file__).parent / "js" / "bedrock_stream.mjs"
MODEL_ID = "jp.anthropic.claude-haiku-4-5-20251001-v1:0"
ARTICLE = "Hello, AI! What you can do?"
MIDSTREAM = "[standin fault=midstream exception=modelStreamErrorException after=3] Hi"
THROTTLED = "[standin fault=throttle] Hi"
LEAVING = "[standin tokens=400 rate=100] Tell me about rivers"


@pytest.fixture(scope="module")
def bedrock() -> Iterator[BackgroundStandIn]:
    with BackgroundStandIn(rate=0, ttft_ms=0) as standin:
        yield standin


@pytest.fixture(scope="module")
def sdk(bedrock: BackgroundStandIn) -> dict[str, dict]:
    """What the SDK saw for each prompt; the three node processes run at once to keep this to a few seconds."""
    node = shutil.which("node")
    assert node, "node is needed (make setup installs the SDK with npm)"

    def run(prompt: str, attempts: int, leave_after: int) -> dict:
        argv = [node, str(SCRIPT), bedrock.url, MODEL_ID, prompt, str(attempts), str(leave_after)]
        env = {**os.environ, "NODE_NO_WARNINGS": "1"}
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True, env=env)
        return json.loads(done.stdout.strip().splitlines()[-1])

    # One attempt when throttled: the SDK's retries would only add time.
    cases = {ARTICLE: (3, -1), MIDSTREAM: (3, -1), THROTTLED: (1, -1), LEAVING: (3, 5)}
    with concurrent.futures.ThreadPoolExecutor(len(cases)) as pool:
        futures = {prompt: pool.submit(run, prompt, *case) for prompt, case in cases.items()}
        return {prompt: future.result() for prompt, future in futures.items()}


def test_the_default_client_streams_the_reply_over_http2(sdk, bedrock):
    seen = sdk[ARTICLE]
    assert seen["handler"] == "NodeHttp2Handler" and seen["error"] is None
    assert "".join(seen["deltas"]) == scripted_reply(ARTICLE)
    record = bedrock.wait_ended(ARTICLE)
    assert record.status == 200 and record.deltas == record.planned and not record.closed_early
    assert bedrock.standin.server is not None and bedrock.standin.server.h2_streams >= 3


def test_a_mid_stream_exception_throws_model_stream_error_exception(sdk):
    seen = sdk[MIDSTREAM]
    assert seen["deltas"] == reply_pieces("Hi")[:3]
    assert seen["error"]["name"] == "ModelStreamErrorException"
    assert seen["error"]["message"] == "The model stopped streaming unexpectedly."


def test_an_initial_throttling_exception_is_the_modelled_error(sdk, bedrock):
    seen = sdk[THROTTLED]
    assert seen["deltas"] == []
    assert seen["error"] == {
        "name": "ThrottlingException",
        "message": "Too many requests, please wait before trying again.",
        "status": 429,
    }
    assert [record.status for record in bedrock.find(THROTTLED)] == [429]


def test_a_client_leaving_its_http2_stream_stops_the_model(sdk, bedrock):
    assert len(sdk[LEAVING]["deltas"]) == 5, sdk[LEAVING]
    record = bedrock.wait_ended(LEAVING)
    assert record.closed_early and record.deltas < record.planned == 400
