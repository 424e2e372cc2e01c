"""The WebSocket subprotocol handshake that carries the sign-in token.

Browsers cannot set headers on a WebSocket, so a client offers two subprotocols, `bedrock-ws-chat` and then its
token; $connect answers with `Sec-WebSocket-Protocol: bedrock-ws-chat` (a browser drops a connection whose
answer names none of the offered protocols, and API Gateway echoes nothing by itself).
"""

from collections.abc import Mapping

SUBPROTOCOL = "bedrock-ws-chat"
HEADER = "Sec-WebSocket-Protocol"


def offered(headers: Mapping[str, str] | None) -> list[str]:
    """The protocols the client offered, in order (header names are case-insensitive)."""
    value = next((v for k, v in (headers or {}).items() if k.lower() == HEADER.lower()), "")
    return [item.strip() for item in value.split(",") if item.strip()]


def token(headers: Mapping[str, str] | None) -> str | None:
    """The token offered beside `bedrock-ws-chat`, or None unless there is exactly one."""
    protocols = offered(headers)
    if SUBPROTOCOL not in protocols:
        return None
    others = [item for item in protocols if item != SUBPROTOCOL]
    return others[0] if len(others) == 1 else None
