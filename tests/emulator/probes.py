"""Probe templates for the emulator's own tests: any WebSocket API, its routes running tests/emulator/probe/
handlers, which record what they were given into the test's tmp_path."""

import json
from pathlib import Path

PROBE_CODE = Path(__file__).parent / "probe"


def _logical(route_key: str) -> str:
    return route_key.lstrip("$").capitalize()


def records(directory: Path, connection_id: str, event_type: str) -> dict:
    return json.loads((directory / f"{connection_id}.{event_type}.json").read_text())


def no_pycache(directory: Path) -> bool:
    return not any(directory.rglob("__pycache__"))


def probe_template(
    routes: dict[str, str],
    unpermitted: tuple[str, ...] = (),
    timeouts: dict[str, int] | None = None,
    permissions: dict[str, dict[str, str]] | None = None,
) -> str:
    """A WebSocket API whose routes run tests/e2e/probe/probe.py handlers: {route key: handler name}.

    Written with the short-form tags, as main.yml is; routes in `unpermitted` get no Lambda::Permission;
    `permissions` replaces properties of a route's Permission ({route key: {"SourceArn": "!Sub ...", ...}}).
    """
    timeouts = timeouts or {}
    permissions = permissions or {}
    lines = [
        'AWSTemplateFormatVersion: "2010-09-09"',
        "Parameters:",
        "  StageName: {Type: String, Default: test}",
        "  ProbeDir: {Type: String}",
        "Resources:",
        "  Api:",
        "    Type: AWS::ApiGatewayV2::Api",
        "    Properties: {Name: probe, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}",
        "  Stage:",
        "    Type: AWS::ApiGatewayV2::Stage",
        "    Properties: {ApiId: !Ref Api, StageName: !Ref StageName}",
    ]
    for key, handler in routes.items():
        name = _logical(key)
        lines += [
            f"  {name}Function:",
            "    Type: AWS::Lambda::Function",
            "    Properties:",
            f"      Handler: probe.{handler}",
            "      Runtime: python3.13",
            f"      Code: {PROBE_CODE}",
            "      Role: !ImportValue probe-role-arn",
            f"      Timeout: {timeouts.get(key, 10)}",
            "      MemorySize: 128",
            "      Environment:",
            "        Variables:",
            '          API_ENDPOINT: !Sub "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}"',
            "          STAGE: !Ref StageName",
            "          PROBE_DIR: !Ref ProbeDir",
            '          PROBE_SETTING: !Sub "${AWS::StackName}-${StageName}"',
            f"  {name}Integration:",
            "    Type: AWS::ApiGatewayV2::Integration",
            "    Properties:",
            "      ApiId: !Ref Api",
            "      IntegrationType: AWS_PROXY",
            f'      IntegrationUri: !Sub "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/'
            f'2015-03-31/functions/${{{name}Function.Arn}}/invocations"',
            f"  {name}Route:",
            "    Type: AWS::ApiGatewayV2::Route",
            "    Properties:",
            "      ApiId: !Ref Api",
            f'      RouteKey: "{key}"',
            f'      Target: !Sub "integrations/${{{name}Integration}}"',
        ]
        if key not in unpermitted:
            properties = {
                "Action": "lambda:InvokeFunction",
                "FunctionName": f"!GetAtt {name}Function.Arn",
                "Principal": "apigateway.amazonaws.com",
                # Wildcards, as IAM's ArnLike matches them: any stage, this route.
                "SourceArn": f'!Sub "arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:'
                f'${{Api}}/*/{key}"',
                **permissions.get(key, {}),
            }
            lines += [f"  {name}Permission:", "    Type: AWS::Lambda::Permission", "    Properties:"]
            lines += [f"      {prop}: {value}" for prop, value in properties.items()]
    return "\n".join(lines) + "\n"
