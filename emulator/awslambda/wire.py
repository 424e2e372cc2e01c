"""botocore's `lambda` rest-json wire format for Invoke, and the emulator's own fault endpoint.

`POST /2015-03-31/functions/{FunctionName}/invocations` (FunctionName percent-encoded; `?Qualifier=`),
`X-Amz-Invocation-Type: RequestResponse | Event | DryRun`, the payload as the body. Errors as Lambda sends them:
the code in `x-amzn-ErrorType` and `{"Type": "User", "message": ...}` in the body, which botocore turns into
`client.exceptions.<Code>`.

`POST /_emulator/faults` `{"fault": "duplicate|drop|delay", "function": name, "seconds": s, "count": n}` injects a
fault into asynchronous delivery; `GET` lists them, `DELETE` clears them. Not an AWS API: for tests and manual runs.
"""

import json
import uuid
from typing import Any, Protocol

from aiohttp import web

from emulator.awslambda.asynchronous import EventQueue, Fault, error_payload
from emulator.awslambda.runtime import Result
from emulator.template import Function


class Functions(Protocol):
    """What the wire needs of the Lambda service (emulator/awslambda/service.py), which imports this module."""

    region: str
    account_id: str
    queue: EventQueue

    def find(self, name: str) -> Function | None: ...

    async def invoke(self, function: Function, payload: Any) -> Result: ...

    def invoke_async(self, function: Function, payload: Any) -> str: ...


MAX_SYNC_PAYLOAD = 6 * 1024 * 1024  # bytes, Invoke's request payload quota for RequestResponse
MAX_ASYNC_PAYLOAD = 1024 * 1024  # bytes, for Event (256 KB before 2025)

SERVICE: web.AppKey[Functions] = web.AppKey("service")


def add_routes(app: web.Application, service: Functions) -> None:
    app[SERVICE] = service
    app.router.add_post("/2015-03-31/functions/{name}/invocations", _invoke)
    app.router.add_route("*", "/_emulator/faults", _faults)


def _error(status: int, code: str, message: str, request_id: str | None = None) -> web.Response:
    return web.json_response(
        {"Type": "User", "message": message},
        status=status,
        headers={"x-amzn-ErrorType": code, "x-amzn-RequestId": request_id or str(uuid.uuid4())},
    )


async def _invoke(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    name = request.match_info["name"]
    qualifier = request.query.get("Qualifier")
    function = service.find(name if qualifier in (None, "$LATEST") else f"{name}:{qualifier}")
    if function is None:
        if not name.startswith("arn:"):
            region, account = service.region, service.account_id
            name = f"arn:aws:lambda:{region}:{account}:function:{name}"
        return _error(404, "ResourceNotFoundException", f"Function not found: {name}")
    kind = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
    if kind not in ("RequestResponse", "Event", "DryRun"):
        return _error(400, "InvalidParameterValueException", f"Unsupported invocation type {kind}")
    body = await request.read()
    limit = MAX_ASYNC_PAYLOAD if kind == "Event" else MAX_SYNC_PAYLOAD
    if len(body) > limit:
        return _error(
            413,
            "RequestTooLargeException",
            f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
        )
    try:
        payload: Any = json.loads(body) if body.strip() else {}
    except ValueError as exc:
        return _error(400, "InvalidRequestContentException", f"Could not parse request body into json: {exc}")
    version = {"X-Amz-Executed-Version": "$LATEST"}
    if kind == "DryRun":
        return web.Response(status=204, headers=version)
    if kind == "Event":
        request_id = service.invoke_async(function, payload)
        return web.Response(status=202, headers={"x-amzn-RequestId": request_id})
    result = await service.invoke(function, payload)
    headers = {**version, "x-amzn-RequestId": result.request_id, "Content-Type": "application/json"}
    if not result.ok:
        headers["X-Amz-Function-Error"] = "Unhandled"
        return web.Response(body=json.dumps(error_payload(result)).encode(), headers=headers)
    return web.Response(body=json.dumps(result.payload).encode(), headers=headers)


async def _faults(request: web.Request) -> web.Response:
    faults = request.app[SERVICE].queue.faults
    if request.method == "POST":
        try:
            spec = await request.json()
            fault = Fault(
                kind=spec["fault"],
                function=spec.get("function"),
                seconds=float(spec.get("seconds", 0)),
                count=int(spec.get("count", 1)),
            )
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"message": f"bad fault: {exc!r}"}, status=400)
        faults.append(fault)
    elif request.method == "DELETE":
        faults.clear()
    elif request.method != "GET":
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "POST", "DELETE"])
    return web.json_response([vars(f) for f in faults], status=201 if request.method == "POST" else 200)
