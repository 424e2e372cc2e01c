"""What emulator/template/ makes of a template: the API, its routes and authorizers, every function with its
permissions and asynchronous-invocation config, and the resources a local AWS service holds."""

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

DEFAULT_REGION = "ap-northeast-1"
DEFAULT_ACCOUNT = "123456789012"  # AWS's documentation account: no real account id ever appears locally
DEFAULT_STACK = "local"
APIGATEWAY_PRINCIPAL = "apigateway.amazonaws.com"

# Resources the emulator does not imitate itself; emulator/services/local.py creates them in a local AWS service.
LOCAL_SERVICE_TYPES = ("AWS::DynamoDB::Table",)


class TemplateError(Exception):
    """The template cannot be served: unreadable, or missing something the emulator needs."""


@dataclass(frozen=True)
class Permission:
    logical_id: str
    action: str
    principal: str
    source_arn: str | None  # None: any source may invoke
    source_account: str | None = None  # None: any account may invoke


@dataclass(frozen=True)
class EventInvokeConfig:
    """How Lambda handles the function's asynchronous invocations (defaults: Lambda's, with no config)."""

    maximum_retry_attempts: int = 2  # 0-2: retries after a function error
    maximum_event_age: int = 6 * 60 * 60  # seconds an event may wait in the queue (60-21600)
    on_success: str | None = None  # destination ARN for the success record
    on_failure: str | None = None  # destination ARN for the failure record


@dataclass(frozen=True)
class Function:
    logical_id: str
    name: str
    arn: str
    handler: str  # "module.function"
    code_dir: Path
    runtime: str
    timeout: int  # seconds; CloudFormation's default is 3
    memory_size: int  # MB; CloudFormation's default is 128
    environment: dict[str, str]
    log_group: str
    permissions: tuple[Permission, ...] = ()
    event_invoke: EventInvokeConfig = EventInvokeConfig()


@dataclass(frozen=True)
class Authorizer:
    """An AWS::ApiGatewayV2::Authorizer of type REQUEST (the only kind a WebSocket API takes)."""

    authorizer_id: str
    name: str
    function: Function | None  # None: the AuthorizerUri names no function of the template
    identity_sources: tuple[str, ...]  # e.g. "route.request.header.Sec-WebSocket-Protocol"


@dataclass(frozen=True)
class Resource:
    """A resource a local AWS service holds: its type, physical name (what `Ref` gives) and resolved properties."""

    logical_id: str
    kind: str
    name: str
    properties: dict


@dataclass(frozen=True)
class Route:
    key: str
    function: Function | None  # None: the integration is not a Lambda proxy, which the emulator cannot run
    two_way: bool = False  # a RouteResponseSelectionExpression: the handler's `body` goes back to the client
    authorizer: Authorizer | None = None  # AuthorizationType CUSTOM ($connect only)


@dataclass(frozen=True)
class Api:
    api_id: str
    name: str
    stage: str
    region: str
    account_id: str
    route_selection_expression: str
    routes: dict[str, Route] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)  # every function, by logical id
    outputs: dict[str, str] = field(default_factory=dict)  # the stack's Outputs, as far as they resolve locally
    resources: tuple[Resource, ...] = ()  # of LOCAL_SERVICE_TYPES, in template order

    @property
    def domain_name(self) -> str:
        """The host the deployed API would have; environment values naming it are pointed at the emulator."""
        return f"{self.api_id}.execute-api.{self.region}.amazonaws.com"

    def source_arn(self, route_key: str) -> str:
        """The ARN API Gateway invokes a route's function with, which its Lambda::Permission must match."""
        return f"arn:aws:execute-api:{self.region}:{self.account_id}:{self.api_id}/{self.stage}/{route_key}"

    def authorizer_source_arn(self, authorizer: Authorizer) -> str:
        """The ARN API Gateway invokes an authorizer's function with."""
        return (
            f"arn:aws:execute-api:{self.region}:{self.account_id}:{self.api_id}/authorizers/{authorizer.authorizer_id}"
        )

    def method_arn(self, route_key: str) -> str:
        """What a REQUEST authorizer's policy must allow (its event's methodArn)."""
        return self.source_arn(route_key)

    def may_invoke(self, route: Route) -> bool:
        """Whether a resource policy lets API Gateway invoke the route's function, as Lambda checks it."""
        return self._may_invoke(route.function, self.source_arn(route.key))

    def may_invoke_authorizer(self, authorizer: Authorizer) -> bool:
        return self._may_invoke(authorizer.function, self.authorizer_source_arn(authorizer))

    def _may_invoke(self, function: Function | None, source_arn: str) -> bool:
        if function is None:
            return False
        return any(
            p.principal == APIGATEWAY_PRINCIPAL
            and p.action in ("lambda:InvokeFunction", "lambda:*")
            and (p.source_arn is None or arn_like(p.source_arn, source_arn))
            and p.source_account in (None, self.account_id)
            for p in function.permissions
        )


def arn_like(pattern: str, arn: str) -> bool:
    """IAM's ArnLike: the six colon-separated parts are matched one by one, each may use `*` and `?`."""
    pattern_parts, arn_parts = pattern.split(":", 5), arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        return False
    # fnmatch's `[...]` classes are not IAM syntax: escape them so they match literally.
    escaped = [re.sub(r"([\[\]])", r"[\1]", part) for part in pattern_parts]
    return all(fnmatchcase(a, p) for p, a in zip(escaped, arn_parts, strict=True))
