"""Unit tests: the handlers with botocore's Stubber on both clients, and no network at all."""

import importlib
import json
import os
import threading
import time

import pytest
from botocore.awsrequest import AWSResponse
from botocore.eventstream import EventStream
from botocore.parsers import EventStreamJSONParser
from botocore.stub import ANY, Stubber
from pytest_socket import disable_socket, enable_socket

# The handlers read their environment at import, as in Lambda. Set it for the imports only, so the rest of
# the session (end-to-end and deploy tests, and what they spawn) never inherits these values.
_saved = dict(os.environ)
os.environ.update(
    AWS_DEFAULT_REGION="ap-northeast-1",
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    API_ENDPOINT="https://abcdef1234.execute-api.ap-northeast-1.amazonaws.com",
    STAGE="dev",
    MODEL_ID="jp.anthropic.claude-haiku-4-5-20251001-v1:0",
    TABLE_NAME="conversations-test",
    REPLY_FUNCTION="arn:aws:lambda:ap-northeast-1:123456789012:function:chat-StreamReply",
)
for name in (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
    "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_LAMBDA",
):
    os.environ.pop(name, None)
from bedrock_body import RawStream  # noqa: E402
from table_items import CONVERSATION_ID  # noqa: E402

import connections  # noqa: E402
from conversation import store, turns  # noqa: E402
from reply import bedrock as bedrock_api  # noqa: E402
from reply import start  # noqa: E402
from reply import stream as reply_stream  # noqa: E402
from reply.steering import Steering  # noqa: E402
from telemetry import logs  # noqa: E402

os.environ.clear()
os.environ.update(_saved)


@pytest.fixture(autouse=True)
def no_network():
    disable_socket(allow_unix_socket=True)
    yield
    enable_socket()


@pytest.fixture(autouse=True)
def unsteered(monkeypatch):
    """StreamReply without its control item's polling thread, whose reads no Stubber queue can foretell: the control
    item has its own tests (test_resume_control.py); StreamReply with it runs end to end (tests/e2e/test_resume.py)."""
    monkeypatch.setattr(reply_stream, "Controlled", lambda send, conversation, _turn: Steering(send, conversation))


@pytest.fixture
def bedrock():
    """Stubber on the Bedrock client. `bedrock.reply(raw)` stubs one successful call whose body is a real
    EventStream over `raw`: Stubber validates responses against the output shape and rejects a stream object,
    so the body is swapped in after the (stubbed) call, and the handler reads it through botocore's parser.
    `bedrock.requests` lists the request bodies sent, parsed, for tests to pin."""
    stubber = Stubber(bedrock_api.client)
    bodies: list[RawStream] = []
    requests: list[dict] = []

    def record(params, **_):
        requests.append(json.loads(params["body"]))

    def swap_body(parsed, **_):
        if "Error" in parsed:  # a stubbed client error: no body
            return
        raw = bodies.pop(0)
        op = bedrock_api.client.meta.service_model.operation_model("InvokeModelWithResponseStream")
        parsed["body"] = EventStream(raw, op.output_shape.members["body"], EventStreamJSONParser(), op.name)

    def reply(raw: RawStream) -> None:
        bodies.append(raw)
        stubber.add_response(
            "invoke_model_with_response_stream",
            {"body": {}, "contentType": "application/json"},  # body: replaced by swap_body
            {
                "modelId": bedrock_api.MODEL_ID,
                "body": ANY,
                "contentType": "application/json",
                "accept": "application/json",
            },
        )

    stubber.reply, stubber.requests = reply, requests
    events = bedrock_api.client.meta.events
    events.register("before-parameter-build.bedrock-runtime.InvokeModelWithResponseStream", record)
    events.register("after-call.bedrock-runtime.InvokeModelWithResponseStream", swap_body)
    with stubber:
        yield stubber
        stubber.assert_no_pending_responses()
    events.unregister("after-call.bedrock-runtime.InvokeModelWithResponseStream", swap_body)
    events.unregister("before-parameter-build.bedrock-runtime.InvokeModelWithResponseStream", record)


def _relay_sending() -> bool:
    return any(t.name == "relay-sender" and t.is_alive() for t in threading.enumerate())


@pytest.fixture
def posts():
    """Stubber on the @connections client. `posts.expect(frame)` queues one post with exact parameters,
    `posts.accept()` one with any, `posts.gone()` a GoneException; `posts.sent` lists every frame posted.

    `posts.pace` is a RawStream pace: the model's next delta arrives only once the previous one's post has
    started (or the relay's sender has stopped), so every delta is its own frame however slow the machine."""
    stubber = Stubber(connections.client)
    sent: list[str] = []
    posted = threading.Condition()

    def record(params, **_):
        with posted:
            sent.append(params["Data"].decode())
            posted.notify_all()

    def pace(deltas_before: int) -> None:
        deadline = time.monotonic() + 10
        with posted:
            while len(sent) < deltas_before and _relay_sending():
                assert time.monotonic() < deadline, f"{len(sent)} posts, waiting for {deltas_before}"
                posted.wait(0.01)  # also polls the sender thread, which does not notify this condition

    def expect(frame: str, connection_id: str = "Zx1mHdJ-tjMCJgQ=") -> None:
        stubber.add_response("post_to_connection", {}, {"ConnectionId": connection_id, "Data": frame.encode()})

    def accept() -> None:
        stubber.add_response("post_to_connection", {})

    def gone() -> None:
        stubber.add_client_error("post_to_connection", "GoneException", http_status_code=410)

    stubber.expect, stubber.accept, stubber.gone, stubber.sent, stubber.pace = expect, accept, gone, sent, pace
    event = "before-parameter-build.apigatewaymanagementapi.PostToConnection"
    connections.client.meta.events.register(event, record)
    with stubber:
        yield stubber
        stubber.assert_no_pending_responses()
    connections.client.meta.events.unregister(event, record)


@pytest.fixture
def log_level(monkeypatch):
    """`log_level("DEBUG")` re-reads LOG_LEVEL as a cold start would; the module is restored afterwards."""

    def set_level(value: str | None) -> None:
        if value is None:
            monkeypatch.delenv("LOG_LEVEL", raising=False)
        else:
            monkeypatch.setenv("LOG_LEVEL", value)
        importlib.reload(logs)

    yield set_level
    monkeypatch.undo()
    importlib.reload(logs)


@pytest.fixture(autouse=True)
def table(monkeypatch):
    """Stubber on the DynamoDB client, in every unit test: a store call nobody queued fails the test.

    `table.fresh()` queues what a message on a connection with no conversation costs (SendText: GetItem of the
    connection's record, PutItem of it; StreamReply: PutItem reserving turn 1, UpdateItem storing the reply,
    UpdateItem of the list item); `table.calls` lists every call made, as (operation, parameters). New
    conversations get CONVERSATION_ID.
    """
    monkeypatch.setattr(turns, "new_id", lambda: CONVERSATION_ID)
    stubber = Stubber(store.client)
    calls: list[tuple[str, dict]] = []

    def record(params, model, **_):
        calls.append((model.name, params))

    def fresh() -> None:
        stubber.add_response("get_item", {})  # SendText: the connection's current conversation (none)
        stubber.add_response("put_item", {})  # ... made the connection's
        stubber.add_response("put_item", {})  # StreamReply: turn 1 reserved
        stubber.add_response("update_item", {})  # ... the reply stored
        stubber.add_response("update_item", {})  # ... its conversation moved to the top of the list

    stubber.fresh, stubber.calls = fresh, calls
    store.client.meta.events.register("before-parameter-build.dynamodb", record)
    with stubber:
        yield stubber
        stubber.assert_no_pending_responses()
    store.client.meta.events.unregister("before-parameter-build.dynamodb", record)


@pytest.fixture
def lambdas():
    """Stubber on SendText's Lambda client. `lambdas.starts(payload)` expects one Event invoke of StreamReply
    with exactly that payload."""
    stubber = Stubber(start.client)

    def starts(payload: dict) -> None:
        stubber.add_response(
            "invoke",
            {"StatusCode": 202},
            {"FunctionName": start.REPLY_FUNCTION, "InvocationType": "Event", "Payload": json.dumps(payload).encode()},
        )

    stubber.starts = starts
    with stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def handed_over():
    """Every Event invoke SendText makes answers 202 and its payload is kept, in order (`handed_over`), with no
    queue to fill: for tests that run SendText and then StreamReply on what it handed over. (The hook is the one
    Stubber itself uses: a `before-call` handler that answers instead of the network.)"""
    payloads: list[dict] = []

    def answer(params, **_):
        payloads.append(json.loads(params["body"]))
        return AWSResponse(None, 202, {}, None), {"StatusCode": 202}

    start.client.meta.events.register_first("before-call.lambda.Invoke", answer)
    yield payloads
    start.client.meta.events.unregister("before-call.lambda.Invoke", answer)


@pytest.fixture
def authorizer(monkeypatch):
    """The authorizer handler module imported with a Cognito configuration, its keys (tokens_for_tests' Signer)
    served without a network."""
    from signin import jwks
    from tests.tokens_for_tests import CLIENT_ID, ISSUER, Signer

    monkeypatch.setenv("AUTH_MODE", "cognito")
    monkeypatch.setenv("TOKEN_ISSUER", ISSUER)
    monkeypatch.setenv("TOKEN_AUDIENCE", CLIENT_ID)
    module = importlib.reload(importlib.import_module("handlers.authorizer"))  # it reads the configuration at import
    keys = jwks.KeySet(url="https://keys.example/", fetch=lambda _: {"keys": [Signer().jwk()]})
    monkeypatch.setattr(module, "KEYS", keys)
    return module
