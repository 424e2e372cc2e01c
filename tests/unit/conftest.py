"""Unit tests: the handlers with botocore's Stubber on both clients, and no network at all."""

import os

import pytest
from botocore.eventstream import EventStream
from botocore.parsers import EventStreamJSONParser
from botocore.stub import Stubber
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
)
for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI"):
    os.environ.pop(name, None)
from bedrock_body import RawStream  # noqa: E402

import connections  # noqa: E402
import model  # noqa: E402

os.environ.clear()
os.environ.update(_saved)


@pytest.fixture(autouse=True)
def no_network():
    disable_socket(allow_unix_socket=True)
    yield
    enable_socket()


@pytest.fixture
def bedrock():
    """Stubber on the Bedrock client. `bedrock.reply(raw)` stubs one successful call whose body is a real
    EventStream over `raw`: Stubber validates responses against the output shape and rejects a stream object,
    so the body is swapped in after the (stubbed) call, and the handler reads it through botocore's parser."""
    stubber = Stubber(model.client)
    bodies: list[RawStream] = []

    def swap_body(parsed, **_):
        if "Error" in parsed:  # a stubbed client error: no body
            return
        raw = bodies.pop(0)
        op = model.client.meta.service_model.operation_model("InvokeModelWithResponseStream")
        parsed["body"] = EventStream(raw, op.output_shape.members["body"], EventStreamJSONParser(), op.name)

    def reply(raw: RawStream, text: str = "Hello, AI! What you can do?") -> None:
        bodies.append(raw)
        stubber.add_response(
            "invoke_model_with_response_stream",
            {"body": {}, "contentType": "application/json"},  # body: replaced by swap_body
            {
                "modelId": model.MODEL_ID,
                "body": model.request_body(text),
                "contentType": "application/json",
                "accept": "application/json",
            },
        )

    stubber.reply = reply
    model.client.meta.events.register("after-call.bedrock-runtime.InvokeModelWithResponseStream", swap_body)
    with stubber:
        yield stubber
        stubber.assert_no_pending_responses()
    model.client.meta.events.unregister("after-call.bedrock-runtime.InvokeModelWithResponseStream", swap_body)


@pytest.fixture
def posts():
    """Stubber on the @connections client. `posts.expect(frame)` queues one post with exact parameters,
    `posts.accept()` one with any, `posts.gone()` a GoneException; `posts.sent` lists every frame posted."""
    stubber = Stubber(connections.client)
    sent: list[str] = []

    def record(params, **_):
        sent.append(params["Data"].decode())

    def expect(frame: str, connection_id: str = "Zx1mHdJ-tjMCJgQ=") -> None:
        stubber.add_response("post_to_connection", {}, {"ConnectionId": connection_id, "Data": frame.encode()})

    def accept() -> None:
        stubber.add_response("post_to_connection", {})

    def gone() -> None:
        stubber.add_client_error("post_to_connection", "GoneException", http_status_code=410)

    stubber.expect, stubber.accept, stubber.gone, stubber.sent = expect, accept, gone, sent
    event = "before-parameter-build.apigatewaymanagementapi.PostToConnection"
    connections.client.meta.events.register(event, record)
    with stubber:
        yield stubber
        stubber.assert_no_pending_responses()
    connections.client.meta.events.unregister(event, record)
