"""Deploy rehearsal: `make deploy`, `make deploy` again, `make outputs`, `make delete`, run as a user runs them with
the pinned AWS CLI from the venv, against a fresh simulated account. BUCKET is not given, so the Makefile names the
artifact bucket after the account and region and creates it on the first deploy.

moto does not model AWS::ApiGatewayV2::* (nor AWS::IAM::RolePolicy): it skips those resources and leaves ${Api}
unresolved, so the API, its routes and the ManageConnections grants are not asserted here. The template tests and
cfn-lint check them, the emulator runs their wiring, and only a real account deploys them.
"""

import ast
import base64
import hashlib
import json
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass

import pytest

from tests.aws_sandbox import NO_CONFIG_FILES
from tests.deploy.simulated_account import (
    ACCOUNT,
    DECOY_REGION,
    UNMODELLED_RESOURCES_SKIPPED,
    State,
    succeeded,
    work_tree,
)

pytestmark = [pytest.mark.deploy, UNMODELLED_RESOURCES_SKIPPED]

STACK = "rehearsal-chat"
IAM_STACK = f"{STACK}-iam"
STAGE = "rehearsal"
REGION = "eu-west-3"  # not the Makefile's default, and outside us-east-1 a bucket needs a LocationConstraint
MODEL_ID = "eu.anthropic.claude-haiku-4-5-20251001-v1:0"
FOUNDATION_MODEL = "anthropic.claude-haiku-4-5-20251001-v1:0"
BUCKET = f"{STACK}-artifacts-{ACCOUNT}-{REGION}"
HANDLERS = {
    "Connect": "handlers.connect.handler",
    "Disconnect": "handlers.disconnect.handler",
    "Default": "handlers.default.handler",
    "SendText": "handlers.sendtext.handler",
    "Conversations": "handlers.conversations.handler",
    "StreamReply": "handlers.streamreply.handler",
    "ReplyFailed": "handlers.replyfailed.handler",
}
FUNCTIONS = {f"{STACK}-{name}" for name in HANDLERS}
# The model parameters, all off their defaults: they reach both stacks, the functions and the policies.
CHOSEN_MODEL, GUARDRAIL = "us.amazon.nova-lite-v1:0", "abc123def456"
MODEL_VARIABLES = {
    "MODEL_API": "converse",
    "MODEL_IDS": CHOSEN_MODEL,
    "PROMPT_CACHING": "off",
    "GUARDRAIL_ID": GUARDRAIL,
    "GUARDRAIL_VERSION": "2",
}
CONVERSATION_PARAMETERS = {
    "MaxTokens": "512",
    "SystemPrompt": "Answer in one line.",
    "HistoryMaxTokens": "8000",
    "HistoryTtlDays": "7",
}


@dataclass(repr=False)  # a failing test shows its assertion, not megabytes of state
class Rehearsal:
    modules: list[str]  # what src/ holds, caches aside, before the first deploy
    before: State
    deploy: subprocess.CompletedProcess
    deployed: State
    decoy: State  # the CLI's default region, after the deploy
    redeploy: subprocess.CompletedProcess
    redeployed: State
    outputs: subprocess.CompletedProcess
    delete: subprocess.CompletedProcess
    deleted: State
    deleted_stacks: dict[str, dict]  # by name, looked up by stack id as AWS keeps them
    deleted_events: dict[str, list[dict]]


@pytest.fixture(scope="module")
def rehearsal(account, tmp_path_factory) -> Rehearsal:
    tree = work_tree(tmp_path_factory.mktemp("deploy") / "repo", venv=True)
    src = tree / "src"
    modules = sorted(str(p.relative_to(src)) for p in src.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    # A developer's src/ holds bytecode caches once the unit tests have run: they must not ship.
    (src / "__pycache__").mkdir(exist_ok=True)
    (src / "__pycache__" / "relay.cpython-311.pyc").write_bytes(b"stale bytecode")

    variables = {
        "STACK": STACK,
        "STAGE": STAGE,
        "REGION": REGION,
        "MODEL_ID": MODEL_ID,
        "MAX_TOKENS": "512",
        "SYSTEM_PROMPT": "Answer in one line.",  # spaces: the recipe must quote it
        "HISTORY_MAX_TOKENS": "8000",
        "HISTORY_TTL_DAYS": "7",
        **MODEL_VARIABLES,
    }
    before = account.state(REGION)
    deploy = succeeded(account.make(tree, "deploy", **variables))
    deployed = account.state(REGION)
    decoy = account.state(DECOY_REGION)
    redeploy = succeeded(account.make(tree, "deploy", **variables))
    redeployed = account.state(REGION)
    outputs = succeeded(account.make(tree, "outputs", **variables))
    delete = succeeded(account.make(tree, "delete", **variables))

    cloudformation = account.client("cloudformation", REGION)
    ids = {name: stack["StackId"] for name, stack in deployed.stacks.items()}
    return Rehearsal(
        modules=modules,
        before=before,
        deploy=deploy,
        deployed=deployed,
        decoy=decoy,
        redeploy=redeploy,
        redeployed=redeployed,
        outputs=outputs,
        delete=delete,
        deleted=account.state(REGION),
        deleted_stacks={n: cloudformation.describe_stacks(StackName=i)["Stacks"][0] for n, i in ids.items()},
        deleted_events={n: cloudformation.describe_stack_events(StackName=i)["StackEvents"] for n, i in ids.items()},
    )


def code_zip(state: State) -> tuple[str, bytes]:
    """The one code object; beside it lies the packaged template, too large to send inline (Makefile)."""
    objects = state.buckets[BUCKET]["Objects"]
    templates = [key for key in objects if key.endswith(".template")]
    assert len(templates) == 1, f"expected the uploaded template beside the code: {sorted(objects)}"
    (item,) = ((key, body) for key, body in objects.items() if key not in templates)
    return item


# --- the artifact bucket ---------------------------------------------------------------------------------------


def test_the_first_deploy_creates_the_missing_artifact_bucket_private_in_the_region(rehearsal):
    assert rehearsal.before.buckets == {}
    assert f"Creating artifact bucket {BUCKET}" in rehearsal.deploy.stdout
    assert rehearsal.deployed.buckets.keys() == {BUCKET}
    bucket = rehearsal.deployed.buckets[BUCKET]
    assert bucket["Region"] == REGION
    assert bucket["PublicAccessBlock"] == dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )


def test_the_second_deploy_reuses_the_bucket_and_its_code_object(rehearsal):
    assert "Creating artifact bucket" not in rehearsal.redeploy.stdout
    assert rehearsal.redeployed.buckets == rehearsal.deployed.buckets


# --- stacks: order and idempotence -----------------------------------------------------------------------------


def test_the_iam_stack_is_deployed_before_the_main_stack(rehearsal):
    stacks = rehearsal.deployed.stacks
    assert {name: s["StackStatus"] for name, s in stacks.items()} == {
        IAM_STACK: "CREATE_COMPLETE",
        STACK: "CREATE_COMPLETE",
    }
    iam_done = max(e["Timestamp"] for e in rehearsal.deployed.events[IAM_STACK])
    main_begun = min(e["Timestamp"] for e in rehearsal.deployed.events[STACK])
    assert iam_done < main_begun
    out = rehearsal.deploy.stdout
    assert out.index(f"Successfully created/updated stack - {IAM_STACK}\n") < out.index(
        f"Successfully created/updated stack - {STACK}\n"
    )


def test_a_second_deploy_without_changes_succeeds_and_changes_nothing(rehearsal):
    assert rehearsal.redeploy.returncode == 0
    for name in (IAM_STACK, STACK):
        assert f"No changes to deploy. Stack {name} is up to date" in rehearsal.redeploy.stdout
    assert rehearsal.redeployed.stacks == rehearsal.deployed.stacks
    assert all("LastUpdatedTime" not in s for s in rehearsal.redeployed.stacks.values())
    assert rehearsal.redeployed.events == rehearsal.deployed.events
    assert rehearsal.redeployed.functions == rehearsal.deployed.functions
    assert rehearsal.redeployed.roles == rehearsal.deployed.roles


# --- the code ----------------------------------------------------------------------------------------------------


def test_the_code_object_is_a_zip_of_exactly_the_src_modules(rehearsal, tmp_path):
    key, body = code_zip(rehearsal.deployed)
    assert key.startswith(f"{STACK}/")
    archive = tmp_path / "code.zip"
    archive.write_bytes(body)
    with zipfile.ZipFile(archive) as z:
        assert sorted(z.namelist()) == rehearsal.modules
    assert rehearsal.modules and all(name.endswith(".py") for name in rehearsal.modules)


def test_every_function_runs_the_packaged_code_object(rehearsal):
    _, body = code_zip(rehearsal.deployed)
    sha256 = base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert {name: f["CodeSha256"] for name, f in rehearsal.deployed.functions.items()} == dict.fromkeys(
        FUNCTIONS, sha256
    )


# Imports the handler from the zip alone (-I: no PYTHONPATH, no script directory, no user site) and checks it.
IMPORT_HANDLER = """
import importlib, sys
archive, module, name = sys.argv[1:]
sys.path.insert(0, archive)
loaded = importlib.import_module(module)
assert loaded.__file__.startswith(archive), f"{module} came from {loaded.__file__}"
assert callable(getattr(loaded, name)), f"{module}.{name} is not callable"
"""


@pytest.mark.parametrize("function", HANDLERS)
def test_the_handler_names_a_callable_that_imports_from_the_zip(rehearsal, tmp_path, function):
    name = f"{STACK}-{function}"
    config = rehearsal.deployed.functions[name]
    assert config["Handler"] == HANDLERS[function]
    module, attribute = config["Handler"].rsplit(".", 1)
    archive = tmp_path / "code.zip"
    archive.write_bytes(code_zip(rehearsal.deployed)[1])
    # The function's own environment, as moto resolved it: MaxTextChars comes back as a number, and ${Api} stays
    # unresolved (no API Gateway in moto), so it stands in for the id API Gateway would give.
    variables = {k: str(v) for k, v in config.get("Environment", {}).get("Variables", {}).items()}
    variables = {k: v.replace("${Api}", "a1b2c3d4e5") for k, v in variables.items()}
    # ... plus what the Lambda runtime sets; module-scope clients are created at import, without credentials.
    runtime = {"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_LAMBDA_FUNCTION_NAME": name}
    result = subprocess.run(
        [sys.executable, "-I", "-c", IMPORT_HANDLER, str(archive), module, attribute],
        env={**variables, **runtime, **NO_CONFIG_FILES},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


# --- wiring and parameters ---------------------------------------------------------------------------------------


def test_functions_use_the_role_arns_exported_by_the_iam_stack(rehearsal):
    exports, roles = rehearsal.deployed.exports, rehearsal.deployed.roles
    names = (
        "BasicRoleArn",
        "BasicRoleName",
        "SendTextRoleArn",
        "SendTextRoleName",
        "ConversationsRoleArn",
        "ConversationsRoleName",
        "AuthorizerRoleArn",
        "StreamReplyRoleArn",
        "StreamReplyRoleName",
        "ReplyFailedRoleArn",
        "ReplyFailedRoleName",
    )
    assert exports.keys() == {f"{IAM_STACK}-{n}" for n in names}
    outputs = rehearsal.deployed.stacks[IAM_STACK]["Outputs"]
    iam_outputs = {o["OutputKey"]: (o["OutputValue"], o["ExportName"]) for o in outputs}
    assert iam_outputs == {n: (exports[f"{IAM_STACK}-{n}"], f"{IAM_STACK}-{n}") for n in names}
    basic, sendtext = exports[f"{IAM_STACK}-BasicRoleArn"], exports[f"{IAM_STACK}-SendTextRoleArn"]
    assert roles[exports[f"{IAM_STACK}-BasicRoleName"]]["Arn"] == basic
    assert roles[exports[f"{IAM_STACK}-SendTextRoleName"]]["Arn"] == sendtext
    conversations = exports[f"{IAM_STACK}-ConversationsRoleArn"]
    assert roles[exports[f"{IAM_STACK}-ConversationsRoleName"]]["Arn"] == conversations
    assert {name: f["Role"] for name, f in rehearsal.deployed.functions.items()} == {
        f"{STACK}-Connect": basic,
        f"{STACK}-Disconnect": basic,
        f"{STACK}-Default": basic,
        f"{STACK}-SendText": sendtext,
        f"{STACK}-Conversations": conversations,
        f"{STACK}-StreamReply": exports[f"{IAM_STACK}-StreamReplyRoleArn"],
        f"{STACK}-ReplyFailed": exports[f"{IAM_STACK}-ReplyFailedRoleArn"],
    }


def test_make_line_variables_reach_the_stack_parameters(rehearsal):
    def parameters(name):
        return {p["ParameterKey"]: p["ParameterValue"] for p in rehearsal.deployed.stacks[name]["Parameters"]}

    grants = {"ModelIds": CHOSEN_MODEL, "GuardrailId": GUARDRAIL, "GuardrailVersion": "2"}
    assert parameters(IAM_STACK) == {
        "AppStackName": STACK,
        "ModelId": MODEL_ID,
        "ApiGatewayLogsRole": "create",
        **grants,
    }
    main = parameters(STACK)
    names = ("IamStackName", "ModelId", "StageName", "ModelApi", "PromptCaching", *grants, *CONVERSATION_PARAMETERS)
    assert {k: main[k] for k in names} == {
        "IamStackName": IAM_STACK,
        "ModelId": MODEL_ID,
        "StageName": STAGE,
        "ModelApi": "converse",
        "PromptCaching": "off",
        **grants,
        **CONVERSATION_PARAMETERS,
    }


def test_the_table_is_deployed_with_the_stack_and_every_function_that_uses_it_gets_its_name(rehearsal):
    (name,) = rehearsal.deployed.tables
    table = rehearsal.deployed.tables[name]
    assert name.startswith(f"{STACK}-Table-")  # CloudFormation's name: a redeploy never collides with it
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
    (index,) = table["GlobalSecondaryIndexes"]  # the conversation list (issue 24)
    assert (index["IndexName"], [k["AttributeName"] for k in index["KeySchema"]]) == (
        "byOwner",
        ["listOwner", "updatedAt"],
    )
    functions = rehearsal.deployed.functions
    variables = {f: functions[f"{STACK}-{f}"].get("Environment", {}).get("Variables", {}) for f in HANDLERS}
    users = {f for f, v in variables.items() if "TABLE_NAME" in v}
    assert users == {"SendText", "Conversations", "StreamReply", "ReplyFailed"}
    assert {variables[f]["TABLE_NAME"] for f in users} == {name}
    # As text: moto keeps a Number parameter's value as a number even in an environment variable. SendText reads
    # the history; StreamReply, which calls the model, gets the model's settings.
    sendtext, stream = variables["SendText"], variables["StreamReply"]
    assert {k: str(sendtext[k]) for k in ("HISTORY_MAX_TOKENS", "HISTORY_TTL_DAYS")} == {
        "HISTORY_MAX_TOKENS": "8000",
        "HISTORY_TTL_DAYS": "7",
    }
    assert {k: str(stream[k]) for k in ("MAX_TOKENS", "SYSTEM_PROMPT")} == {
        "MAX_TOKENS": "512",
        "SYSTEM_PROMPT": "Answer in one line.",
    }


def test_model_id_stage_and_region_reach_the_function_environment(rehearsal):
    functions = rehearsal.deployed.functions
    sendtext = functions[f"{STACK}-SendText"]["Environment"]["Variables"]
    stream = functions[f"{STACK}-StreamReply"]["Environment"]["Variables"]
    default = functions[f"{STACK}-Default"]["Environment"]["Variables"]
    assert (stream["MODEL_ID"], sendtext["STAGE"], stream["STAGE"], default["STAGE"]) == (MODEL_ID, STAGE, STAGE, STAGE)
    assert (stream["MODEL_API"], stream["PROMPT_CACHING"], stream["GUARDRAIL_ID"]) == ("converse", "off", GUARDRAIL)
    assert (sendtext["MODEL_IDS"], sendtext["PROMPT_CACHING"]) == (CHOSEN_MODEL, "off")
    assert sendtext["REPLY_FUNCTION"] == functions[f"{STACK}-StreamReply"]["FunctionArn"]
    for variables in (sendtext, stream, default):
        assert re.fullmatch(rf"https://[^./]+\.execute-api\.{REGION}\.amazonaws\.com", variables["API_ENDPOINT"])
    for name in (f"{STACK}-Connect", f"{STACK}-Disconnect"):
        assert "Environment" not in functions[name] or not functions[name]["Environment"].get("Variables")


def test_model_id_region_and_stack_reach_the_iam_policies(rehearsal):
    roles = {r["Description"]: r["Policies"] for r in rehearsal.deployed.roles.values()}
    sendtext = roles[f"{STACK} SendText function"]
    stream = roles[f"{STACK} StreamReply function"]
    basic = roles[f"{STACK} Connect/Disconnect/Default functions"]
    bedrock = stream["invoke-configured-model"]
    assert "invoke-configured-model" not in sendtext  # only StreamReply may call the model
    assert f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{MODEL_ID}" in bedrock
    assert f"arn:aws:bedrock:*::foundation-model/{FOUNDATION_MODEL}" in bedrock
    # The chosen model, granted as ModelId is; the guardrail on its ARN only, and required on every model call.
    assert f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{CHOSEN_MODEL}" in bedrock
    assert "arn:aws:bedrock:*::foundation-model/amazon.nova-lite-v1:0" in bedrock
    guardrail = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/{GUARDRAIL}"
    # moto hands some documents back as a Python literal rather than JSON text: read either.
    try:
        statements = json.loads(bedrock)["Statement"]
    except ValueError:
        statements = ast.literal_eval(bedrock)["Statement"]
    statements = [s for s in statements if s]  # moto leaves an !If's AWS::NoValue in a list as null
    invoking = [s for s in statements if s["Action"] == "bedrock:InvokeModelWithResponseStream"]
    assert len(invoking) == 4  # ModelId and through its profile; the chosen model and through its profile
    for statement in invoking:
        assert statement["Condition"]["StringEquals"]["bedrock:GuardrailIdentifier"] == [f"{guardrail}:2", guardrail]
    assert [s["Resource"] for s in statements if s["Action"] == "bedrock:ApplyGuardrail"] == [guardrail]
    logs = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{STACK}"
    assert f"{logs}-SendText:*" in sendtext["write-own-logs"]
    assert f"{logs}-StreamReply:*" in stream["write-own-logs"]
    for function in ("Connect", "Disconnect", "Default"):
        assert f"{logs}-{function}:*" in basic["write-own-logs"]


def test_stack_names_everything_and_all_of_it_is_in_the_region(rehearsal):
    deployed = rehearsal.deployed
    assert deployed.stacks.keys() == {STACK, IAM_STACK}
    assert all(f":{REGION}:" in s["StackId"] for s in deployed.stacks.values())
    assert deployed.functions.keys() == FUNCTIONS
    assert all(f":{REGION}:" in f["FunctionArn"] for f in deployed.functions.values())
    assert {name: g.get("retentionInDays") for name, g in deployed.log_groups.items()} == {
        f"/aws/lambda/{name}": 14 for name in FUNCTIONS
    } | {f"/aws/apigateway/{STACK}-access": 14}
    # Nothing landed in the CLI's default region: every call the Makefile makes carries --region.
    assert (rehearsal.decoy.stacks, rehearsal.decoy.functions, rehearsal.decoy.log_groups) == ({}, {}, {})


# --- outputs and delete --------------------------------------------------------------------------------------------


def test_make_outputs_prints_the_main_stack_outputs(rehearsal):
    outputs = {o["OutputKey"]: o["OutputValue"] for o in rehearsal.deployed.stacks[STACK]["Outputs"]}
    # ApiId (a bare !Ref Api) is missing: moto drops an output whose resource it does not model.
    assert {"WebSocketUrl", "ConnectionsUrl"} <= outputs.keys()
    for key, value in outputs.items():
        assert key in rehearsal.outputs.stdout
        assert value in rehearsal.outputs.stdout
    assert re.fullmatch(rf"wss://[^/]+\.execute-api\.{REGION}\.amazonaws\.com/{STAGE}", outputs["WebSocketUrl"])
    assert f"WebSocket URL: {outputs['WebSocketUrl']}" in rehearsal.deploy.stdout


def test_the_dashboard_is_created_and_its_url_is_an_output(rehearsal):
    outputs = {o["OutputKey"]: o["OutputValue"] for o in rehearsal.deployed.stacks[STACK]["Outputs"]}
    assert outputs["DashboardUrl"] == (
        f"https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}#dashboards/dashboard/{STACK}-{REGION}"
    )


def test_make_delete_removes_the_main_stack_then_the_iam_stack(rehearsal):
    assert rehearsal.deleted.stacks == {}
    assert {name: s["StackStatus"] for name, s in rehearsal.deleted_stacks.items()} == {
        STACK: "DELETE_COMPLETE",
        IAM_STACK: "DELETE_COMPLETE",
    }
    main_deleted = max(e["Timestamp"] for e in rehearsal.deleted_events[STACK])
    iam_delete_begun = min(
        e["Timestamp"] for e in rehearsal.deleted_events[IAM_STACK] if e["ResourceStatus"].startswith("DELETE")
    )
    assert main_deleted < iam_delete_begun


def test_make_delete_leaves_the_account_clean_but_for_the_artifact_bucket(rehearsal):
    deleted = rehearsal.deleted
    assert (deleted.exports, deleted.functions, deleted.log_groups) == ({}, {}, {})
    # Retained on purpose (iam.yml): API Gateway's account-wide logs role, which other APIs may rely on.
    assert [r["Description"] for r in deleted.roles.values()] == [
        "API Gateway's CloudWatch Logs role for this account and region (access and execution logs)"
    ]
    assert deleted.tables == {}  # DeletionPolicy Delete: the chats go with the stack (README, "What is stored")
    # Kept on purpose (see the Makefile): the next deploy reuses it.
    assert deleted.buckets.keys() == {BUCKET}
