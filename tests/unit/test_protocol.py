"""Frame shapes and the one map from failures to error frames."""

import json

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, EventStreamError
from urllib3.exceptions import ProtocolError as DroppedConnection
from urllib3.exceptions import ReadTimeoutError as StreamReadTimeout

from protocol import ErrorCode, ProtocolError, delta_frame, end_frame, error_frame, model_failure, parse_sendtext


def test_delta_frames_are_the_articles_json_strings():
    assert delta_frame("Hello") == '"Hello"'
    assert delta_frame("\n\n\u2022") == '"\\n\\n\\u2022"'


def test_control_frames_are_objects_with_a_type():
    assert json.loads(end_frame("end_turn", 3, 9)) == {
        "type": "end",
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 3, "output_tokens": 9},
    }
    assert json.loads(error_frame(ProtocolError(ErrorCode.THROTTLED, "busy"))) == {
        "type": "error",
        "code": "Throttled",
        "message": "busy",
    }


def test_sendtext_text_is_returned_as_sent():
    assert parse_sendtext('{"action": "sendtext", "text": "  keep  spaces "}') == "  keep  spaces "


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (ClientError({"Error": {"Code": "ThrottlingException"}}, "InvokeModelWithResponseStream"), "Throttled"),
        (EventStreamError({"Error": {"Code": "throttlingException"}}, "InvokeModelWithResponseStream"), "Throttled"),
        (EventStreamError({"Error": {"Code": "modelTimeoutException"}}, "InvokeModelWithResponseStream"), "ModelError"),
        (ClientError({"Error": {"Code": "SomethingNew"}}, "InvokeModelWithResponseStream"), "ModelError"),
        (EndpointConnectionError(endpoint_url="https://bedrock-runtime"), "ModelError"),
        (DroppedConnection("Connection broken: IncompleteRead"), "ModelError"),
        (StreamReadTimeout(None, None, "Read timed out."), "ModelError"),
        (KeyError("chunk"), "Internal"),
    ],
)
def test_every_failure_maps_to_one_documented_code(exc, code):
    assert model_failure(exc).code == code
