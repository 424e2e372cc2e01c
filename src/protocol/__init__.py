"""The wire protocol: frame shapes, input validation, every error a client can be sent (with the Outcome its
reply is counted under in the metrics), and the one map from failures to error frames.

String frames are reply text (deltas); object frames are control (`end`, `error`, `history`, `forgotten`, `resume`).
"""

import json
import os
import re
from dataclasses import dataclass
from enum import StrEnum

from botocore.exceptions import BotoCoreError, ClientError
from urllib3.exceptions import HTTPError as Urllib3Error

from reply.deadline import TimeLimit

# API Gateway caps an incoming WebSocket message at 128 KB, so no `text` longer than this can arrive.
# The default model's context (200K tokens, minus max_tokens for the reply) holds more than that even at one
# token per character, so the default only restates the gateway's cap; lower it for a smaller-context model.
DEFAULT_MAX_TEXT_CHARS = 128 * 1024
EXAMPLE_MESSAGE = '{"action": "sendtext", "text": "Hello, AI! What you can do?"}'
# API Gateway's WebSocket frame quota is 32 KB; every frame we post stays below it.
FRAME_LIMIT_BYTES = 32_000
# Conversation ids are secrets.token_urlsafe(24): 32 URL-safe characters, 192 random bits.
_CONVERSATION_ID = re.compile(r"[A-Za-z0-9_-]{32}")  # fullmatch: `$` would also accept a trailing newline
# What an error frame quotes of a client's own field: enough to recognise it, never a frame near 32 KB.
MAX_QUOTED_CHARS = 80


class ErrorCode(StrEnum):
    BAD_REQUEST = "BadRequest"  # the message itself is wrong: fix it before sending again
    UNKNOWN_ACTION = "UnknownAction"  # no route for that action
    THROTTLED = "Throttled"  # Bedrock's quota: retry later
    MODEL_ERROR = "ModelError"  # Bedrock failed, before or during the reply
    INTERNAL = "Internal"  # our bug: details are in the function's log, never in the frame
    CONVERSATION_NOT_FOUND = "ConversationNotFound"  # unknown, expired, deleted or someone else's: drop the id
    CONVERSATION_BUSY = "ConversationBusy"  # a reply in that conversation is still streaming: wait for its end
    UNAUTHORIZED = "Unauthorized"  # the token that opened the connection has expired: reconnect with a fresh one
    QUOTA_EXCEEDED = "QuotaExceeded"  # the principal's daily token budget is used up
    TOO_MANY_REPLIES = "TooManyReplies"  # the principal's other replies are still streaming: wait for one to end
    REPLY_TOO_LONG = "ReplyTooLong"  # the reply reached its time limit (15 minutes) and was cut short
    GUARDRAIL_INTERVENED = "GuardrailIntervened"  # the configured Bedrock guardrail stopped the reply


@dataclass(frozen=True)
class ProtocolError(Exception):
    code: ErrorCode
    message: str
    outcome: str = ""  # the metric Outcome, where it tells apart errors that share a code (else the code)

    @property
    def outcome_name(self) -> str:
        return self.outcome or str(self.code)


# Every error with a fixed text, in one place. Model failures are built by `model_failure` below.
CONVERSATION_NOT_FOUND = ProtocolError(
    ErrorCode.CONVERSATION_NOT_FOUND, "No such conversation: it expired or was deleted."
)
CONVERSATION_BUSY = ProtocolError(
    ErrorCode.CONVERSATION_BUSY, "A reply in this conversation is still streaming; wait for its end."
)
STORE_FAILED = ProtocolError(ErrorCode.INTERNAL, "The conversation store failed; try again shortly.", "StoreFailed")
NOT_STORED = ProtocolError(
    ErrorCode.INTERNAL, "The reply was not saved to the conversation; it is not remembered.", "StoreFailed"
)
NOT_STARTED = ProtocolError(ErrorCode.THROTTLED, "The reply could not start; try again shortly.", "ReplyNotStarted")
REPLY_NOT_STARTED = ProtocolError(
    ErrorCode.THROTTLED, "The reply could not start in time; try again shortly.", "ReplyNotStarted"
)
REPLY_FAILED = ProtocolError(ErrorCode.INTERNAL, "The reply failed on our side; try again.", "ReplyFailed")
REPLY_TOO_LONG = ProtocolError(ErrorCode.REPLY_TOO_LONG, "The reply reached its time limit and was cut short.")
SIGNIN_EXPIRED = ProtocolError(ErrorCode.UNAUTHORIZED, "Your sign-in has expired. Reconnect with a fresh token.")
GUARDRAIL_INTERVENED = ProtocolError(
    ErrorCode.GUARDRAIL_INTERVENED, "The reply was stopped by the content guardrail; rephrase and try again."
)
BUDGET_EXHAUSTED = ProtocolError(
    ErrorCode.QUOTA_EXCEEDED, "Today's token budget does not cover this reply; it renews at 00:00 UTC."
)
TOO_MANY_REPLIES = ProtocolError(
    ErrorCode.TOO_MANY_REPLIES, "Your other replies are still streaming; send this again when one has ended."
)
LIST_ANONYMOUS = ProtocolError(
    ErrorCode.BAD_REQUEST, 'Without sign-in, name them: {"action": "conversations", "conversationIds": [...]}'
)
FORGET_ALL_ANONYMOUS = ProtocolError(
    ErrorCode.BAD_REQUEST, '"all" needs a signed-in connection; forget anonymous conversations one by one.'
)


def delta_frame(text: str) -> str:
    """A piece of the reply: a JSON string, byte for byte the original article's `json.dumps(text)`."""
    return json.dumps(text)


@dataclass(frozen=True)
class SendText:
    text: str
    conversation_id: str | None = None  # continue this conversation (None: the connection's current one)
    new: bool = False  # start a fresh conversation on this connection
    model: str | None = None  # one of MODEL_IDS (None: the first, the default)
    resumable: bool = False  # send a `started` frame first: the conversation's id, which a `resume` names


def _conversation(conversation_id: str | None) -> dict:
    return {} if conversation_id is None else {"conversationId": conversation_id}


def end_frame(
    stop_reason: str | None,
    usage: dict[str, int | None],
    conversation_id: str | None = None,
    budget: dict | None = None,
) -> str:
    """`usage`: input_tokens and output_tokens, and cache_read_input_tokens and cache_creation_input_tokens when
    prompt caching applied (input_tokens then counts only the uncached part, as Bedrock reports it). `budget`
    ({"limit", "remaining"}, input-token equivalents) when a daily budget applies."""
    frame = {"type": "end", "stop_reason": stop_reason, "usage": usage, **_conversation(conversation_id)}
    return json.dumps(frame | ({"budget": budget} if budget else {}))


def error_frame(error: ProtocolError, conversation_id: str | None = None) -> str:
    frame = {"type": "error", "code": str(error.code), "message": error.message, **_conversation(conversation_id)}
    return json.dumps(frame)


def forgotten_frame(conversation_id: str) -> str:
    return json.dumps({"type": "forgotten", "conversationId": conversation_id})


# --- resume and stop (issue 27) -----------------------------------------------------------------------------
STOPPED = "stopped"  # the end frame's stop_reason after a `stop`
# A resume frame's own fields, escaped, stay under this many bytes (its conversation id is 32 ASCII characters).
_RESUME_OVERHEAD_BYTES = 200


def started_frame(conversation_id: str) -> str:
    """Before a reply's first delta, for a `sendtext` with `"resumable": true`: the id a `resume` names (a new
    conversation's id is otherwise first seen on the end frame)."""
    return json.dumps({"type": "started", "conversationId": conversation_id})


def resume_frames(conversation_id: str, text: str, offset: int, limit: int = FRAME_LIMIT_BYTES) -> list[str]:
    """The catch-up after a `resume`: `text`, which starts at character `offset` of the reply, in `resume` frames
    under `limit` bytes each; always at least one (an empty one says "nothing to catch up on")."""
    step = (limit - _RESUME_OVERHEAD_BYTES) // 12  # a character escapes to 12 bytes at most (a surrogate pair)
    pieces = [text[i : i + step] for i in range(0, len(text), step)] or [""]
    return [
        json.dumps({"type": "resume", "conversationId": conversation_id, "text": piece, "offset": offset + i * step})
        for i, piece in enumerate(pieces)
    ]


def resume_offset(message: dict) -> int:
    """A `resume` message's `from`: how many characters (Unicode code points) of the reply the client holds."""
    offset = message.get("from", 0)
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise ProtocolError(ErrorCode.BAD_REQUEST, '"from" must be the number of characters of the reply you hold.')
    return offset


def model_ids() -> list[str]:
    """The models a `sendtext` may name: MODEL_ID (the default) first, then MODEL_IDS' others."""
    first = os.environ.get("MODEL_ID", "")
    return [first, *(m for m in os.environ.get("MODEL_IDS", "").split(",") if m.strip() and m != first)]


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


def is_conversation_id(value: str) -> bool:
    """Whether `value` can be one of our conversation ids (a made-up one never reaches the store as a key)."""
    return _CONVERSATION_ID.fullmatch(value) is not None


def conversation_id_of(message: dict) -> str | None:
    """The message's `conversationId` (None when absent); BadRequest if it is not a string, and
    ConversationNotFound if it cannot be one of ours (so a made-up id never reaches the store as a key)."""
    conversation_id = message.get("conversationId")
    if conversation_id is None:
        return None
    if not isinstance(conversation_id, str):
        raise ProtocolError(ErrorCode.BAD_REQUEST, '"conversationId" must be a string.')
    if not is_conversation_id(conversation_id):
        raise ProtocolError(ErrorCode.CONVERSATION_NOT_FOUND, "No such conversation.")
    return conversation_id


def parse_sendtext(body: str | None) -> SendText:
    """The user's text and conversation fields of a `sendtext` message, or ProtocolError saying what is wrong."""
    message = parse_message(body)
    text = message.get("text")
    if text is None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f'"text" is missing. Send {EXAMPLE_MESSAGE}')
    if not isinstance(text, str):
        raise ProtocolError(ErrorCode.BAD_REQUEST, '"text" must be a string.')
    if not text.strip():
        raise ProtocolError(ErrorCode.BAD_REQUEST, '"text" is empty.')
    try:  # JSON's "\ud800" is a lone surrogate, which no UTF-8 (the model's, the store's, the logs') can carry
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, '"text" is not valid Unicode: it holds an unpaired surrogate.'
        ) from None
    limit = max_text_chars()
    if len(text) > limit:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f'"text" has {len(text)} characters; the limit is {limit}.')
    new = message.get("new", False)
    if not isinstance(new, bool):
        raise ProtocolError(ErrorCode.BAD_REQUEST, '"new" must be true or false.')
    conversation_id = conversation_id_of(message)
    if new and conversation_id is not None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, 'Send either "new": true or a "conversationId", not both.')
    model = message.get("model")
    if model is not None and model not in model_ids():
        raise ProtocolError(ErrorCode.BAD_REQUEST, f'"model" must be one of {", ".join(model_ids())}.')
    resumable = message.get("resumable", False)
    if not isinstance(resumable, bool):
        raise ProtocolError(ErrorCode.BAD_REQUEST, '"resumable" must be true or false.')
    return SendText(text, conversation_id, new, model, resumable)


def unknown_action(body: str | None) -> ProtocolError:
    """What the $default route says: why the message matched no route, and what to send instead."""
    try:
        action = parse_message(body).get("action")
    except ProtocolError as error:
        return error
    if action is None:
        return ProtocolError(ErrorCode.UNKNOWN_ACTION, f'"action" is missing. Send {EXAMPLE_MESSAGE}')
    quoted = json.dumps(action)  # ASCII only: at most MAX_QUOTED_CHARS bytes once cut
    if len(quoted) > MAX_QUOTED_CHARS:
        quoted = quoted[: MAX_QUOTED_CHARS - 3] + "..."
    return ProtocolError(ErrorCode.UNKNOWN_ACTION, f"Unknown action {quoted}. Send {EXAMPLE_MESSAGE}")


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
    if isinstance(exc, TimeLimit):
        return REPLY_TOO_LONG
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
