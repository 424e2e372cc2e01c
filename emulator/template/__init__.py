"""main.yml -> the WebSocket API the emulator serves: stage, route selection, routes -> functions -> permissions.

Nothing here knows any project's routes: every `AWS::ApiGatewayV2::Route` is followed to its integration, function
and permissions, so a route added to main.yml is served locally with no change here. Every
`AWS::Lambda::Function` is listed too, routed or not (Lambda's Invoke API serves them all), with its
`AWS::Lambda::EventInvokeConfig`. Resources of the types in LOCAL_SERVICE_TYPES (a DynamoDB table) are listed
with their physical names and resolved properties, for emulator/services/ to create; `Ref`/`Fn::GetAtt` of
them resolve as CloudFormation's would.

- loader.py: load(): read the template (cfn-lint's decoder), then the API, its stage, routes and authorizers.
- intrinsics.py: `Ref`, `Fn::Sub`, `Fn::GetAtt`, `Fn::If`, Conditions ... as CloudFormation resolves them.
- functions.py: Lambda functions, their permissions (as AddPermission checks them) and EventInvokeConfig.
- model.py: what load() returns (Api, Route, Authorizer, Function, Permission, EventInvokeConfig, Resource).
"""

from emulator.template.intrinsics import NO_VALUE, Provision
from emulator.template.loader import load
from emulator.template.model import (
    APIGATEWAY_PRINCIPAL,
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    DEFAULT_STACK,
    LOCAL_SERVICE_TYPES,
    Api,
    Authorizer,
    EventInvokeConfig,
    Function,
    Permission,
    Resource,
    Route,
    TemplateError,
    arn_like,
)

__all__ = [
    "APIGATEWAY_PRINCIPAL",
    "DEFAULT_ACCOUNT",
    "DEFAULT_REGION",
    "DEFAULT_STACK",
    "LOCAL_SERVICE_TYPES",
    "NO_VALUE",
    "Api",
    "Authorizer",
    "EventInvokeConfig",
    "Function",
    "Permission",
    "Provision",
    "Resource",
    "Route",
    "TemplateError",
    "arn_like",
    "load",
]
