"""The two model APIs: the article's invoke body (pinned byte for byte), Converse's request, each stream's reader,
cache points, the guardrail, and the cache usage on the end frame."""

import json
from pathlib import Path

import pytest
from bedrock_body import converse_messages, converse_stream
from botocore.stub import Stubber

from protocol import ErrorCode, ProtocolError, parse_sendtext
from reply import anthropic, bedrock, converse
from reply.outcome import Outcome
from reply.relay import close, relay
from telemetry import metrics

ROOT = Path(__file__).parents[2]

HISTORY = [
    {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
    {"role": "assistant", "content": [{"type": "text", "text": "Hello!"}]},
    {"role": "user", "content": [{"type": "text", "text": "And now?"}]},
]


def test_with_caching_off_the_invoke_body_is_the_articles_byte_for_byte():
    body = anthropic.request_body(anthropic.user_message("Hello, AI! What you can do?"), "", 1024)
    assert body == (
        '{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 1024, "messages": [{"role": "user", '
        '"content": [{"type": "text", "text": "Hello, AI! What you can do?"}]}]}'
    )


def test_invoke_cache_points_follow_the_system_prompt_and_the_historys_last_message():
    body = json.loads(anthropic.request_body(HISTORY, "Be brief.", 256, cache=True))
    assert body["system"] == [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]
    marked = [m["content"][-1].get("cache_control") for m in body["messages"]]
    assert marked == [None, {"type": "ephemeral"}, None]  # the new text is not cached: next turn's prefix ends before
    alone = json.loads(anthropic.request_body(anthropic.user_message("Hi"), "", 256, cache=True))
    assert "cache_control" not in json.dumps(alone)  # no history, no system: nothing repeats


def test_invoke_guardrail_runs_asynchronously():
    body = json.loads(anthropic.request_body(HISTORY, "", 256, guard=True))
    assert body["amazon-bedrock-guardrailConfig"] == {"streamProcessingMode": "ASYNCHRONOUS"}


def test_converse_request_converts_the_messages_and_guards_only_the_newest():
    guardrail = {"guardrailIdentifier": "abc123", "guardrailVersion": "2"}
    request = converse.request(HISTORY, "Be brief.", 256, cache=True, guardrail=guardrail)
    assert request == {
        "messages": [
            {"role": "user", "content": [{"text": "Hi"}]},
            {"role": "assistant", "content": [{"text": "Hello!"}, {"cachePoint": {"type": "default"}}]},
            {"role": "user", "content": [{"guardContent": {"text": {"text": "And now?"}}}]},
        ],
        "inferenceConfig": {"maxTokens": 256},
        "system": [{"text": "Be brief."}, {"cachePoint": {"type": "default"}}],
        "guardrailConfig": {**guardrail, "streamProcessingMode": "async"},
    }
    plain = converse.request(HISTORY[-1:], "", 256, cache=False, guardrail={})
    assert plain == {
        "messages": [{"role": "user", "content": [{"text": "And now?"}]}],
        "inferenceConfig": {"maxTokens": 256},
    }


def test_caching_applies_only_to_models_that_have_it(monkeypatch):
    monkeypatch.setattr(bedrock, "PROMPT_CACHING", True)
    assert bedrock.caches("jp.anthropic.claude-haiku-4-5-20251001-v1:0")
    assert bedrock.caches("amazon.nova-lite-v1:0")
    assert not bedrock.caches("meta.llama3-1-8b-instruct-v1:0")
    monkeypatch.setattr(bedrock, "PROMPT_CACHING", False)
    assert not bedrock.caches("jp.anthropic.claude-haiku-4-5-20251001-v1:0")


def test_converse_open_stream_sends_a_request_botocore_accepts_and_reads_its_stream(monkeypatch):
    monkeypatch.setattr(bedrock, "MODEL_API", "converse")
    monkeypatch.setattr(bedrock, "PROMPT_CACHING", True)
    monkeypatch.setattr(bedrock, "GUARDRAIL_ID", "abc123")

    def swap_stream(parsed, **_):  # Stubber cannot return a stream: put one in after the stubbed call
        parsed["stream"] = converse_stream(converse_messages(["Hi", "!"]))

    events = bedrock.client.meta.events
    events.register("after-call.bedrock-runtime.ConverseStream", swap_stream)
    try:
        with Stubber(bedrock.client) as stubber:  # it validates the parameters against ConverseStream's shape
            guardrail = {"guardrailIdentifier": "abc123", "guardrailVersion": "DRAFT"}
            expected = converse.request(HISTORY, "", 1024, True, guardrail)
            stubber.add_response("converse_stream", {}, {"modelId": "amazon.nova-lite-v1:0", **expected})
            stream, read = bedrock.open_stream(HISTORY, "amazon.nova-lite-v1:0")
            outcome = relay(stream, lambda frame: None, stream.close, Outcome(), read=read)
    finally:
        events.unregister("after-call.bedrock-runtime.ConverseStream", swap_stream)
    assert (outcome.text, outcome.stop_reason, outcome.output_tokens) == ("Hi!", "end_turn", 2)


def _relay(messages: list[bytes]) -> tuple[Outcome, list[str]]:
    sent: list[str] = []
    outcome = relay(converse_stream(messages), sent.append, lambda: None, Outcome(), read=converse.read)
    close(outcome, sent.append)
    return outcome, sent


def test_a_converse_reply_reaches_the_client_as_the_same_frames():
    outcome, sent = _relay(converse_messages(["Hel", "lo"]))
    assert "".join(json.loads(frame) for frame in sent[:-1]) == "Hello"
    assert json.loads(sent[-1]) == {
        "type": "end",
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 14, "output_tokens": 2},
    }
    assert outcome.deltas == 2


def test_a_converse_stream_exception_maps_as_the_invoke_paths_does():
    outcome, sent = _relay(converse_messages(["a", "b", "c"], fail_after=1))
    assert json.loads(sent[-1])["code"] == "Throttled" and outcome.text == "a"


def test_a_guardrail_intervention_ends_in_its_error_frame():
    outcome, sent = _relay(converse_messages(["a", "b"], stop="guardrail_intervened"))
    assert json.loads(sent[-1])["code"] == "GuardrailIntervened"
    assert outcome.stop_reason == "guardrail_intervened" and not outcome.complete


def test_converse_reader_skips_other_content_and_takes_cache_usage():
    outcome = Outcome()
    assert converse.read({"contentBlockDelta": {"delta": {"reasoningContent": {"text": "hmm"}}}}, outcome) is None
    assert converse.read({"contentBlockDelta": {"delta": {"toolUse": {"input": "{"}}}}, outcome) is None
    usage = {"inputTokens": 5, "outputTokens": 7, "cacheReadInputTokens": 4000, "cacheWriteInputTokens": 30}
    converse.read({"metadata": {"usage": usage}}, outcome)
    assert outcome.usage() == {
        "input_tokens": 5,
        "output_tokens": 7,
        "cache_read_input_tokens": 4000,
        "cache_creation_input_tokens": 30,
    }


def test_invoke_reader_takes_cache_usage_and_the_guardrails_mark():
    outcome = Outcome()
    start = {"type": "message_start", "message": {"usage": {"input_tokens": 3, "cache_read_input_tokens": 9}}}
    anthropic.read({"chunk": {"bytes": json.dumps(start).encode()}}, outcome)
    assert (outcome.cache_read_tokens, outcome.cache_write_tokens) == (9, None)
    assert outcome.usage()["cache_creation_input_tokens"] == 0
    stop = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn"},
        "amazon-bedrock-guardrailAction": "INTERVENED",
    }
    anthropic.read({"chunk": {"bytes": json.dumps(stop).encode()}}, outcome)
    assert outcome.error is not None and outcome.error.code == ErrorCode.GUARDRAIL_INTERVENED


def test_usage_has_no_cache_fields_when_caching_did_not_apply():
    assert Outcome(input_tokens=1, output_tokens=2).usage() == {"input_tokens": 1, "output_tokens": 2}


def test_sendtext_may_choose_a_listed_model_and_nothing_else(monkeypatch):
    monkeypatch.setenv("MODEL_ID", "a.model-v1:0")
    monkeypatch.setenv("MODEL_IDS", "b.model-v1:0,c.model-v1:0")
    assert parse_sendtext('{"text": "hi", "model": "c.model-v1:0"}').model == "c.model-v1:0"
    assert parse_sendtext('{"text": "hi"}').model is None
    for wrong in ('"d.model-v1:0"', "3", '["a.model-v1:0"]'):
        with pytest.raises(ProtocolError) as raised:
            parse_sendtext(f'{{"text": "hi", "model": {wrong}}}')
        assert (
            raised.value.code == ErrorCode.BAD_REQUEST
            and "a.model-v1:0, b.model-v1:0, c.model-v1:0" in raised.value.message
        )


def test_cache_tokens_are_metrics_the_dashboard_shows():
    outcome = Outcome(input_tokens=5, output_tokens=7, cache_read_tokens=4000, cache_write_tokens=30)
    line = metrics.reply(outcome, metrics.now(), None, "end")
    assert (line["CacheReadTokens"], line["CacheWriteTokens"]) == (4000, 30)
    assert "CacheReadTokens" not in metrics.reply(Outcome(), metrics.now(), None, "end")  # no caching, no metric
    dashboard = (ROOT / "main.yml").read_text()
    assert '[".", "CacheReadTokens", ".", ".", ".", "."]' in dashboard
    assert '[".", "CacheWriteTokens", ".", ".", ".", "."]' in dashboard


def test_invoke_carries_the_guardrail_as_the_calls_parameters(monkeypatch):
    monkeypatch.setattr(bedrock, "GUARDRAIL_ID", "abc123")
    monkeypatch.setattr(bedrock, "GUARDRAIL_VERSION", "4")
    with Stubber(bedrock.client) as stubber:  # validated against InvokeModelWithResponseStream's input shape
        body = anthropic.request_body(HISTORY, "", 1024, bedrock.caches(bedrock.MODEL_ID), guard=True)
        expected = {
            "modelId": bedrock.MODEL_ID,
            "body": body,
            "contentType": "application/json",
            "accept": "application/json",
            "guardrailIdentifier": "abc123",
            "guardrailVersion": "4",
        }
        stubber.add_client_error("invoke_model_with_response_stream", "ThrottlingException", expected_params=expected)
        with pytest.raises(Exception, match="ThrottlingException"):
            bedrock.open_stream(HISTORY)
