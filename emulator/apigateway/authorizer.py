"""A WebSocket API's REQUEST authorizer, run on $connect as API Gateway runs it.

1. Every identity source must be present and non-empty, or the handshake is refused with 401 and the function is
   not invoked (AWS::ApiGatewayV2::Authorizer, IdentitySource).
2. The function gets the REQUEST event (type, methodArn, headers, multiValueHeaders, query string, stageVariables,
   requestContext). It may be invoked only if a Lambda::Permission allows `.../authorizers/<id>`.
3. Its outcome: an error whose message is exactly "Unauthorized" -> 401; any other error, a timeout or a malformed
   answer (no principalId, no policyDocument, a context value that is an object or a list) -> 500; a policy with an
   explicit Deny for the methodArn, or without an Allow for it -> 403; else the connection proceeds.
4. The context's values are stringified and, with principalId and integrationLatency, become
   requestContext.authorizer of $connect, every message and $disconnect of the connection.

Results are never cached: WebSocket APIs do not support AuthorizerResultTtlInSeconds.
"""

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from emulator.apigateway.integration import Invoke
from emulator.template import Api, Authorizer, arn_like

log = logging.getLogger("emulator.apigateway")


@dataclass(frozen=True)
class Decision:
    status: int  # 200: proceed; 401, 403, 500: the handshake's answer
    authorizer: dict | None = None  # requestContext.authorizer for the connection's events


def missing_source(authorizer: Authorizer, headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The first identity source the request lacks (or has empty), else None."""
    lowered = {name.lower(): value for name, value in headers.items()}
    for source in authorizer.identity_sources:
        if source.startswith("route.request.header."):
            value = lowered.get(source.removeprefix("route.request.header.").lower(), "")
        elif source.startswith("route.request.querystring."):
            value = query.get(source.removeprefix("route.request.querystring."), "")
        else:  # stage variables and context variables: not emulated, so never satisfied
            value = ""
        if not value.strip():
            return source
    return None


def request_event(api: Api, route_key: str, connect_event: dict) -> dict:
    """The REQUEST authorizer event: the $connect event's parts plus type and methodArn."""
    return {
        "type": "REQUEST",
        "methodArn": api.method_arn(route_key),
        "headers": connect_event["headers"],
        "multiValueHeaders": connect_event["multiValueHeaders"],
        "queryStringParameters": connect_event.get("queryStringParameters", {}),
        "multiValueQueryStringParameters": connect_event.get("multiValueQueryStringParameters", {}),
        "stageVariables": {},
        "requestContext": connect_event["requestContext"],
    }


def _matches(patterns: object, value: str, match: Callable[[str, str], bool]) -> bool:
    items = patterns if isinstance(patterns, list) else [patterns]
    return any(isinstance(item, str) and match(item, value) for item in items)


def _action_like(pattern: str, action: str) -> bool:
    return fnmatchcase(action.lower(), pattern.lower())  # IAM action names are case-insensitive


def _arn_like(pattern: str, arn: str) -> bool:
    return pattern == "*" or arn_like(pattern, arn)


def allows(policy: object, method_arn: str) -> bool | None:
    """IAM's evaluation for one request: False on an explicit Deny, True on an Allow, None when malformed."""
    if not isinstance(policy, dict) or not isinstance(policy.get("Statement"), list | dict):
        return None
    statements = policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]
    allowed = False
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
            return None
        applies = _matches(statement.get("Action"), "execute-api:Invoke", _action_like) and _matches(
            statement.get("Resource"), method_arn, _arn_like
        )
        if applies and statement["Effect"] == "Deny":
            return False
        allowed = allowed or applies
    return allowed


def _stringified(context: object) -> dict[str, str] | None:
    """API Gateway's view of a context: scalar values as strings; None if any value is an object or a list."""
    if context is None:
        return {}
    if not isinstance(context, dict):
        return None
    result = {}
    for key, value in context.items():
        if isinstance(value, dict | list):
            return None
        result[str(key)] = json.dumps(value) if isinstance(value, bool) or value is None else str(value)
    return result


async def decide(
    api: Api,
    route_key: str,
    authorizer: Authorizer,
    connect_event: dict,
    invoke: Invoke,
    timeout: float,
) -> Decision:
    """Run the authorizer for a $connect event; the decision says whether and as whom the client connects."""
    connection_id = connect_event["requestContext"]["connectionId"]
    query = connect_event.get("queryStringParameters", {})
    source = missing_source(authorizer, connect_event["headers"], query)
    if source is not None:
        log.info("%s authorizer %s: %s is missing: 401, not invoked", connection_id, authorizer.name, source)
        return Decision(401)
    if authorizer.function is None or not api.may_invoke_authorizer(authorizer):
        log.info(
            "%s authorizer %s: Execution failed due to configuration error: no AWS::Lambda::Permission lets "
            "apigateway.amazonaws.com invoke it from %s",
            connection_id,
            authorizer.name,
            api.authorizer_source_arn(authorizer),
        )
        return Decision(500)
    event = request_event(api, route_key, connect_event)
    started = time.perf_counter()
    try:
        result = await asyncio.wait_for(invoke(authorizer.function, event), timeout)
    except TimeoutError:
        log.info("%s authorizer %s: timed out: 500", connection_id, authorizer.name)
        return Decision(500)
    latency_ms = round((time.perf_counter() - started) * 1000)
    payload = result.payload
    if not result.ok:
        status = 401 if result.error_message == "Unauthorized" else 500
        log.info("%s authorizer %s: %s: %s", connection_id, authorizer.name, result.error, status)
        return Decision(status)
    if payload == "Unauthorized":  # the string API Gateway also takes as a refusal
        return Decision(401)
    principal = payload.get("principalId") if isinstance(payload, dict) else None
    verdict = allows(payload.get("policyDocument"), event["methodArn"]) if isinstance(payload, dict) else None
    context = _stringified(payload.get("context")) if isinstance(payload, dict) else None
    if not isinstance(principal, str) or not principal or verdict is None or context is None:
        log.info("%s authorizer %s: invalid authorizer response: 500", connection_id, authorizer.name)
        return Decision(500)
    if not verdict:
        log.info("%s authorizer %s: the policy does not allow %s: 403", connection_id, authorizer.name, route_key)
        return Decision(403)
    log.info("%s authorizer %s: allowed principal %s", connection_id, authorizer.name, principal)
    return Decision(200, {**context, "principalId": principal, "integrationLatency": latency_ms})


def attach(event: dict, authorizer: dict | None) -> dict:
    """The event with requestContext.authorizer set, as API Gateway sends every event of an authorized connection."""
    if authorizer is not None:
        event["requestContext"]["authorizer"] = dict(authorizer)
    return event
