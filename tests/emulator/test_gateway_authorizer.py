"""The gateway runs a REQUEST authorizer on $connect as API Gateway does: identity sources first, the REQUEST
event, the policy evaluated against the methodArn, 401/403/500, and the context on every event of the connection."""

import asyncio
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from emulator import template
from emulator.template import TemplateError
from tests.emulator.probes import probe_template, records
from tests.local_cloud import eventually, receive_json

pytestmark = pytest.mark.e2e

ROUTES = {"$connect": "connect_subprotocol", "$disconnect": "record", "echo": "echo", "authorizer": "authorize"}
AUTHORIZER = """\
  Authorizer:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Api
      Name: probe-authorizer
      AuthorizerType: REQUEST
      AuthorizerUri: !Sub "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/\
${AuthorizerFunction.Arn}/invocations"
      IdentitySource: [route.request.header.Sec-WebSocket-Protocol]
"""
PERMISSION = """\
  AuthorizerPermission:
    Type: AWS::Lambda::Permission
    Properties:
      Action: lambda:InvokeFunction
      FunctionName: !Ref AuthorizerFunction
      Principal: apigateway.amazonaws.com
      SourceArn: !Sub "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:\
${Api}/authorizers/${Authorizer}"
"""


def authorized_template(permission: bool = True) -> str:
    """The probe API with an authorizer function (no route of its own) on $connect."""
    text = probe_template(ROUTES, unpermitted=("authorizer",))
    # The authorizer function is declared as a route's by probe_template: take its route and integration out.
    text = text.replace('      RouteKey: "authorizer"', '      RouteKey: "unused-authorizer-route"')
    text = text.replace(
        '      RouteKey: "$connect"\n',
        '      RouteKey: "$connect"\n      AuthorizationType: CUSTOM\n      AuthorizerId: !Ref Authorizer\n',
    )
    return text + AUTHORIZER + (PERMISSION if permission else "")


async def refused(url: str, subprotocols: list[str] | None) -> int:
    with pytest.raises(InvalidStatus) as failure:
        async with websockets.connect(url, subprotocols=subprotocols):
            pass
    return failure.value.response.status_code


async def test_an_allowed_connection_carries_the_context_on_every_event(emulator, tmp_path: Path):
    async with emulator(authorized_template()) as cloud:
        url = cloud.url + "?lang=en"
        async with websockets.connect(url, subprotocols=["probe", "allow"]) as ws:
            assert ws.subprotocol == "probe"  # answered by $connect, not by the gateway
            await ws.send('{"action": "echo"}')
            message = (await receive_json(ws))["event"]
            connection_id = message["requestContext"]["connectionId"]
        await eventually(lambda: (tmp_path / f"{connection_id}.DISCONNECT.json").exists())
    request = records(tmp_path, connection_id, "AUTHORIZER")
    assert request["type"] == "REQUEST"
    assert request["methodArn"] == (
        f"arn:aws:execute-api:{cloud.api.region}:{cloud.api.account_id}:{cloud.api.api_id}/test/$connect"
    )
    assert request["headers"]["Sec-WebSocket-Protocol"] == "probe, allow"
    assert request["multiValueHeaders"]["Sec-WebSocket-Protocol"] == ["probe, allow"]
    assert request["queryStringParameters"] == {"lang": "en"}
    assert request["requestContext"]["eventType"] == "CONNECT"
    assert request["requestContext"]["connectionId"] == connection_id
    connect = records(tmp_path, connection_id, "CONNECT")
    disconnect = records(tmp_path, connection_id, "DISCONNECT")
    for event in (connect, message, disconnect):
        authorizer = event["requestContext"]["authorizer"]
        assert isinstance(authorizer.pop("integrationLatency"), int)
        assert authorizer == {"principalId": "user-1", "sub": "user-1", "n": "42", "admin": "true"}


@pytest.mark.parametrize(
    ("verdict", "status"),
    [("unauthorized", 401), ("deny", 403), ("elsewhere", 403), ("crash", 500), ("anonymous", 500), ("nested", 500)],
)
async def test_the_authorizer_s_answer_gives_api_gateway_s_status(emulator, tmp_path: Path, verdict, status):
    async with emulator(authorized_template()) as cloud:
        assert await refused(cloud.url, ["probe", verdict]) == status
        assert len(list(tmp_path.glob("*.AUTHORIZER.json"))) == 1  # invoked
        assert not list(tmp_path.glob("*.CONNECT.json"))  # $connect never ran


async def test_a_missing_identity_source_is_401_without_invoking_the_authorizer(emulator, tmp_path: Path):
    async with emulator(authorized_template()) as cloud:
        assert await refused(cloud.url, None) == 401
        await asyncio.sleep(0.2)
        assert not list(tmp_path.glob("*.json"))


async def test_without_a_permission_for_authorizers_the_connection_fails_with_500(emulator, tmp_path: Path, caplog):
    async with emulator(authorized_template(permission=False)) as cloud:
        assert await refused(cloud.url, ["probe", "allow"]) == 500
    assert not list(tmp_path.glob("*.json"))
    assert "/authorizers/" in caplog.text


async def test_no_subprotocol_is_answered_unless_connect_sets_one(emulator):
    async with (
        emulator(probe_template({"$connect": "connect", "echo": "echo"})) as cloud,
        websockets.connect(cloud.url, subprotocols=["probe", "allow"]) as ws,
    ):
        assert ws.subprotocol is None
        await ws.send('{"action": "echo"}')
        event = (await receive_json(ws))["event"]
    assert "authorizer" not in event["requestContext"]  # no authorizer, no context


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (("      AuthorizerType: REQUEST", "      AuthorizerType: JWT"), "only REQUEST authorizers"),
        (("      AuthorizationType: CUSTOM", "      AuthorizationType: JWT"), "JWT is not emulated"),
        (("      AuthorizationType: CUSTOM", "      AuthorizationType: AWS_IAM"), "AWS_IAM is not emulated"),
    ],
)
def test_what_a_websocket_api_refuses_is_refused(tmp_path: Path, change, error):
    path = tmp_path / "template.yml"
    path.write_text(authorized_template().replace(*change))
    with pytest.raises(TemplateError, match=error):
        template.load(path, {"ProbeDir": str(tmp_path)})


def test_an_authorizer_on_a_message_route_is_refused(tmp_path: Path):
    text = authorized_template().replace(
        '      RouteKey: "echo"\n', '      RouteKey: "echo"\n      AuthorizationType: CUSTOM\n'
    )
    path = tmp_path / "template.yml"
    path.write_text(text)
    with pytest.raises(TemplateError, match="authorizes only \\$connect"):
        template.load(path, {"ProbeDir": str(tmp_path)})
