"""The wire protocol: frame shapes, input validation, and the one map from failures to error frames.

String frames are reply text (deltas); object frames are control (`end`, `error`).
"""

import json
import os
from dataclasses import dataclass
from enum import StrEnum

from botocore.exceptions import BotoCoreError, ClientError
from urllib3.exceptions import HTTPError as Urllib3Error

# API Gateway caps an incoming WebSocket message at 128 KB, so no `text` longer than this can arrive.
# The default model's context (200K tokens, minus max_tokens for the reply) holds more than that even at one
# token per character, so the default only restates the gateway's cap; lower it for a smaller-context model.
DEFAULT_MAX_TEXT_CHARS = 128 * 1024
EXAMPLE_MESSAGE = '{"action": "sendtext", "text": "Hello, AI! What you can do?"}'


class ErrorCode(StrEnum):
    BAD_REQUEST = "BadRequest"  # the message itself is wrong: fix it before sending again
    UNKNOWN_ACTION = "UnknownAction"  # no route for that action
    THROTTLED = "Throttled"  # Bedrock's quota: retry later
    MODEL_ERROR = "ModelError"  # Bedrock failed, before or during the reply
    INTERNAL = "Internal"  # our bug: details are in the function's log, never in the frame


@dataclass(frozen=True)
class ProtocolError(Exception):
    code: ErrorCode
    message: str


def delta_frame(text: str) -> str:
    """A piece of the reply: a JSON string, byte for byte the original article's `json.dumps(text)`."""
    return json.dumps(text)


def end_frame(stop_reason: str | None, input_tokens: int | None, output_tokens: int | None) -> str:
    usage = {"input_tokens": input_tokens, "output_tokens": output_tokens}
    return json.dumps({"type": "end", "stop_reason": stop_reason, "usage": usage})


def error_frame(error: ProtocolError) -> str:
    return json.dumps({"type": "error", "code": str(error.code), "message": error.message})


def max_text_chars() -> int:
    return int(os.environ.get("MAX_TEXT_CHARS", DEFAULT_MAX_TEXT_CHARS))


def parse_message(body: str | None) -> dict:
    """The JSON object a client sent, or ProtocolError(BadRequest)."""
    if body is None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"Empty message. Send {EXAMPLE_MESSAGE}")
    try:
        message = json.loads(body)
    except ValueError:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"Messages must be JSON, like {EXAMPLE_MESSAGE}") from None
    if not isinstance(message, dict):
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"Messages must be a JSON object, like {EXAMPLE_MESSAGE}")
    return message


def parse_sendtext(body: str | None) -> str:
    """The user's text from a `sendtext` message, or ProtocolError(BadRequest) saying what is wrong."""
    text = parse_message(body).get("text")
    if text is None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f'"text" is missing. Send {EXAMPLE_MESSAGE}')
    if not isinstance(text, str):
        raise ProtocolError(ErrorCode.BAD_REQUEST, '"text" must be a string.')
    if not text.strip():
        raise ProtocolError(ErrorCode.BAD_REQUEST, '"text" is empty.')
    limit = max_text_chars()
    if len(text) > limit:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f'"text" has {len(text)} characters; the limit is {limit}.')
    return text


def unknown_action(body: str | None) -> ProtocolError:
    """What the $default route says: why the message matched no route, and what to send instead."""
    try:
        action = parse_message(body).get("action")
    except ProtocolError as error:
        return error
    if action is None:
        return ProtocolError(ErrorCode.UNKNOWN_ACTION, f'"action" is missing. Send {EXAMPLE_MESSAGE}')
    return ProtocolError(ErrorCode.UNKNOWN_ACTION, f"Unknown action {json.dumps(action)}. Send {EXAMPLE_MESSAGE}")


# Bedrock error codes, as ClientError gives them on the initial call. Mid-stream, EventStreamError carries
# the same names in camelCase (`throttlingException`); `model_failure` normalises them first.
_THROTTLED = {"ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException"}
_MODEL_MESSAGES = {
    "AccessDeniedException": "This service is not allowed to use the model.",
    "ResourceNotFoundException": "The model is not available.",
    "ValidationException": "The model rejected the request.",
    "ModelTimeoutException": "The model took too long to answer.",
    "ModelStreamErrorException": "The model failed while streaming its reply.",
    "ModelNotReadyException": "The model is not ready; try again shortly.",
    "ModelErrorException": "The model failed to answer.",
    "ServiceUnavailableException": "The model service is unavailable; try again shortly.",
    "InternalServerException": "The model service failed; try again shortly.",
}


def model_failure(exc: Exception) -> ProtocolError:
    """Map a failure of the Bedrock call or stream to the error frame a client gets.

    Bedrock's own messages are logged, not sent: some carry ARNs with the account id.
    """
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        code = code[:1].upper() + code[1:]
        if code in _THROTTLED:
            return ProtocolError(ErrorCode.THROTTLED, "The model is busy; try again shortly.")
        return ProtocolError(ErrorCode.MODEL_ERROR, _MODEL_MESSAGES.get(code, "The model failed to answer."))
    # Before the first event botocore wraps network failures (BotoCoreError); while the stream is read, urllib3's
    # own errors (connection dropped, read timeout) come through unwrapped.
    if isinstance(exc, BotoCoreError | Urllib3Error):
        return ProtocolError(ErrorCode.MODEL_ERROR, "Lost the connection to the model.")
    return ProtocolError(ErrorCode.INTERNAL, "Something went wrong on our side.")
