"""emulator/template/ on main.yml's sign-in switch: Conditions, Fn::If, AWS::NoValue, provisioned ids."""

import pytest

from emulator import template
from emulator.template import TemplateError
from tests.local_cloud import ROOT

MAIN = ROOT / "main.yml"


class Provisioner:
    """Stands in for a local service: hands out ids and records what it was asked to create."""

    def __init__(self) -> None:
        self.created: list[tuple[str, dict]] = []

    def __call__(self, logical_id: str, kind: str, props: dict) -> str:
        self.created.append((logical_id, props))
        return f"id-of-{logical_id}"

    @property
    def provision(self) -> dict:
        return {"AWS::Cognito::UserPool": self, "AWS::Cognito::UserPoolClient": self}


def test_off_by_default_no_authorizer_and_nothing_provisioned():
    provisioner = Provisioner()
    api = template.load(MAIN, provision=provisioner.provision)
    assert api.routes["$connect"].authorizer is None
    assert "AuthorizerFunction" not in api.functions
    assert provisioner.created == []
    assert "UserPoolId" not in api.outputs and api.outputs["Auth"] == "none"


def test_cognito_creates_the_pool_before_its_client_and_wires_their_ids():
    provisioner = Provisioner()
    api = template.load(MAIN, {"Auth": "cognito"}, provision=provisioner.provision)
    assert [logical_id for logical_id, _ in provisioner.created] == ["UserPool", "UserPoolClient"]
    assert provisioner.created[1][1]["UserPoolId"] == "id-of-UserPool"
    authorizer = api.routes["$connect"].authorizer
    assert authorizer.identity_sources == ("route.request.header.Sec-WebSocket-Protocol",)
    assert authorizer.function.environment == {
        "AUTH_MODE": "cognito",
        "TOKEN_ISSUER": "https://cognito-idp.ap-northeast-1.amazonaws.com/id-of-UserPool",
        "TOKEN_AUDIENCE": "id-of-UserPoolClient",
        "STACK_NAME": "local",  # with STAGE, its metrics' dimensions
        "STAGE": "dev",
    }
    assert api.may_invoke_authorizer(authorizer)
    assert api.outputs["UserPoolId"] == "id-of-UserPool"


def test_oidc_uses_the_given_issuer_and_no_pool():
    provisioner = Provisioner()
    parameters = {"Auth": "oidc", "OidcIssuer": "https://issuer.example/", "OidcAudience": "chat"}
    api = template.load(MAIN, parameters, provision=provisioner.provision)
    assert provisioner.created == []
    environment = api.routes["$connect"].authorizer.function.environment
    assert (environment["TOKEN_ISSUER"], environment["TOKEN_AUDIENCE"]) == ("https://issuer.example/", "chat")


def test_a_parameter_outside_its_allowed_values_is_refused():
    with pytest.raises(TemplateError, match="Auth='jwt' is not one of none, cognito, oidc"):
        template.load(MAIN, {"Auth": "jwt"})
