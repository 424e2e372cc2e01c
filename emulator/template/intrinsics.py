"""CloudFormation's intrinsic functions and Conditions, resolved as CloudFormation would, as far as a local run
needs them.

`Ref` to a parameter's override or default, to a pseudo parameter or to a resource's physical id; `Fn::Sub`,
`Fn::GetAtt`, `Fn::Join`. There are no other stacks locally, so `Fn::ImportValue` becomes a placeholder naming the
export; the template imports only IAM roles, which the emulator does not enforce.

`Conditions` are evaluated (`Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`), a resource whose
`Condition` is false does not exist, and `Fn::If` / `AWS::NoValue` resolve as CloudFormation's do. Resources
whose id the service assigns (a Cognito user pool's) are created through the `provision` callback when first
referred to, so `Ref` gives the id the local service gave them.
"""

import hashlib
import re
from collections.abc import Callable
from typing import Any

from emulator.template.model import TemplateError

NO_VALUE = object()  # AWS::NoValue: the property or list item is left out

# (logical id, type, resolved properties) -> the physical id a local service gave the new resource
Provision = Callable[[str, str, dict], str]


class Resolver:
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
