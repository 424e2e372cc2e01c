"""The integration step of API Gateway's pipeline (route selection -> authorizer -> integration -> response): invoke
the route's Lambda proxy within the integration timeout, or answer with the error API Gateway reports instead."""

import asyncio
import logging
from collections.abc import Callable

from emulator.awslambda.runtime import Result
from emulator.template import Api, Function, Route

log = logging.getLogger("emulator.apigateway")

# (function, event) -> the running invocation: a task the caller owns, so a timed-out one keeps running, as on AWS.
Invoke = Callable[[Function, dict], "asyncio.Future[Result]"]


async def integrate(api: Api, route: Route, event: dict, invoke: Invoke, timeout: float) -> Result | str:
    """A Result, or the error API Gateway reports instead ("Internal server error", "Endpoint request timed out")."""
    context = event["requestContext"]
    function = route.function
    if function is None:
        log.info("%s %s: the integration is not a Lambda proxy", context["connectionId"], route.key)
        return "Internal server error"
    if not api.may_invoke(route):
        log.info(
            "%s %s: Execution failed due to configuration error: Invalid permissions on Lambda function %s "
            "(no AWS::Lambda::Permission lets apigateway.amazonaws.com invoke it from %s)",
            context["connectionId"],
            route.key,
            function.logical_id,
            api.source_arn(route.key),
        )
        return "Internal server error"
    log.info(
        "%s %s %s -> %s requestId=%s",
        context["connectionId"],
        context["eventType"],
        route.key,
        function.logical_id,
        context["requestId"],
    )
    invocation = invoke(function, event)
    done, _ = await asyncio.wait({invocation}, timeout=timeout)
    if not done:
        log.info("%s %s: Endpoint request timed out", context["connectionId"], route.key)
        return "Endpoint request timed out"
    try:
        result = invocation.result()
    except Exception:  # the emulator's own failure (e.g. no process could start): still only this request
        log.exception("%s %s: invocation failed", context["connectionId"], route.key)
        return "Internal server error"
    if not result.ok:
        log.info("%s %s: Lambda failed (%s)", context["connectionId"], route.key, result.error)
        return "Internal server error"
    return result
