"""Lambda proxy events, one builder per WebSocket `eventType`, in the shape API Gateway sends them.

Shapes follow AWS's documented examples (tests/events/apiGatewayWebSocketApi*.json). What a local run cannot
reproduce: `domainName` is the Host the client dialled (127.0.0.1:<port>), not `<api-id>.execute-api…`;
`X-Forwarded-Proto` is `http`; `identity` has only sourceIp and userAgent (no Cognito identity);
`extendedRequestId` equals `requestId`.
"""

import base64
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass


def new_id() -> str:
    """An API Gateway-style id (connectionId, requestId, messageId): 11 random bytes, URL-safe base64, e.g.
    `Zx1mHdJ-tjMCJgQ=`."""
    return base64.urlsafe_b64encode(os.urandom(11)).decode()


def epoch_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Origin:
    """Who is connected and to which API: what every event's requestContext repeats."""

    connection_id: str
    connected_at: int  # epoch ms
    source_ip: str
    user_agent: str
    domain_name: str
    stage: str
    api_id: str
    authorizer: dict | None = None  # what the $connect authorizer gave: every event's requestContext.authorizer


def _request_context(origin: Origin, route_key: str, event_type: str, request_id: str, now: int) -> dict:
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now / 1000)),
        "messageDirection": "IN",
        "stage": origin.stage,
        "connectedAt": origin.connected_at,
        "requestTimeEpoch": now,
        "identity": {"userAgent": origin.user_agent, "sourceIp": origin.source_ip},
        "requestId": request_id,
        "domainName": origin.domain_name,
        "connectionId": origin.connection_id,
        "apiId": origin.api_id,
        **({"authorizer": dict(origin.authorizer)} if origin.authorizer is not None else {}),
    }


def _grouped(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """API Gateway's pair of views: the last value of each name, and every value."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def connect_event(
    origin: Origin,
    route_key: str,
    request_id: str,
    headers: Iterable[tuple[str, str]],
    query: Iterable[tuple[str, str]],
) -> dict:
    """CONNECT: the handshake's headers (plus the X-Forwarded-* API Gateway adds) and query string."""
    header_pairs = [*headers, ("X-Forwarded-For", origin.source_ip), ("X-Forwarded-Proto", "http")]
    single, multi = _grouped(header_pairs)
    event: dict = {"headers": single, "multiValueHeaders": multi}
    query_single, query_multi = _grouped(query)
    if query_single:  # API Gateway leaves both keys out when there is no query string
        event["queryStringParameters"] = query_single
        event["multiValueQueryStringParameters"] = query_multi
    event["requestContext"] = _request_context(origin, route_key, "CONNECT", request_id, epoch_ms())
    event["isBase64Encoded"] = False
    return event


def message_event(origin: Origin, route_key: str, request_id: str, data: str) -> dict:
    """MESSAGE: a text frame's body as is (API Gateway closes the connection on a binary frame: 1003)."""
    context = _request_context(origin, route_key, "MESSAGE", request_id, epoch_ms())
    context["messageId"] = new_id()
    return {"requestContext": context, "body": data, "isBase64Encoded": False}


def disconnect_event(origin: Origin, route_key: str, request_id: str, status_code: int, reason: str) -> dict:
    """DISCONNECT: the close code and API Gateway's reason text; the odd fixed headers are AWS's own."""
    single, multi = _grouped(
        [("Host", origin.domain_name), ("x-api-key", ""), ("X-Forwarded-For", ""), ("x-restapi", "")]
    )
    context = _request_context(origin, route_key, "DISCONNECT", request_id, epoch_ms())
    context["disconnectStatusCode"] = status_code
    context["disconnectReason"] = reason
    return {"headers": single, "multiValueHeaders": multi, "requestContext": context, "isBase64Encoded": False}
