"""Frame shapes and the one map from failures to error frames."""

import json

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, EventStreamError
from urllib3.exceptions import ProtocolError as DroppedConnection
from urllib3.exceptions import ReadTimeoutError as StreamReadTimeout

from protocol import (
    EXAMPLE_MESSAGE,
    ErrorCode,
    ProtocolError,
    delta_frame,
    end_frame,
    error_frame,
    model_failure,
    parse_sendtext,
    unknown_action,
)


def test_delta_frames_are_the_articles_json_strings():
    assert delta_frame("Hello") == '"Hello"'
    assert delta_frame("\n\n\u2022") == '"\\n\\n\\u2022"'


def test_control_frames_are_objects_with_a_type():
    assert json.loads(end_frame("end_turn", {"input_tokens": 3, "output_tokens": 9})) == {
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
    assert parse_sendtext('{"action": "sendtext", "text": "  keep  spaces "}').text == "  keep  spaces "


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


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, f"Empty message. Send {EXAMPLE_MESSAGE}"),
        ("not json", f"Messages must be JSON, like {EXAMPLE_MESSAGE}"),
        ('"a string"', f"Messages must be a JSON object, like {EXAMPLE_MESSAGE}"),
        ('{"action": "sendtext"}', f'"text" is missing. Send {EXAMPLE_MESSAGE}'),
        ('{"text": 42}', '"text" must be a string.'),
        ('{"text": " \\n "}', '"text" is empty.'),
    ],
)
def test_each_bad_message_says_exactly_what_is_wrong(body, message):
    with pytest.raises(ProtocolError) as caught:
        parse_sendtext(body)
    assert (caught.value.code, caught.value.message) == (ErrorCode.BAD_REQUEST, message)


def test_text_of_exactly_the_limit_is_accepted(monkeypatch):
    monkeypatch.setenv("MAX_TEXT_CHARS", "5")
    assert parse_sendtext('{"text": "12345"}').text == "12345"
    with pytest.raises(ProtocolError, match="has 6 characters; the limit is 5"):
        parse_sendtext('{"text": "123456"}')


def client_error(code: str | None) -> ClientError:
    return ClientError({"Error": {"Code": code}} if code else {}, "InvokeModelWithResponseStream")


@pytest.mark.parametrize(
    ("exc", "code", "message"),
    [
        (client_error("ThrottlingException"), "Throttled", "The model is busy; try again shortly."),
        (client_error("TooManyRequestsException"), "Throttled", "The model is busy; try again shortly."),
        (client_error("accessDeniedException"), "ModelError", "This service is not allowed to use the model."),
        (client_error("ModelNotReadyException"), "ModelError", "The model is not ready; try again shortly."),
        (client_error("ModelErrorException"), "ModelError", "The model failed to answer."),
        (client_error("SomethingNew"), "ModelError", "The model failed to answer."),
        (client_error(None), "ModelError", "The model failed to answer."),  # no Error in the response at all
        (
            EndpointConnectionError(endpoint_url="https://bedrock-runtime"),
            "ModelError",
            "Lost the connection to the model.",
        ),
        (DroppedConnection("Connection broken"), "ModelError", "Lost the connection to the model."),
        (KeyError("chunk"), "Internal", "Something went wrong on our side."),
    ],
)
def test_every_failure_gets_its_documented_message(exc, code, message):
    assert model_failure(exc) == ProtocolError(ErrorCode(code), message)


def test_unknown_action_names_the_action_and_the_example():
    error = unknown_action('{"action": "chat"}')
    assert (error.code, error.message) == (ErrorCode.UNKNOWN_ACTION, f'Unknown action "chat". Send {EXAMPLE_MESSAGE}')
    assert unknown_action(None) == ProtocolError(ErrorCode.BAD_REQUEST, f"Empty message. Send {EXAMPLE_MESSAGE}")
