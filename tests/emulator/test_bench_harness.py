"""`make bench`'s harness, run small: both modes reach the client whole through the emulator. Its figures are
the benchmark's business (make bench), never asserted here."""

import logging

import pytest

from bench import static, streams
from emulator.bedrock.server import BedrockStandIn

pytestmark = pytest.mark.e2e


@pytest.fixture
async def standin():
    standin = BedrockStandIn(rate=0, ttft_ms=0)
    await standin.start()
    yield standin
    await standin.stop()


@pytest.fixture
def reports():
    reports = streams.Reports()
    logger = logging.getLogger("emulator.awslambda")
    logger.addHandler(reports)
    logger.setLevel(logging.INFO)
    yield reports
    logger.removeHandler(reports)


@pytest.mark.parametrize("mode", ["serial", "relay"])
async def test_each_mode_delivers_the_whole_reply_and_is_measured(standin, reports, mode):
    async with streams.gateway(mode, standin, latency_ms=5) as emulator:
        sample = await streams.reply(emulator, standin, reports, mode, "[standin tokens=24 rate=400] Plan it", 24)
    assert sample.frames == 24 if mode == "serial" else 1 <= sample.frames <= 24
    assert sample.overhead_ms >= 5 and sample.first_frame_ms >= 5  # every post waited for the latency L
    assert sample.handler_ms > 0


def test_the_serial_baseline_is_not_what_ships():
    assert streams.api_for("relay").routes["sendtext"].function.handler == "handlers.sendtext.handler"
    assert streams.api_for("serial").routes["sendtext"].function.handler == streams.SERIAL_HANDLER
    _, files = static.lambda_zip()
    assert "article_serial.py" not in files and all(name.endswith(".py") for name in files)
    assert "handlers/sendtext.py" in files  # the zip's root is src/: Handler handlers.sendtext.handler


@pytest.mark.parametrize("module", ["handlers.sendtext", "handlers.streamreply"])
def test_each_handler_module_imports_cold_with_the_environment_the_bench_gives_it(module):
    # make bench's cold-import figure: a handler that needs a new environment variable must get it here too.
    assert static.cold_import_ms(module, runs=1) > 0


async def test_people_chatting_get_every_reply_intact_and_are_measured():
    from bench import chatters

    result = await chatters.run(people=2, messages=2, think_s=0.05, tokens=12, rate=400, post_latency_ms=0)
    assert (result["replies"], result["intact"]) == (4, 4)
    assert set(result["first_frame_ms"]) == {"p50", "p95", "p99"} and result["frames"]["p50"] >= 1
