"""load(): a template -> the WebSocket API it declares (stage, route selection, routes -> integrations ->
functions, authorizers, outputs, the resources of LOCAL_SERVICE_TYPES).

The template is read with cfn-lint's decoder (the short-form tags `!Ref`, `!Sub`, `!GetAtt`, `!ImportValue` become
their `Fn::` forms), then resolved by intrinsics.Resolver.
"""

import contextlib
import re
from collections.abc import Mapping
from pathlib import Path

import cfnlint.decode

from emulator.template.functions import read_function, with_event_invoke_configs, with_permissions
from emulator.template.intrinsics import Provision, Resolver
from emulator.template.model import (
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    DEFAULT_STACK,
    LOCAL_SERVICE_TYPES,
    Api,
    Authorizer,
    Function,
    Resource,
    Route,
    TemplateError,
)


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
    resolver = Resolver(template, dict(parameters or {}), region, account_id, stack_name, dict(provision or {}))
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
        logical_id: read_function(logical_id, resolver, path.parent, code_dir)
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::Lambda::Function"
    }
    functions = with_event_invoke_configs(with_permissions(functions, resources, resolver), resources, resolver)
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


def _authorizer(logical_id: str, resolver: Resolver, by_arn: dict[str, Function]) -> Authorizer:
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
