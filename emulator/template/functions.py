"""A template's AWS::Lambda::Function resources, with the ::Permission resources that let callers invoke them
(checked as Lambda's AddPermission checks them) and their ::EventInvokeConfig."""

import re
from dataclasses import replace
from pathlib import Path

from emulator.template.intrinsics import Resolver
from emulator.template.model import EventInvokeConfig, Function, Permission, TemplateError


def read_function(logical_id: str, resolver: Resolver, template_dir: Path, code_dir: Path | str | None) -> Function:
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


def with_permissions(functions: dict[str, Function], resources: dict, resolver: Resolver) -> dict[str, Function]:
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


def with_event_invoke_configs(
    functions: dict[str, Function], resources: dict, resolver: Resolver
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
