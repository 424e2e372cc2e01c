"""bench/capacity.py: the model's arithmetic, and that it names the quota that binds first and the knob."""

import dataclasses

import pytest

from bench.capacity import Load, Quotas, Reply, bindings, first_to_bind, main, replies_at_once


def test_a_reply_posts_one_frame_per_interval_plus_the_first_and_its_closing_frames():
    reply = Reply.of(Load(reply_tokens=300, tokens_per_s=150, frame_interval_ms=100, post_ms=10))
    assert reply.stream_s == 2.0
    assert reply.frames == 1 + 20  # the first at once, then one per 100 ms over 2 s (the last when the model ends)
    assert reply.api_requests == reply.frames + 2  # + the client's message and the end frame


@pytest.mark.parametrize(
    ("interval_ms", "post_ms", "tokens_per_s", "frames"),
    [(0, 0, 150, 300), (0, 10, 150, 201), (0, 40, 150, 51), (1000, 10, 150, 3), (0, 10, 50, 300)],
)
def test_without_pacing_frames_follow_the_tokens_or_the_post_whichever_is_slower(
    interval_ms, post_ms, tokens_per_s, frames
):
    load = Load(reply_tokens=300, tokens_per_s=tokens_per_s, frame_interval_ms=interval_ms, post_ms=post_ms)
    assert Reply.of(load).frames == frames


def test_every_quota_binds_where_its_use_reaches_its_limit():
    load = Load(people=1_000)
    for b in bindings(load, Quotas(bedrock_rpm=10_000, bedrock_tpm=5_000_000)):
        assert b.people == pytest.approx(load.people / b.share)
        at_limit = {row.quota: row for row in bindings(dataclasses.replace(load, people=round(b.people)))}
        assert at_limit[b.quota].used == pytest.approx(b.limit, rel=1e-3)


def test_by_default_the_stacks_own_reply_cap_binds_first_and_without_it_lambdas_concurrency():
    first = first_to_bind(Load())
    assert first.quota.startswith("ReplyConcurrency") and first.limit == 100
    assert replies_at_once(Load(), first.people) == pytest.approx(100)
    assert first_to_bind(Load(reply_concurrency=0)).quota.startswith("Lambda concurrent executions")


def test_without_pacing_api_gateways_account_rate_binds_first_near_a_thousand_people():
    first = first_to_bind(Load(frame_interval_ms=0, reply_concurrency=0))
    assert first.quota.startswith("API Gateway requests/s") and "FrameIntervalMs" in first.knob
    assert 1_000 < first.people < 1_300


def test_the_default_interval_lets_over_a_thousand_replies_stream_before_api_gateway_binds():
    load = Load()
    (api,) = [b for b in bindings(load) if b.quota.startswith("API Gateway requests/s")]
    assert replies_at_once(load, api.people) >= 1_000
    assert api.people > 8 * first_to_bind(dataclasses.replace(load, frame_interval_ms=0)).people


def test_a_known_bedrock_quota_can_bind_first_and_unknown_ones_come_last():
    load = Load()
    assert [b.limit for b in bindings(load)][-2:] == [None, None]
    load = dataclasses.replace(load, reply_concurrency=0)
    first = first_to_bind(load, Quotas(bedrock_tpm=2_000_000))
    assert first.quota.startswith("Bedrock tokens/min") and "MaxTokens" in first.knob
    smaller = first_to_bind(dataclasses.replace(load, max_tokens=512), Quotas(bedrock_tpm=2_000_000))
    assert smaller.people > first.people, "max_tokens is reserved at the start: lowering it moves the wall"


def test_make_capacity_prints_the_first_to_bind_for_the_given_figures_and_each_size(capsys):
    assert main(["--people", "2500", "--frame-interval-ms", "0", "--reply-concurrency", "0"]) == 0
    out = capsys.readouterr().out
    assert [line.split(",")[0] for line in out.splitlines() if "people chatting" in line] == [
        "2",  # 2,500
        "100 people chatting",
        "1",  # 1,000
        "10",  # 10,000
    ]
    # Every use grows with the people, so the first to bind is the same at every size; how far past it is not.
    assert out.count("first to bind: API Gateway requests/s (account) at 1,111 people") == 4
    api_rows = [line.split() for line in out.splitlines() if line.strip().startswith("API Gateway requests/s")]
    api_shares = [next(word for word in row if word.endswith("%")) for row in api_rows]
    assert api_shares == ["225%", "9%", "90%", "900%"]
