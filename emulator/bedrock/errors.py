"""Bedrock's errors, shaped as botocore's rest-json parser reads them.

Before the stream: an HTTP status, `x-amzn-ErrorType: <Code>:<namespace>` (botocore keeps what precedes the
colon) and a JSON body `{"message": …}`. Mid-stream: an event-stream message with `:message-type: exception`
and `:exception-type` in camelCase, which botocore raises as EventStreamError with that code.
"""

import json
import uuid
from dataclasses import dataclass

from aiohttp import web

# Bedrock's own messages for these errors (as seen from the real service), so logs read the same.
THROTTLED = "Too many requests, please wait before trying again."
UNAVAILABLE = "Bedrock is unable to process your request."
INVALID_MODEL = "The provided model identifier is invalid."
END_OF_LIFE = (
    "This model version has reached the end of its life. Please refer to the AWS documentation for more details."
)
DENIED = "You don't have access to the model with the specified model ID."
TOO_LONG = "Input is too long for requested model."

# The exception events InvokeModelWithResponseStream's output shape declares, with the message each carries.
STREAM_EXCEPTIONS = {
    "throttlingException": "Too many tokens, please wait before trying again.",
    "modelStreamErrorException": "The model stopped streaming unexpectedly.",
    "internalServerException": "The system encountered an unexpected error during processing. Try your request again.",
    "modelTimeoutException": "Model has timed out in processing the request. Try your request again.",
    "serviceUnavailableException": UNAVAILABLE,
    "validationException": TOO_LONG,
}


@dataclass(frozen=True)
class BedrockError(Exception):
    status: int
    code: str
    message: str

    @classmethod
    def validation(cls, message: str) -> "BedrockError":
        return cls(400, "ValidationException", message)

    def response(self) -> web.Response:
        return web.Response(
            status=self.status,
            text=json.dumps({"message": self.message}),
            content_type="application/json",
            headers={
                "x-amzn-ErrorType": f"{self.code}:http://internal.amazon.com/coral/com.amazon.bedrock/",
                "x-amzn-RequestId": str(uuid.uuid4()),
            },
        )


# fault=… directives that fail the call before any byte of the stream.
INITIAL_FAULTS = {
    "throttle": BedrockError(429, "ThrottlingException", THROTTLED),
    "validation": BedrockError.validation(TOO_LONG),
    "unavailable": BedrockError(503, "ServiceUnavailableException", UNAVAILABLE),
    "denied": BedrockError(403, "AccessDeniedException", DENIED),
}


def malformed(detail: str) -> BedrockError:
    """Bedrock's wording when the body fails the Anthropic request schema."""
    return BedrockError.validation(f"Malformed input request: {detail}, please reformat your input and try again.")
