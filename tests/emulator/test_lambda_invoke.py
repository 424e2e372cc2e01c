"""Lambda's Invoke API in the emulator, through boto3's lambda client: RequestResponse and Event, Lambda's errors,
EventInvokeConfig (retries, maximum event age, destinations and their invocation record), injected faults, and
functions that invoke functions through AWS_ENDPOINT_URL_LAMBDA."""

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import boto3
import pytest
from botocore.config import Config

from emulator import template
from emulator.apigateway.registry import Quotas
from emulator.awslambda.asynchronous import Fault
from emulator.cloud import LocalCloud
from tests.emulator.probes import PROBE_CODE
from tests.local_cloud import eventually

pytestmark = pytest.mark.e2e

TEMPLATE = PROBE_CODE / "invoke.yml"
RETRY_DELAYS = (0.3, 0.6)  # Lambda's 60 s and 120 s, shortened


@pytest.fixture
def invoke_api(tmp_path: Path) -> Callable:
    """`async with invoke_api(**gateway_kwargs) as (cloud, client)`: the probe template served, with a boto3
    lambda client pointed at its Invoke API."""

    @asynccontextmanager
    async def start(**kwargs) -> AsyncIterator[tuple[LocalCloud, object]]:
        api = template.load(TEMPLATE, {"ProbeDir": str(tmp_path)})
        cloud = LocalCloud(api, port=0, retry_delays=RETRY_DELAYS, **kwargs)
        try:
            await cloud.start()
            client = boto3.client(
                "lambda",
                endpoint_url=cloud.functions.url,
                region_name=api.region,
                aws_access_key_id="test",
                aws_secret_access_key="test",
                config=Config(retries={"max_attempts": 1}),
            )
            yield cloud, client
        finally:
            await cloud.stop()

    return start


def notes(directory: Path, function: str | None = None) -> list[dict]:
    path = directory / "invocations.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    # Named functions are local-<Name>; unnamed ones local-<LogicalId>-<suffix>.
    return [line for line in lines if function is None or re.search(rf"^local-{function}(-|$)", line["function"])]


async def invoke(client, name: str, payload: object, kind: str = "RequestResponse") -> dict:
    """boto3 is synchronous and the emulator runs on this loop: call it from a thread."""
    response = await asyncio.to_thread(
        client.invoke, FunctionName=name, InvocationType=kind, Payload=json.dumps(payload).encode()
    )
    response["Body"] = response.pop("Payload").read()
    return response


def test_every_function_of_the_template_is_listed_with_its_event_invoke_config(tmp_path):
    api = template.load(TEMPLATE, {"ProbeDir": str(tmp_path)})
    assert api.routes == {}
    assert set(api.functions) == {"Worker", "Plain", "Impatient", "Starter", "Failures", "Successes"}
    worker = api.functions["Worker"].event_invoke
    assert (worker.maximum_retry_attempts, worker.maximum_event_age) == (1, 60)
    assert worker.on_failure == api.functions["Failures"].arn
    assert worker.on_success == api.functions["Successes"].arn
    plain = api.functions["Plain"].event_invoke
    assert (plain.maximum_retry_attempts, plain.maximum_event_age, plain.on_failure) == (2, 21600, None)


async def test_request_response_returns_the_handlers_value_by_name_arn_or_partial_arn(invoke_api, tmp_path):
    async with invoke_api() as (cloud, client):
        function = cloud.api.functions["Plain"]
        account_and_name = function.arn.split(":", 4)[4]
        for name in (function.name, function.arn, account_and_name, f"{function.name}:$LATEST"):
            response = await invoke(client, name, {"hello": name})
            assert response["StatusCode"] == 200
            assert response["ExecutedVersion"] == "$LATEST"
            assert "FunctionError" not in response
            assert json.loads(response["Body"])["echo"] == {"hello": name}
    assert len(notes(tmp_path, "Plain")) == 4


async def test_a_function_error_answers_200_with_lambdas_error_payload(invoke_api):
    async with invoke_api() as (cloud, client):
        response = await invoke(client, cloud.api.functions["Plain"].name, {"fail": "on purpose"})
    assert (response["StatusCode"], response["FunctionError"]) == (200, "Unhandled")
    error = json.loads(response["Body"])
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "on purpose")
    assert error["requestId"] and any("invoked.py" in line for line in error["stackTrace"])


async def test_a_timeout_answers_sandbox_timedout(invoke_api):
    async with invoke_api() as (_, client):
        response = await invoke(client, "local-Worker", {"sleep": 5})
    error = json.loads(response["Body"])
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"].endswith("Task timed out after 2.00 seconds")


async def test_unknown_functions_and_bad_payloads_get_lambdas_errors(invoke_api):
    async with invoke_api() as (_, client):
        with pytest.raises(client.exceptions.ResourceNotFoundException) as missing:
            await invoke(client, "nope", {})
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            await asyncio.to_thread(client.invoke, FunctionName="local-Worker", Qualifier="7")
        with pytest.raises(client.exceptions.InvalidRequestContentException):
            await asyncio.to_thread(client.invoke, FunctionName="local-Worker", Payload=b"{not json")
        with pytest.raises(client.exceptions.RequestTooLargeException):
            await invoke(client, "local-Worker", "x" * (1024 * 1024), kind="Event")
        dry = await asyncio.to_thread(client.invoke, FunctionName="local-Worker", InvocationType="DryRun")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert missing.value.response["Error"]["Message"] == (
        "Function not found: arn:aws:lambda:ap-northeast-1:123456789012:function:nope"
    )
    assert dry["StatusCode"] == 204


async def test_an_event_is_accepted_at_once_and_runs_past_the_integration_timeout(invoke_api, tmp_path):
    async with invoke_api(quotas=Quotas(integration_timeout=0.2)) as (cloud, client):
        started = time.monotonic()
        response = await invoke(client, "local-Worker", {"sleep": 1}, kind="Event")
        accepted = time.monotonic() - started
        assert response["StatusCode"] == 202 and response["Body"] == b""
        assert accepted < 0.5  # the function sleeps 1 s: the 202 did not wait for it
        (success,) = await eventually(lambda: notes(tmp_path, "Successes"), timeout=10)
    (run,) = notes(tmp_path, "Worker")
    record = success["event"]
    assert record["requestContext"] == {
        "requestId": run["requestId"],
        "functionArn": f"{cloud.api.functions['Worker'].arn}:$LATEST",
        "condition": "Success",
        "approximateInvokeCount": 1,
    }
    assert record["version"] == "1.0" and record["timestamp"].endswith("Z")
    assert record["requestPayload"] == {"sleep": 1}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"]["echo"] == {"sleep": 1}


async def test_a_failing_event_is_retried_with_the_same_request_id_then_recorded_on_failure(invoke_api, tmp_path):
    async with invoke_api() as (_, client):
        await invoke(client, "local-Worker", {"fail": "twice"}, kind="Event")
        (failure,) = await eventually(lambda: notes(tmp_path, "Failures"), timeout=10)
    runs = notes(tmp_path, "Worker")
    assert len(runs) == 2  # MaximumRetryAttempts 1
    assert runs[0]["requestId"] == runs[1]["requestId"]
    assert runs[1]["at"] - runs[0]["at"] >= RETRY_DELAYS[0]
    record = failure["event"]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["requestId"] == runs[0]["requestId"]
    assert record["requestPayload"] == {"fail": "twice"}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert record["responsePayload"]["errorMessage"] == "twice"
    assert notes(tmp_path, "Successes") == []


async def test_a_crash_or_timeout_is_a_function_error_too(invoke_api, tmp_path):
    async with invoke_api() as (_, client):
        await invoke(client, "local-Worker", {"crash": True}, kind="Event")
        await invoke(client, "local-Worker", {"sleep": 5}, kind="Event")
        await eventually(lambda: len(notes(tmp_path, "Failures")) == 2, timeout=15)
    errors = sorted(note["event"]["responsePayload"]["errorType"] for note in notes(tmp_path, "Failures"))
    assert errors == ["Runtime.ExitError", "Sandbox.Timedout"]


async def test_a_dropped_event_never_runs_and_is_recorded_as_event_age_exceeded(invoke_api, tmp_path):
    async with invoke_api() as (cloud, client):
        cloud.functions.inject(Fault("drop", function="local-Worker"))
        await invoke(client, "local-Worker", {"n": 1}, kind="Event")
        (failure,) = await eventually(lambda: notes(tmp_path, "Failures"))
        await invoke(client, "local-Worker", {"n": 2}, kind="Event")  # the fault applied to one event only
        await eventually(lambda: notes(tmp_path, "Successes"))
    assert [run["event"] for run in notes(tmp_path, "Worker")] == [{"n": 2}]
    record = failure["event"]
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert record["requestPayload"] == {"n": 1}
    assert "responseContext" not in record and "responsePayload" not in record


async def test_a_duplicated_event_runs_twice_under_one_request_id(invoke_api, tmp_path):
    async with invoke_api() as (cloud, client):
        cloud.functions.inject(Fault("duplicate", function="local-Worker", seconds=0.4))
        sent = time.time()
        await invoke(client, "local-Worker", {"once": True}, kind="Event")
        await eventually(lambda: len(notes(tmp_path, "Successes")) == 2)
    first, second = notes(tmp_path, "Worker")
    assert first["requestId"] == second["requestId"]
    assert second["at"] - sent >= 0.4


async def test_a_delayed_event_runs_late_or_ages_out(invoke_api, tmp_path):
    async with invoke_api() as (cloud, client):
        cloud.functions.inject(Fault("delay", function="local-Worker", seconds=0.5))
        cloud.functions.inject(Fault("delay", function=cloud.api.functions["Impatient"].name, seconds=1.5))
        sent = time.time()
        await invoke(client, "local-Worker", {"late": True}, kind="Event")
        await invoke(client, cloud.api.functions["Impatient"].name, {"too": "late"}, kind="Event")
        await eventually(lambda: notes(tmp_path, "Worker") and notes(tmp_path, "Failures"), timeout=10)
    (run,) = notes(tmp_path, "Worker")
    assert run["at"] - sent >= 0.5
    (failure,) = notes(tmp_path, "Failures")
    assert failure["event"]["requestContext"]["condition"] == "EventAgeExceeded"
    assert failure["event"]["requestContext"]["functionArn"].startswith(cloud.api.functions["Impatient"].arn)
    assert not [note for note in notes(tmp_path) if note["function"] == cloud.api.functions["Impatient"].name]


async def test_faults_can_be_injected_over_http(invoke_api, tmp_path):
    async with invoke_api() as (cloud, client), aiohttp.ClientSession() as http:
        url = f"{cloud.functions.url}/_emulator/faults"
        async with http.post(url, json={"fault": "drop", "function": "local-Worker"}) as response:
            assert response.status == 201
        async with http.post(url, json={"fault": "explode"}) as response:
            assert response.status == 400
        async with http.get(url) as response:
            assert [fault["kind"] for fault in await response.json()] == ["drop"]
        await invoke(client, "local-Worker", {}, kind="Event")
        await eventually(lambda: notes(tmp_path, "Failures"))
        async with http.get(url) as response:
            assert await response.json() == []  # used up
    assert notes(tmp_path, "Worker") == []


async def test_functions_invoke_functions_through_aws_endpoint_url_lambda(invoke_api, tmp_path):
    async with invoke_api() as (cloud, client):
        starter = cloud.api.functions["Starter"].name
        response = await invoke(client, starter, {"target": "local-Worker", "payload": {"from": "starter"}})
        assert json.loads(response["Body"]) == {"status": 202, "endpoint": cloud.functions.url}
        (run,) = await eventually(lambda: notes(tmp_path, "Worker"))
    assert run["event"] == {"from": "starter"}
