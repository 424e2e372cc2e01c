"""Cognito user pools and app clients for a local run, held by moto's cognito-idp (moto >= 5.2 also serves each
pool's JWKS at /<pool id>/.well-known/jwks.json, unsigned, as Cognito does).

`LocalCognito.provision` is what the template loader (emulator/template/) calls for AWS::Cognito::UserPool and
::UserPoolClient resources: it creates each in moto and returns the id moto gave it, which `Ref` then resolves to.
Functions reach it through AWS_ENDPOINT_URL_COGNITO_IDP (boto3 honours it). moto signs every pool's tokens with
one fixed key committed in its source: these tokens are for local runs only.

The moto server is started on first use (a template without Cognito resources starts nothing); it is the one
local.py runs for every local AWS service but DynamoDB (dynalite).
"""

import logging

import boto3

from emulator.services.local import moto_endpoint

log = logging.getLogger("emulator.services")

CREDENTIALS = {"aws_access_key_id": "emulator", "aws_secret_access_key": "emulator"}
ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_COGNITO_IDP"

# CloudFormation property -> CreateUserPool parameter, for the properties a local pool needs.
_POOL_PROPERTIES = {
    "UserPoolName": "PoolName",
    "Policies": "Policies",
    "AdminCreateUserConfig": "AdminCreateUserConfig",
    "UsernameConfiguration": "UsernameConfiguration",
    "UsernameAttributes": "UsernameAttributes",
    "AliasAttributes": "AliasAttributes",
    "AutoVerifiedAttributes": "AutoVerifiedAttributes",
    "Schema": "Schema",
    "MfaConfiguration": "MfaConfiguration",
    "AccountRecoverySetting": "AccountRecoverySetting",
}
_CLIENT_PROPERTIES = (
    "ClientName",
    "GenerateSecret",
    "ExplicitAuthFlows",
    "PreventUserExistenceErrors",
    "EnableTokenRevocation",
    "AccessTokenValidity",
    "IdTokenValidity",
    "RefreshTokenValidity",
    "TokenValidityUnits",
)


def start_moto() -> str:
    """The process's one moto server (local.py), started on first use, with RevokeToken added (revoke.py); its URL."""
    from emulator.services import revoke  # imports moto, which takes a while: only once Cognito is needed

    revoke.install()
    return moto_endpoint()


class LocalCognito:
    """The template's user pools and clients in moto; `environment` for the functions once any exists."""

    TYPES = ("AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient")

    def __init__(self, region: str) -> None:
        self.region = region
        self.endpoint: str | None = None
        self.outputs: dict[str, str] = {}  # logical id -> physical id

    @property
    def provision(self) -> dict:
        return dict.fromkeys(self.TYPES, self.create)

    @property
    def environment(self) -> dict[str, str]:
        return {ENDPOINT_VARIABLE: self.endpoint} if self.endpoint else {}

    def client(self):
        if self.endpoint is None:
            self.endpoint = start_moto()
        return boto3.client("cognito-idp", endpoint_url=self.endpoint, region_name=self.region, **CREDENTIALS)

    def create(self, logical_id: str, kind: str, props: dict) -> str:
        client = self.client()
        if kind == "AWS::Cognito::UserPool":
            request = {api: props[cfn] for cfn, api in _POOL_PROPERTIES.items() if cfn in props}
            request.setdefault("PoolName", logical_id)
            physical_id = client.create_user_pool(**request)["UserPool"]["Id"]
        else:
            request = {name: props[name] for name in _CLIENT_PROPERTIES if name in props}
            request.setdefault("ClientName", logical_id)
            physical_id = client.create_user_pool_client(UserPoolId=props["UserPoolId"], **request)["UserPoolClient"][
                "ClientId"
            ]
        log.info("Cognito %s %s (%s) created at %s", kind.rsplit("::", 1)[-1], physical_id, logical_id, self.endpoint)
        self.outputs[logical_id] = physical_id
        return physical_id
