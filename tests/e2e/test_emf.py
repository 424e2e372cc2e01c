"""EMF metrics end to end: main.yml + src/ in the emulator write one EMF line per reply with the stand-in's real
figures, one Outcome per way a reply ends; every custom metric the alarms and the dashboard read is among them;
`python -m emulator` prints the same lines and sums them up on exit."""

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys

import pytest
import websockets
from cfnlint.decode import decode

from emulator.awslambda.asynchronous import Fault
from emulator.bedrock.script import estimate_input_tokens, reply_pieces
from emulator.services.cloudwatch import Metrics
from tests.local_cloud import ARTICLE, ROOT, eventually, free_port, read_reply, receive_json, sendtext
from tests.templates.test_templates import expanded

pytestmark = pytest.mark.e2e


def emf_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith('{"_aws"')]


async def one_line(caplog: pytest.LogCaptureFixture) -> dict:
    """The reply's EMF line: written after the last frame, so wait for it."""
    (line,) = await eventually(lambda: emf_lines(caplog))
    return line


async def test_a_reply_writes_its_tokens_frames_and_times(chat, standin, caplog):
    text = f"[standin ttft_ms=300] {ARTICLE}"
    async with chat() as cloud, websockets.connect(cloud.url) as ws:
        await ws.send(sendtext(text))
        deltas, end = await read_reply(ws)
        line = await one_line(caplog)
    (record,) = standin.find(text)
    assert (line["Outcome"], line["Replies"], line["ReplyErrors"]) == ("end", 1, 0)
    # The tokens are the stand-in's usage, as the client's end frame reports them.
    assert (
        line["InputTokens"] == end["usage"]["input_tokens"] == estimate_input_tokens([text])
    )  # as sent, directive included
    assert line["OutputTokens"] == end["usage"]["output_tokens"] == record.planned == len(reply_pieces(ARTICLE))
    assert line["Frames"] == len(deltas) + 1
    assert 300 <= line["FirstTokenMs"] <= line["ReplyMs"]
    assert line["FirstFrameMs"] >= 300  # the model's first token comes before the client's first frame
    assert (line["Stack"], line["Stage"]) == ("local", "dev")  # the emulator's stack name and main.yml's stage


@pytest.mark.parametrize(
    ("message", "outcome", "errors"),
    [
        (json.dumps({"action": "sendtext"}), "BadRequest", 0),  # no text
        (sendtext(f"[standin fault=throttle] {ARTICLE}"), "Throttled", 0),
        (sendtext(f"[standin fault=midstream exception=modelStreamErrorException after=5] {ARTICLE}"), "ModelError", 1),
    ],
)
async def test_each_error_frame_is_counted_under_its_code(chat, caplog, message, outcome, errors):
    async with chat() as cloud, websockets.connect(cloud.url) as ws:
        await ws.send(message)
        _, error = await read_reply(ws, timeout=20)
        line = await one_line(caplog)
    assert error["code"] == outcome
    assert (line["Outcome"], line["Replies"], line["ReplyErrors"]) == (outcome, 1, errors)
    assert line["_aws"]["CloudWatchMetrics"][1]["Dimensions"] == [["Outcome", "Stack", "Stage"]]


async def test_a_client_that_left_is_counted_as_gone(chat, caplog):
    async with chat(parameters={"ResumeGraceSeconds": "0"}) as cloud:  # no waiting for a resume: the line comes now
        async with websockets.connect(cloud.url) as ws:
            await ws.send(sendtext(f"[standin tokens=300 rate=50 ttft_ms=0] {ARTICLE}"))
            for _ in range(5):
                assert isinstance(await receive_json(ws), str)
        line = await one_line(caplog)
    assert (line["Outcome"], line["ReplyErrors"]) == ("gone", 0)
    assert 5 <= line["Frames"] < 300


def read_by_alarms_and_dashboard() -> set[tuple[str, frozenset]]:
    """(metric name, {dimension name: value, or None where the value is the stack's own}) of every custom metric
    main.yml's alarms and dashboard read."""
    template, errors = decode(str(ROOT / "main.yml"))
    assert not errors
    read = set()
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::CloudWatch::Alarm" and props.get("Namespace") == "BedrockWsChat":
            dims = {d["Name"]: d["Value"] if isinstance(d["Value"], str) else None for d in props["Dimensions"]}
            read.add((props["MetricName"], frozenset(dims.items())))
        if resource["Type"] == "AWS::CloudWatch::Dashboard":
            for widget in json.loads(props["DashboardBody"]["Fn::Sub"])["widgets"]:
                for metric in expanded(widget["properties"].get("metrics", [])):
                    if metric[0] == "BedrockWsChat":
                        names, values = metric[2::2], metric[3:-1:2] if isinstance(metric[-1], dict) else metric[3::2]
                        dims = {n: None if v.startswith("${") else v for n, v in zip(names, values, strict=False)}
                        read.add((metric[1], frozenset(dims.items())))
    return read


async def test_every_custom_metric_the_alarms_and_dashboard_read_is_written(chat, caplog):
    async with chat() as cloud, websockets.connect(cloud.url) as ws:
        for text in (ARTICLE, f"[standin fault=throttle] {ARTICLE}"):
            await ws.send(sendtext(text))
            await read_reply(ws, timeout=20)
        # A reply that never starts (Lambda drops the event: ReplyNotStarted) and one that crashes (ReplyFailed).
        reply = cloud.api.functions["StreamReplyFunction"]
        cloud.functions.inject(Fault("drop", function=reply.name))
        await ws.send(sendtext(ARTICLE))
        await read_reply(ws, timeout=20)
        await ws.send(sendtext(f"[standin tokens=200 rate=50 ttft_ms=0] {ARTICLE}"))
        assert isinstance(await receive_json(ws), str)
        (pid,) = [e.process.pid for e in cloud.runtime._all if e.function.logical_id == reply.logical_id and e.alive]
        os.kill(pid, signal.SIGKILL)  # as an out-of-memory kill would end it
        while isinstance(frame := await receive_json(ws, timeout=20), str):
            pass
        assert frame["code"] == "Internal"
        await eventually(lambda: len(emf_lines(caplog)) == 4, timeout=20)
    outcomes = [line["Outcome"] for line in emf_lines(caplog)]
    assert outcomes == ["end", "Throttled", "ReplyNotStarted", "ReplyFailed"]
    written = set()
    for line in emf_lines(caplog):
        for directive in line["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "BedrockWsChat"
            for dimensions in directive["Dimensions"]:
                for metric in directive["Metrics"]:
                    dims = {d: None if d in ("Stack", "Stage") else line[d] for d in dimensions}
                    written.add((metric["Name"], frozenset(dims.items())))
    # Connects comes from the sign-in authorizer, off here: tests/unit/test_authorizer.py checks it against the
    # same dashboard. The cache metrics need a history past the model's cache minimum: tests/unit/test_model_apis.py.
    cache = {"CacheReadTokens", "CacheWriteTokens"}
    read = {metric for metric in read_by_alarms_and_dashboard() if metric[0] != "Connects" and metric[0] not in cache}
    assert len(read) >= 10
    assert read <= written, read - written


async def test_the_summary_adds_up_what_was_served(chat, caplog):
    metrics = Metrics()
    logging.getLogger("emulator").addHandler(metrics)
    try:
        async with chat() as cloud, websockets.connect(cloud.url) as ws:
            for text in (ARTICLE, ARTICLE, f"[standin fault=throttle] {ARTICLE}"):
                await ws.send(sendtext(text))
                await read_reply(ws, timeout=20)
            await eventually(lambda: metrics.lines == 3)
    finally:
        logging.getLogger("emulator").removeHandler(metrics)
    summary = "\n".join(metrics.summary())
    tokens = len(reply_pieces(ARTICLE))
    assert "Metrics from 3 EMF lines" in summary
    assert "BedrockWsChat Replies: 3\n" in summary
    assert "BedrockWsChat Replies by Outcome: Throttled 1, end 2\n" in summary
    assert f"BedrockWsChat OutputTokens: {2 * tokens}\n" in summary
    assert "BedrockWsChat FirstTokenMs: p50 " in summary


async def test_make_local_prints_the_emf_lines_and_a_summary_on_exit():
    port = free_port()
    command = [sys.executable, "-m", "emulator", "--port", str(port), "--standin-rate", "0", "--standin-ttft-ms", "0"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        while "Ctrl-C to stop." not in (line := process.stdout.readline()):
            assert line
        async with websockets.connect(f"ws://127.0.0.1:{port}/dev") as ws:
            await ws.send(sendtext(ARTICLE))
            await read_reply(ws)
        await asyncio.sleep(0.5)  # the EMF line follows the last frame
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    (emf,) = [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]
    assert emf["Outcome"] == "end" and emf["OutputTokens"] == len(reply_pieces(ARTICLE))
    summary = output.split("Stopping…", 1)[1]
    assert "Metrics from 1 EMF lines in the functions' logs (Stack=local, Stage=dev):" in summary
    assert "BedrockWsChat Replies by Outcome: end 1" in summary
