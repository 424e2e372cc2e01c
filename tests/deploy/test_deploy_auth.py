"""Deploy rehearsal of the sign-in switch: `make deploy AUTH=cognito`, then `AUTH=oidc`, then `AUTH=none`, on one
stack, with the real AWS CLI against a fresh simulated account.

moto's CloudFormation models the authorizer's function, log group and Lambda::Permission, and iam.yml's role, so
those are asserted here. It skips AWS::Cognito::UserPool, ::UserPoolClient and AWS::ApiGatewayV2::Authorizer (and
the route they change): tests/templates/test_auth_template.py and cfn-lint check those, the emulator runs them
(tests/e2e/test_sign_in.py), and only a real account deploys them. moto also leaves out a function's environment
variable that refers to a skipped resource (TOKEN_AUDIENCE, a Ref to the app client), and keeps resources whose
Condition turns false on an update, where CloudFormation deletes them.
"""

import subprocess
import sys
import zipfile
from dataclasses import dataclass

import pytest

from tests.deploy.simulated_account import UNMODELLED_RESOURCES_SKIPPED, State, succeeded, work_tree

pytestmark = [pytest.mark.deploy, UNMODELLED_RESOURCES_SKIPPED]

STACK = "signin-chat"
REGION = "eu-west-3"
FUNCTION = f"{STACK}-Authorizer"
ISSUER = "https://tenant.example.com/"


@dataclass(repr=False)
class Rehearsal:
    cognito: State
    oidc: State
    none: State
    user: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def rehearsal(account, tmp_path_factory) -> Rehearsal:
    tree = work_tree(tmp_path_factory.mktemp("deploy-auth") / "repo", venv=True)
    variables = {"STACK": STACK, "REGION": REGION}
    succeeded(account.make(tree, "deploy", AUTH="cognito", **variables))
    cognito = account.state(REGION)
    # moto does not model the pool, so there is no UserPoolId output: make user must say so, not guess.
    user = account.make(tree, "user", USERNAME="alice", PORT="9", **variables)  # it fails before asking a password
    succeeded(account.make(tree, "deploy", AUTH="oidc", OIDC_ISSUER=ISSUER, OIDC_AUDIENCE="chat-api", **variables))
    oidc = account.state(REGION)
    succeeded(account.make(tree, "deploy", AUTH="none", **variables))
    return Rehearsal(cognito, oidc, account.state(REGION), user)


def parameters(state: State) -> dict[str, str]:
    return {p["ParameterKey"]: p["ParameterValue"] for p in state.stacks[STACK]["Parameters"]}


def test_cognito_mode_deploys_the_authorizer_with_its_own_role_and_logs(rehearsal):
    state = rehearsal.cognito
    assert parameters(state)["Auth"] == "cognito"
    function = state.functions[FUNCTION]
    assert function["Handler"] == "handlers.authorizer.handler"
    assert function["Role"] == state.exports[f"{STACK}-iam-AuthorizerRoleArn"]
    variables = function["Environment"]["Variables"]
    assert variables["AUTH_MODE"] == "cognito"
    assert variables["TOKEN_ISSUER"].startswith(f"https://cognito-idp.{REGION}.amazonaws.com/")
    assert state.log_groups[f"/aws/lambda/{FUNCTION}"]["retentionInDays"] == 14
    (role,) = [r for r in state.roles.values() if r["Arn"] == function["Role"]]
    assert list(role["Policies"]) == ["write-own-logs"]
    assert f"log-group:/aws/lambda/{STACK}-Authorizer:*" in role["Policies"]["write-own-logs"]


def test_the_deployed_authorizer_imports_from_the_zip_with_its_environment(rehearsal, tmp_path):
    function = rehearsal.cognito.functions[FUNCTION]
    (bucket,) = rehearsal.cognito.buckets.values()
    # the one code object every function runs (the packaged template lies beside it)
    (zipped,) = (body for key, body in bucket["Objects"].items() if not key.endswith(".template"))
    archive = tmp_path / "code.zip"
    archive.write_bytes(zipped)
    module = function["Handler"].rpartition(".")[0]  # handlers.authorizer: a package path from the zip's root
    assert module.replace(".", "/") + ".py" in zipfile.ZipFile(archive).namelist()
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, sys.argv[1]); import {module}", str(archive)],
        # moto leaves out TOKEN_AUDIENCE: it is a Ref to the app client, which moto does not create.
        env={"TOKEN_AUDIENCE": "client-id", **function["Environment"]["Variables"], "AWS_REGION": REGION},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_make_user_says_when_the_stack_has_no_user_pool(rehearsal):
    assert rehearsal.user.returncode != 0
    assert "No user pool in stack signin-chat" in rehearsal.user.stderr


def test_oidc_mode_points_the_authorizer_at_the_given_issuer(rehearsal):
    variables = rehearsal.oidc.functions[FUNCTION]["Environment"]["Variables"]
    assert (variables["AUTH_MODE"], variables["TOKEN_ISSUER"], variables["TOKEN_AUDIENCE"]) == (
        "oidc",
        ISSUER,
        "chat-api",
    )
    assert parameters(rehearsal.oidc)["OidcIssuer"] == ISSUER


def test_switching_it_off_reaches_the_stack_and_leaves_the_rest(rehearsal):
    state = rehearsal.none
    assert parameters(state)["Auth"] == "none"
    assert {f"{STACK}-{name}" for name in ("Connect", "Disconnect", "Default", "SendText")} <= state.functions.keys()
    # CloudFormation deletes a resource whose Condition turns false on update; moto's update keeps it, so that
    # removal is not asserted here (a stack deployed with Auth=none has no authorizer: tests/deploy/test_deploy.py).
