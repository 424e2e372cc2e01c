"""main.yml -> the WebSocket API the emulator serves: stage, route selection, routes -> functions -> permissions.

The template is read with cfn-lint's decoder (the short-form tags `!Ref`, `!Sub`, `!GetAtt`, `!ImportValue` become
their `Fn::` forms), then the intrinsics the emulator needs are resolved the way CloudFormation would: `Ref` to a
parameter's override or default, to a pseudo parameter or to a resource's physical id; `Fn::Sub`, `Fn::GetAtt`,
`Fn::Join`. There are no other stacks locally, so `Fn::ImportValue` becomes a placeholder naming the export; the
template imports only IAM roles, which the emulator does not enforce.

`Conditions` are evaluated (`Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`), a resource whose
`Condition` is false does not exist, and `Fn::If` / `AWS::NoValue` resolve as CloudFormation's do. Resources
whose id the service assigns (a Cognito user pool's) are created through the `provision` callback when first
referred to, so `Ref` gives the id the local service gave them.

Nothing here knows our four routes: every `AWS::ApiGatewayV2::Route` is followed to its integration, function
and permissions, so a route added to main.yml is served locally with no change here. Every
`AWS::Lambda::Function` is listed too, routed or not (Lambda's Invoke API serves them all), with its
`AWS::Lambda::EventInvokeConfig`. Resources of the types in LOCAL_SERVICE_TYPES (a DynamoDB table) are listed
with their physical names and resolved properties, for emulator/aws_services.py to create; `Ref`/`Fn::GetAtt` of
them resolve as CloudFormation's would.
"""

import contextlib
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import cfnlint.decode

DEFAULT_REGION = "ap-northeast-1"
DEFAULT_ACCOUNT = "123456789012"  # AWS's documentation account: no real account id ever appears locally
DEFAULT_STACK = "local"
APIGATEWAY_PRINCIPAL = "apigateway.amazonaws.com"
NO_VALUE = object()  # AWS::NoValue: the property or list item is left out

# (logical id, type, resolved properties) -> the physical id a local service gave the new resource
Provision = Callable[[str, str, dict], str]
# Resources the emulator does not imitate itself; emulator/aws_services.py creates them in a local AWS service.
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


def load(
    path: Path | str,
    parameters: Mapping[str, str] | None = None,
    stage: str | None = None,
    code_dir: Path | str | None = None,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT,
    stack_name: str = DEFAULT_STACK,
    provision: Mapping[str, Provision] | None = None,
) -> Api:
    """Read a template and resolve the WebSocket API it declares.

    `stage` overrides the parameter the Stage's StageName refers to, so every `${StageName}` (permissions,
    environment) follows. `code_dir` replaces every function's `Code` (else `Code` is a path next to the template).
    `provision` maps resource types to the local service that creates them; each such resource is created once.
    """
    path = Path(path)
    template, matches = cfnlint.decode.decode(str(path))
    if template is None:
        raise TemplateError(f"{path}: " + "; ".join(str(m) for m in matches))
    resolver = _Resolver(template, dict(parameters or {}), region, account_id, stack_name, dict(provision or {}))
    resources = resolver.resources
    for logical_id, resource in resources.items():
        if resource.get("Type") in resolver.provision:
            resolver.resolve({"Ref": logical_id})
    api_id = _only(resources, "AWS::ApiGatewayV2::Api", path)
    api = resources[api_id]["Properties"]
    if api.get("ProtocolType") != "WEBSOCKET":
        raise TemplateError(f"{path}: {api_id} is not a WEBSOCKET API")
    stage_id = _only(resources, "AWS::ApiGatewayV2::Stage", path)
    stage_name = resources[stage_id]["Properties"]["StageName"]
    if stage is not None:
        if isinstance(stage_name, dict) and set(stage_name) == {"Ref"} and stage_name["Ref"] in resolver.parameters:
            resolver.overrides[stage_name["Ref"]] = stage
        elif resolver.resolve(stage_name) != stage:
            raise TemplateError(f"{path}: the stage name is fixed to {resolver.resolve(stage_name)!r}")

    functions = {
        logical_id: _function(logical_id, resolver, path.parent, code_dir)
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::Lambda::Function"
    }
    functions = _with_event_invoke_configs(_with_permissions(functions, resources, resolver), resources, resolver)
    by_arn = {function.arn: function for function in functions.values()}
    integrations = {
        resolver.resolve({"Ref": logical_id}): resource.get("Properties", {})
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::ApiGatewayV2::Integration"
    }
    authorizers = {
        resolver.resolve({"Ref": logical_id}): _authorizer(logical_id, resolver, by_arn)
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::ApiGatewayV2::Authorizer"
    }
    routes: dict[str, Route] = {}
    for resource in resources.values():
        if resource.get("Type") != "AWS::ApiGatewayV2::Route":
            continue
        props = resolver.resolve(resource["Properties"])
        key = props["RouteKey"]
        authorization = props.get("AuthorizationType", "NONE")
        authorizer = None
        if authorization == "CUSTOM":
            if key != "$connect":  # API Gateway refuses the deployment
                raise TemplateError(f"{path}: route {key}: a WebSocket API authorizes only $connect")
            if props.get("AuthorizerId") not in authorizers:
                raise TemplateError(f"{path}: route {key}: AuthorizerId names no AWS::ApiGatewayV2::Authorizer")
            authorizer = authorizers[props["AuthorizerId"]]
        elif authorization != "NONE":  # JWT is for HTTP APIs; AWS_IAM (SigV4 URLs) is not emulated
            raise TemplateError(f"{path}: route {key}: AuthorizationType {authorization} is not emulated")
        target = resolver.resolve(props.get("Target", ""))
        integration = integrations.get(target.removeprefix("integrations/"), {})
        function = None
        if resolver.resolve(integration.get("IntegrationType", "")) == "AWS_PROXY":
            uri = resolver.resolve(integration.get("IntegrationUri", ""))
            match = re.search(r"/functions/(.+)/invocations$", uri)
            function = by_arn.get(match.group(1)) if match else None
        routes[key] = Route(key, function, "RouteResponseSelectionExpression" in props, authorizer)

    outputs = {}
    for name, output in template.get("Outputs", {}).items():
        if "Condition" in output and not resolver.condition(output["Condition"]):
            continue
        with contextlib.suppress(TemplateError):  # e.g. an attribute the emulator does not model
            outputs[name] = str(resolver.resolve(output["Value"]))
    local = tuple(
        Resource(
            logical_id,
            resource["Type"],
            resolver.resolve({"Ref": logical_id}),
            resolver.resolve(resource.get("Properties", {})),
        )
        for logical_id, resource in resources.items()
        if resource.get("Type") in LOCAL_SERVICE_TYPES
    )

    return Api(
        api_id=resolver.resolve({"Ref": api_id}),
        name=resolver.resolve(api.get("Name", api_id)),
        stage=resolver.resolve(stage_name),
        region=region,
        account_id=account_id,
        route_selection_expression=resolver.resolve(api.get("RouteSelectionExpression", "$request.body.action")),
        routes=routes,
        functions=functions,
        resources=local,
        outputs=outputs,
    )


def _authorizer(logical_id: str, resolver: "_Resolver", by_arn: dict[str, Function]) -> Authorizer:
    props = resolver.resolve(resolver.resources[logical_id].get("Properties", {}))
    if props.get("AuthorizerType") != "REQUEST":  # JWT authorizers are for HTTP APIs only
        raise TemplateError(f"{logical_id}: a WebSocket API takes only REQUEST authorizers")
    match = re.search(r"/functions/(.+)/invocations$", props.get("AuthorizerUri", ""))
    return Authorizer(
        authorizer_id=resolver.resolve({"Ref": logical_id}),
        name=props.get("Name", logical_id),
        function=by_arn.get(match.group(1)) if match else None,
        identity_sources=tuple(props.get("IdentitySource", [])),
    )


def _only(resources: dict, kind: str, path: Path) -> str:
    found = [logical_id for logical_id, resource in resources.items() if resource.get("Type") == kind]
    if len(found) != 1:
        raise TemplateError(f"{path}: expected one {kind}, found {len(found)}")
    return found[0]


def _function(logical_id: str, resolver: "_Resolver", template_dir: Path, code_dir: Path | str | None) -> Function:
    props = resolver.resolve(resolver.resources[logical_id].get("Properties", {}))
    if code_dir is None:
        if not isinstance(props.get("Code"), str):
            raise TemplateError(f"{logical_id}: Code must be a local path (or pass a code dir)")
        code_dir = template_dir / props["Code"]
    variables = props.get("Environment", {}).get("Variables", {})
    name = resolver.resolve({"Ref": logical_id})
    log_group = props.get("LoggingConfig", {}).get("LogGroup", f"/aws/lambda/{name}")
    return Function(
        logical_id=logical_id,
        name=name,
        arn=resolver.resolve({"Fn::GetAtt": [logical_id, "Arn"]}),
        handler=props["Handler"],
        code_dir=Path(code_dir).resolve(),
        runtime=props.get("Runtime", ""),
        timeout=int(props.get("Timeout", 3)),
        memory_size=int(props.get("MemorySize", 128)),
        environment={key: str(value) for key, value in variables.items()},
        log_group=log_group,
    )


# Lambda's AddPermission (which CloudFormation calls) validates these against its API model's patterns, whole
# value: a wildcard in the partition, service, region or account of SourceArn fails the deploy (issue 15).
_ADD_PERMISSION_PATTERNS = {
    "Action": r"lambda:[*]|lambda:[a-zA-Z]+|[*]",
    "Principal": r"[^\s]+",
    "SourceArn": r"arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:"
    r"(\d{12})?:(.*)",
    "SourceAccount": r"\d{12}",
}


def _check_add_permission(logical_id: str, props: dict) -> None:
    """TemplateError with Lambda's own wording where AddPermission would refuse the Permission."""
    for key, pattern in _ADD_PERMISSION_PATTERNS.items():
        value = props.get(key)
        if value is not None and not re.fullmatch(pattern, str(value)):
            member = key[0].lower() + key[1:]
            raise TemplateError(
                f"{logical_id}: Lambda's AddPermission would refuse it: 1 validation error detected: Value '{value}' "
                f"at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}"
            )


def _with_permissions(functions: dict[str, Function], resources: dict, resolver: "_Resolver") -> dict[str, Function]:
    """Attach each Lambda::Permission to the function its FunctionName names (by name or ARN)."""
    granted: dict[str, list[Permission]] = {logical_id: [] for logical_id in functions}
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Lambda::Permission":
            continue
        props = resolver.resolve(resource["Properties"])
        _check_add_permission(logical_id, props)
        for function in functions.values():
            if props["FunctionName"] in (function.name, function.arn):
                permission = Permission(
                    logical_id, props["Action"], props["Principal"], props.get("SourceArn"), props.get("SourceAccount")
                )
                granted[function.logical_id].append(permission)
    return {
        logical_id: Function(**{**function.__dict__, "permissions": tuple(granted[logical_id])})
        for logical_id, function in functions.items()
    }


def _with_event_invoke_configs(
    functions: dict[str, Function], resources: dict, resolver: "_Resolver"
) -> dict[str, Function]:
    """Attach each Lambda::EventInvokeConfig (for $LATEST, the only version the emulator runs) to its function."""
    configs: dict[str, EventInvokeConfig] = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Lambda::EventInvokeConfig":
            continue
        props = resolver.resolve(resource["Properties"])
        if props.get("Qualifier") != "$LATEST":
            continue
        destinations = props.get("DestinationConfig", {})
        config = EventInvokeConfig(
            maximum_retry_attempts=int(props.get("MaximumRetryAttempts", 2)),
            maximum_event_age=int(props.get("MaximumEventAgeInSeconds", 6 * 60 * 60)),
            on_success=destinations.get("OnSuccess", {}).get("Destination"),
            on_failure=destinations.get("OnFailure", {}).get("Destination"),
        )
        matched = [f for f in functions.values() if props["FunctionName"] in (f.name, f.arn)]
        if not matched:
            raise TemplateError(f"{logical_id}: no function named {props['FunctionName']}")
        configs[matched[0].logical_id] = config
    return {
        logical_id: replace(function, event_invoke=configs[logical_id]) if logical_id in configs else function
        for logical_id, function in functions.items()
    }


class _Resolver:
    """CloudFormation's intrinsic functions, as far as a local run needs them."""

    def __init__(
        self,
        template: dict,
        overrides: dict[str, str],
        region: str,
        account_id: str,
        stack: str,
        provision: dict[str, Provision] | None = None,
    ) -> None:
        self.parameters: dict = template.get("Parameters", {})
        unknown = set(overrides) - set(self.parameters)
        if unknown:
            raise TemplateError(f"unknown parameters: {', '.join(sorted(unknown))}")
        for name, value in overrides.items():
            allowed = self.parameters[name].get("AllowedValues")
            if allowed is not None and value not in [str(a) for a in allowed]:
                raise TemplateError(f"parameter {name}={value!r} is not one of {', '.join(map(str, allowed))}")
        self.overrides = overrides
        self.provision = provision or {}
        self.provisioned: dict[str, str] = {}
        self.conditions: dict = template.get("Conditions", {})
        self._condition_values: dict[str, bool] = {}
        self.pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": account_id,
            "AWS::StackName": stack,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.resources: dict = {
            logical_id: resource
            for logical_id, resource in template.get("Resources", {}).items()
            if "Condition" not in resource or self.condition(resource["Condition"])
        }

    def condition(self, name: str) -> bool:
        if name not in self._condition_values:
            if name not in self.conditions:
                raise TemplateError(f"unknown condition {name}")
            self._condition_values[name] = bool(self._evaluate(self.conditions[name]))
        return self._condition_values[name]

    def _evaluate(self, value: Any) -> Any:
        """A condition function's value: Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition, or any resolvable."""
        if isinstance(value, dict) and len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Fn::Equals":
                left, right = (self._evaluate(item) for item in argument)
                return str(left) == str(right)
            if name == "Fn::Not":
                return not self._evaluate(argument[0])
            if name == "Fn::And":
                return all(self._evaluate(item) for item in argument)
            if name == "Fn::Or":
                return any(self._evaluate(item) for item in argument)
            if name == "Condition":
                return self.condition(argument)
        return self.resolve(value)

    def resolve(self, value: Any) -> Any:
        """The value CloudFormation would use; properties and list items that are AWS::NoValue are left out."""
        resolved = self._resolve(value)
        return None if resolved is NO_VALUE else resolved

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self._resolve(item) for item in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return str(value) if isinstance(value, str) else value
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref":
                return NO_VALUE if argument == "AWS::NoValue" else self._ref(argument)
            if name == "Fn::If":
                condition, when_true, when_false = argument
                return self._resolve(when_true if self.condition(condition) else when_false)
            if name in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"):
                return self._evaluate(value)
            if name == "Fn::Sub":
                return self._sub(argument)
            if name == "Fn::GetAtt":
                resource, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
                return self._get_att(resource, attribute)
            if name == "Fn::Join":
                delimiter, items = argument
                return delimiter.join(self.resolve(items))
            if name == "Fn::ImportValue":
                return f"<ImportValue {self.resolve(argument)}>"
        items = {str(key): self._resolve(item) for key, item in value.items()}
        return {key: item for key, item in items.items() if item is not NO_VALUE}

    def _ref(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            if name in self.overrides:
                return self.overrides[name]
            if "Default" not in self.parameters[name]:
                raise TemplateError(f"parameter {name} has no default: pass --parameter {name}=...")
            return str(self.parameters[name]["Default"])
        if name not in self.resources:
            raise TemplateError(f"Ref to unknown {name}")
        resource = self.resources[name]
        props = resource.get("Properties", {})
        kind = resource.get("Type", "")
        if kind in self.provision:
            if name not in self.provisioned:
                self.provisioned[name] = self.provision[kind](name, kind, self.resolve(props))
            return self.provisioned[name]
        if kind == "AWS::Lambda::Function" and "FunctionName" in props:
            return self.resolve(props["FunctionName"])
        if kind == "AWS::Logs::LogGroup" and "LogGroupName" in props:
            return self.resolve(props["LogGroupName"])
        if kind == "AWS::ApiGatewayV2::Api":
            return self._physical_id(name, 10)  # API ids are 10 lowercase letters and digits
        if kind.startswith("AWS::ApiGatewayV2::"):
            return self._physical_id(name, 7)
        if kind == "AWS::DynamoDB::Table" and "TableName" in props:
            return self.resolve(props["TableName"])
        if kind in ("AWS::Lambda::Function", "AWS::DynamoDB::Table"):
            return f"{self.pseudo['AWS::StackName']}-{name}-{self._physical_id(name, 12).upper()}"
        return name

    def _physical_id(self, logical_id: str, length: int) -> str:
        """Stable across runs, so logs and ARNs can be compared from one run to the next."""
        digest = hashlib.sha256(f"{self.pseudo['AWS::StackName']}/{logical_id}".encode()).digest()
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        return "".join(alphabet[byte % len(alphabet)] for byte in digest[:length])

    def _get_att(self, resource: str, attribute: str) -> str:
        kind = self.resources.get(resource, {}).get("Type")
        region, account = self.pseudo["AWS::Region"], self.pseudo["AWS::AccountId"]
        if kind == "AWS::Lambda::Function" and attribute == "Arn":
            return f"arn:aws:lambda:{region}:{account}:function:{self._ref(resource)}"
        if kind == "AWS::ApiGatewayV2::Api" and attribute == "ApiEndpoint":
            return f"wss://{self._ref(resource)}.execute-api.{region}.amazonaws.com"
        if kind == "AWS::ApiGatewayV2::Api" and attribute == "ApiId":
            return self._ref(resource)
        if kind == "AWS::DynamoDB::Table" and attribute == "Arn":
            return f"arn:aws:dynamodb:{region}:{account}:table/{self._ref(resource)}"
        if kind == "AWS::Logs::LogGroup" and attribute == "Arn":
            return f"arn:aws:logs:{region}:{account}:log-group:{self._ref(resource)}:*"
        raise TemplateError(f"Fn::GetAtt {resource}.{attribute} is not emulated")

    def _sub(self, argument: str | list) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        variables = {key: self.resolve(value) for key, value in variables.items()}

        def substitute(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):  # `${!Literal}` is written as `${Literal}`
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return self._get_att(*name.split(".", 1))
            return self._ref(name)

        return re.sub(r"\$\{([^}]+)\}", substitute, text)
