"""The one `application/vnd.amazon.eventstream` encoder in the project.

Used by the Bedrock stand-in to speak InvokeModelWithResponseStream's wire format, and by unit tests that need
a realistic response body. Message layout (botocore/eventstream.py decodes the same):

    prelude:  total length (u32) | headers length (u32) | CRC32 of those 8 bytes (u32)
    headers:  name length (u8) | name | value type (u8, 7 = string) | value length (u16) | value
    payload
    CRC32 of everything above (u32)
"""

import base64
import json
import struct
import zlib

_STRING = 7


def _headers(headers: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        out += struct.pack("!B", len(raw_name)) + raw_name
        out += struct.pack("!BH", _STRING, len(raw_value)) + raw_value
    return bytes(out)


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    raw_headers = _headers(headers)
    total = 12 + len(raw_headers) + len(payload) + 4
    prelude = struct.pack("!II", total, len(raw_headers))
    prelude += struct.pack("!I", zlib.crc32(prelude))
    message = prelude + raw_headers + payload
    return message + struct.pack("!I", zlib.crc32(message))


def chunk_event(event: dict) -> bytes:
    """A Bedrock `chunk` event carrying one model stream event (its JSON, base64-encoded in `bytes`)."""
    payload = json.dumps({"bytes": base64.b64encode(json.dumps(event).encode()).decode()}).encode()
    return encode_message(
        {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}, payload
    )


def exception_event(exception_type: str, message: str) -> bytes:
    """A modelled error sent mid-stream, e.g. `throttlingException`; botocore raises EventStreamError."""
    return encode_message(
        {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"},
        json.dumps({"message": message}).encode(),
    )
