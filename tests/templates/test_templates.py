"""iam.yml and main.yml: cfn-lint clean, every route fully wired, least privilege, logs kept."""

import ast
import json
import re
from pathlib import Path

import boto3
import pytest
from cfnlint.api import ManualArgs, lint_file
from cfnlint.decode import decode
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[2]


def load(name: str) -> dict:
    template, errors = decode(str(ROOT / name))
    assert not errors, errors
    return template


MAIN, IAM = load("main.yml"), load("iam.yml")
RESOURCES = MAIN["Resources"]


def of_type(template: dict, kind: str) -> dict[str, dict]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def ref_name(value) -> str:
    """The logical id behind !Ref X, !GetAtt X.Arn, or the ${X} of a !Sub."""
    if "Ref" in value:
        return value["Ref"]
    if "Fn::GetAtt" in value:
        return value["Fn::GetAtt"][0]
    raise AssertionError(f"not a reference: {value}")


@pytest.mark.parametrize("name", ["iam.yml", "main.yml"])
def test_cfn_lint_finds_no_error_or_warning(name):
    # Only W3002 is ignored, inline in main.yml with the reason (Code: src/ is packaged before deploy).
    assert lint_file(ROOT / name, ManualArgs(regions=["ap-northeast-1", "us-east-1"])) == []


def test_the_api_selects_routes_by_the_action_field():
    (api,) = of_type(MAIN, "AWS::ApiGatewayV2::Api").values()
    assert api["Properties"]["ProtocolType"] == "WEBSOCKET"
    assert api["Properties"]["RouteSelectionExpression"] == "$request.body.action"


ROUTES = of_type(MAIN, "AWS::ApiGatewayV2::Route")


def test_the_routes_exist():
    keys = sorted(r["Properties"]["RouteKey"] for r in ROUTES.values())
    assert keys == [
        "$connect",
        "$default",
        "$disconnect",
        "conversations",
        "forget",
        "history",
        "rename",
        "resume",
        "sendtext",
        "stop",
    ]


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_route_is_wired_to_its_own_function_with_a_scoped_permission(route):
    props = ROUTES[route]["Properties"]
    integration_id = props["Target"]["Fn::Sub"].removeprefix("integrations/${").removesuffix("}")
    integration = RESOURCES[integration_id]["Properties"]
    assert integration["IntegrationType"] == "AWS_PROXY"
    uri = integration["IntegrationUri"]["Fn::Sub"]
    function_id = uri.split("functions/${")[1].split(".Arn}")[0]
    assert RESOURCES[function_id]["Type"] == "AWS::Lambda::Function"

    permissions = [
        p["Properties"]
        for p in of_type(MAIN, "AWS::Lambda::Permission").values()
        if ref_name(p["Properties"]["FunctionName"]) == function_id
    ]
    # One permission per route the function serves, each naming exactly that route (history, forget, conversations,
    # rename, resume and stop share a function, so it has six).
    served = {
        r["Properties"]["RouteKey"]
        for r in ROUTES.values()
        if r["Properties"]["Target"]["Fn::Sub"] == props["Target"]["Fn::Sub"]
    }
    assert len(permissions) == len(served), f"{function_id} needs one permission per route"
    assert all(p["Principal"] == "apigateway.amazonaws.com" for p in permissions)
    arns = sorted(p["SourceArn"]["Fn::Sub"] for p in permissions)
    assert arns == sorted(
        f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{Api}}/${{StageName}}/{key}"
        for key in served
    )

    others = [r for name, r in ROUTES.items() if r["Properties"]["RouteKey"] not in served]
    assert all(integration_id not in r["Properties"]["Target"]["Fn::Sub"] for r in others)


def test_the_stage_deploys_itself_whenever_a_route_changes():
    # A Deployment resource is made once: a stage pinned to it never serves a route added by a later deploy
    # (it answers Forbidden). AutoDeploy makes API Gateway redeploy the stage on every change of the API.
    (stage,) = of_type(MAIN, "AWS::ApiGatewayV2::Stage").values()
    assert stage["Properties"]["AutoDeploy"] is True
    assert "DeploymentId" not in stage["Properties"]
    assert of_type(MAIN, "AWS::ApiGatewayV2::Deployment") == {}


FUNCTIONS = of_type(MAIN, "AWS::Lambda::Function")


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_has_runtime_limits_and_a_log_group_with_retention(name):
    props = FUNCTIONS[name]["Properties"]
    assert props["Runtime"].startswith("python3.1")
    assert props["Code"] == "src/", "aws cloudformation package zips exactly src/"
    module, _, func = props["Handler"].rpartition(".")
    assert module.startswith("handlers."), "every entry point lives in src/handlers/"
    tree = ast.parse((ROOT / "src" / f"{module.replace('.', '/')}.py").read_text())
    assert any(isinstance(n, ast.FunctionDef) and n.name == func for n in tree.body)
    assert isinstance(props["Timeout"], int) and isinstance(props["MemorySize"], int)
    group = RESOURCES[ref_name(props["LoggingConfig"]["LogGroup"])]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert (
        group["Properties"]["LogGroupName"]["Fn::Sub"] == f"/aws/lambda/${{AWS::StackName}}-{name[: -len('Function')]}"
    )


def test_the_streaming_function_has_time_for_any_reply_and_sendtext_answers_within_the_integration_timeout():
    # Issue 10: the reply streams from an asynchronous invocation with Lambda's maximum Timeout; SendText only
    # starts it, well inside API Gateway's 29 s.
    assert FUNCTIONS["StreamReplyFunction"]["Properties"]["Timeout"] == 900
    assert FUNCTIONS["SendTextFunction"]["Properties"]["Timeout"] <= 29


def test_reply_concurrency_caps_streamreply_by_default_and_0_lifts_the_cap():
    # Safe by default (issue 23): a bound on replies at once. 0 must mean "no cap": a reserved concurrency of 0
    # would throttle every reply.
    param = MAIN["Parameters"]["ReplyConcurrency"]
    assert param["Default"] == 100 and param["MinValue"] == 0
    assert MAIN["Parameters"]["ReplyConcurrencyAlarmAt"]["Default"] == 80  # the alarm fires before the cap binds
    assert MAIN["Conditions"]["CapReplies"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ReplyConcurrency"}, "0"]}]}
    reserved = FUNCTIONS["StreamReplyFunction"]["Properties"]["ReservedConcurrentExecutions"]
    assert reserved == {"Fn::If": ["CapReplies", {"Ref": "ReplyConcurrency"}, {"Ref": "AWS::NoValue"}]}
    # The one function that calls the model; the others answer in milliseconds.
    assert [n for n, f in FUNCTIONS.items() if "ReservedConcurrentExecutions" in f["Properties"]] == [
        "StreamReplyFunction"
    ]


@pytest.mark.parametrize("template", [MAIN, IAM], ids=["main.yml", "iam.yml"])
def test_every_checkov_skip_names_a_check_and_says_why(template):
    skips = [
        (name, skip)
        for name, resource in template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    for name, skip in skips:
        assert set(skip) == {"id", "comment"}, name
        assert skip["id"].startswith("CKV_AWS_"), name
        assert len(skip["comment"].split()) >= 8, f"{name} {skip['id']}: say why it does not apply"
    ids = [(name, skip["id"]) for name, skip in skips]
    assert len(ids) == len(set(ids)), "a check skipped twice on one resource"


@pytest.mark.parametrize("name", ["main.yml", "iam.yml"])
def test_every_resource_condition_is_on_the_line_make_lint_drops_for_checkov(name):
    # checkov skips a resource whose Condition is false by default; make lint deletes exactly these lines.
    template = load(name)
    sections = [*template["Resources"].values(), *template.get("Outputs", {}).values()]
    conditional = [r for r in sections if "Condition" in r]  # outputs lose theirs too: harmless for a scan
    lines = re.findall(r"^    Condition: [A-Za-z0-9]+$", (ROOT / name).read_text(), flags=re.MULTILINE)
    assert len(lines) == len(conditional)


def test_every_import_in_main_is_exported_by_iam():
    exports = {o["Export"]["Name"]["Fn::Sub"] for o in IAM["Outputs"].values()}
    imports = set()

    def walk(node):
        if isinstance(node, dict):
            if "Fn::ImportValue" in node:
                imports.add(node["Fn::ImportValue"]["Fn::Sub"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(RESOURCES)
    assert imports
    assert {i.replace("${IamStackName}", "${AWS::StackName}") for i in imports} <= exports


def statements(template: dict):
    for resource in template["Resources"].values():
        if not resource["Type"].startswith("AWS::IAM::"):  # e.g. a user pool's Policies are password rules
            continue
        props = resource["Properties"]
        docs = [p["PolicyDocument"] for p in props.get("Policies", [])]
        if "PolicyDocument" in props:
            docs.append(props["PolicyDocument"])
        for doc in docs:
            yield from doc["Statement"]


def test_no_iam_wildcard_actions_or_resources():
    found = list(statements(IAM)) + list(statements(MAIN))
    assert len(found) >= 5
    for statement in found:
        if "Fn::If" in statement:  # a conditional statement: check both branches
            found.extend(s for s in statement["Fn::If"][1:] if s != {"Ref": "AWS::NoValue"})
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions), statement
        # A Resource is a string, an intrinsic (Sub, If) or a list of those: "*" anywhere in it grants everything.
        assert "*" not in leaves(statement["Resource"]), statement


def leaves(node: object) -> list[str]:
    if isinstance(node, dict):
        return [leaf for value in node.values() for leaf in leaves(value)]
    if isinstance(node, list):
        return [leaf for value in node for leaf in leaves(value)]
    return [node] if isinstance(node, str) else []


@pytest.mark.parametrize(
    "resource",
    ["*", ["arn:aws:logs:::x", "*"], {"Fn::If": ["C", "*", {"Ref": "AWS::NoValue"}]}, {"Fn::Sub": ["*", {}]}],
)
def test_the_wildcard_check_finds_a_star_resource_wherever_it_is(resource):
    assert "*" in leaves(resource)


def test_manage_connections_is_scoped_to_this_api_and_stage():
    policies = {name: p for name, p in of_type(MAIN, "AWS::IAM::RolePolicy").items() if "ManageConnections" in name}
    assert len(policies) == 5  # SendText, Default (basic role), Conversations, StreamReply, ReplyFailed
    for name, policy in policies.items():
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Action"] == "execute-api:ManageConnections"
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        suffixes = sorted(resource["Fn::Sub"].split(":${Api}/${StageName}/")[1] for resource in resources)
        # Posting only; Conversations also asks whether a resumed reply's connection is still open (`resume`).
        expected = ["GET/@connections/*", "POST/@connections/*"] if name.startswith("Conversations") else None
        assert suffixes == (expected or ["POST/@connections/*"])


TABLE = RESOURCES["Table"]


def test_the_table_is_on_demand_with_ttl_point_in_time_recovery_and_a_deliberate_deletion_policy():
    props = TABLE["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    # `make delete` removes chats with the stack; a replacement keeps the old table rather than emptying it.
    assert (TABLE["DeletionPolicy"], TABLE["UpdateReplacePolicy"]) == ("Delete", "Retain")
    assert props["DeletionProtectionEnabled"] is False
    assert "TableName" not in props  # a fixed name would collide with a retained table on the next deploy


@pytest.mark.parametrize(
    ("role", "actions"),
    [
        # No turn writes: UpdateItem reserves the reply's budget.
        ("SendTextRoleName", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]),
        (
            "ConversationsRoleName",
            [
                "dynamodb:BatchGetItem",  # the list items an anonymous client names
                "dynamodb:BatchWriteItem",
                "dynamodb:DeleteItem",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:Query",
                "dynamodb:UpdateItem",  # rename
            ],
        ),
        # reserve the turn once (and ask who holds it, when taken), store the reply, move the list item up
        ("StreamReplyRoleName", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]),
        ("ReplyFailedRoleName", ["dynamodb:UpdateItem"]),  # mark a reply that never finished failed
    ],
)
def test_only_the_functions_that_use_the_table_get_only_the_actions_they_use_on_only_this_table(role, actions):
    granted = [
        p["Properties"]
        for p in of_type(MAIN, "AWS::IAM::RolePolicy").values()
        if any("dynamodb:" in str(s["Action"]) for s in p["Properties"]["PolicyDocument"]["Statement"])
    ]
    assert len(granted) == 4
    (policy,) = [p for p in granted if p["RoleName"]["Fn::ImportValue"]["Fn::Sub"].endswith(role)]
    statement = policy["PolicyDocument"]["Statement"][0]  # the index grant: tests/templates/test_list_index.py
    assert sorted(statement["Action"]) == actions
    assert statement["Resource"] == {"Fn::GetAtt": ["Table", "Arn"]}


def test_every_function_that_names_the_table_is_granted_it_and_no_other():
    users = {
        name
        for name, f in FUNCTIONS.items()
        if "TABLE_NAME" in f["Properties"].get("Environment", {}).get("Variables", {})
    }
    assert users == {"SendTextFunction", "ConversationsFunction", "StreamReplyFunction", "ReplyFailedFunction"}


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [("MaxTokens", 1, 64000), ("HistoryMaxTokens", 0, 150000), ("HistoryTtlDays", 1, 365)],
)
def test_conversation_parameters_are_validated(name, low, high):
    parameter = MAIN["Parameters"][name]
    assert (parameter["Type"], parameter["MinValue"], parameter["MaxValue"]) == ("Number", low, high)
    assert MAIN["Parameters"]["MaxTokens"]["Default"] == 1024  # the article's
    assert MAIN["Parameters"]["SystemPrompt"]["Default"] == ""  # none: the article's request
    assert MAIN["Parameters"]["SystemPrompt"]["MaxLength"] <= 2000  # Lambda's 4 KB environment


def test_sendtext_and_streamreply_get_the_table_and_the_conversation_settings():
    # SendText reads the history and reserves the turn; StreamReply, which calls the model, gets the model's.
    sendtext = FUNCTIONS["SendTextFunction"]["Properties"]["Environment"]["Variables"]
    stream = FUNCTIONS["StreamReplyFunction"]["Properties"]["Environment"]["Variables"]
    assert sendtext["TABLE_NAME"] == stream["TABLE_NAME"] == {"Ref": "Table"}
    assert {k: sendtext[k] for k in ("HISTORY_MAX_TOKENS", "HISTORY_TTL_DAYS")} == {
        "HISTORY_MAX_TOKENS": {"Ref": "HistoryMaxTokens"},
        "HISTORY_TTL_DAYS": {"Ref": "HistoryTtlDays"},
    }
    assert {k: stream[k] for k in ("MAX_TOKENS", "SYSTEM_PROMPT")} == {
        "MAX_TOKENS": {"Ref": "MaxTokens"},
        "SYSTEM_PROMPT": {"Ref": "SystemPrompt"},
    }


def model_policy(model_id: str) -> list[dict]:
    """iam.yml's Bedrock statements for `model_id`, with the intrinsics evaluated by moto's CloudFormation."""
    with mock_aws():
        cf = boto3.client("cloudformation", region_name="ap-northeast-1")
        cf.create_stack(
            StackName="iam",
            TemplateBody=(ROOT / "iam.yml").read_text(),
            Capabilities=["CAPABILITY_IAM"],
            Parameters=[{"ParameterKey": "ModelId", "ParameterValue": model_id}],
        )
        role = cf.describe_stack_resource(StackName="iam", LogicalResourceId="StreamReplyRole")
        doc = boto3.client("iam", region_name="ap-northeast-1").get_role_policy(
            RoleName=role["StackResourceDetail"]["PhysicalResourceId"], PolicyName="invoke-configured-model"
        )["PolicyDocument"]
    doc = ast.literal_eval(doc) if isinstance(doc, str) else doc  # moto returns the dict's repr
    # moto leaves AWS::NoValue as None inside lists, where CloudFormation drops the element.
    result = []
    for statement in doc["Statement"]:
        if statement is None:
            continue
        if isinstance(statement["Resource"], list):
            statement["Resource"] = [r for r in statement["Resource"] if r is not None]
        result.append(statement)
    return result


ACCOUNT = "123456789012"  # moto's account
PROFILE = f"arn:aws:bedrock:ap-northeast-1:{ACCOUNT}:inference-profile/"


def test_geographic_profile_grants_the_profile_and_its_model_only_through_it(fake_aws):
    direct, through = model_policy("jp.anthropic.claude-haiku-4-5-20251001-v1:0")
    assert direct["Action"] == through["Action"] == "bedrock:InvokeModelWithResponseStream"
    assert direct["Resource"] == PROFILE + "jp.anthropic.claude-haiku-4-5-20251001-v1:0"
    assert through["Resource"] == ["arn:aws:bedrock:*::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0"]
    assert through["Condition"] == {
        "StringEquals": {"bedrock:InferenceProfileArn": PROFILE + "jp.anthropic.claude-haiku-4-5-20251001-v1:0"}
    }


def test_global_profile_also_grants_the_region_less_model_arn(fake_aws):
    _, through = model_policy("global.anthropic.claude-haiku-4-5-20251001-v1:0")
    assert through["Resource"] == [
        "arn:aws:bedrock:*::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0",
        "arn:aws:bedrock:::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0",
    ]
    assert through["Condition"]["StringEquals"]["bedrock:InferenceProfileArn"].endswith(
        "inference-profile/global.anthropic.claude-haiku-4-5-20251001-v1:0"
    )


def test_plain_model_id_grants_just_that_model_in_this_region(fake_aws):
    (direct,) = model_policy("anthropic.claude-3-5-sonnet-20240620-v1:0")
    assert (
        direct["Resource"]
        == "arn:aws:bedrock:ap-northeast-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0"
    )
    assert "Condition" not in direct


# --- operations (#13): the alarms and the dashboard read what the functions write -------------------------------

ALARMS = of_type(MAIN, "AWS::CloudWatch::Alarm")
NAMESPACE = "BedrockWsChat"  # src/metrics.py's; tests/e2e/test_emf.py checks the lines themselves


def alarm_metrics(alarm: dict) -> list[dict]:
    """Every metric an alarm reads, as {Namespace, MetricName, Dimensions}: a single metric or its metric math."""
    props = alarm["Properties"]
    if "MetricName" in props:
        return [{k: props[k] for k in ("Namespace", "MetricName", "Dimensions")}]
    queries = [q["Fn::If"][1] if "Fn::If" in q else q for q in props["Metrics"]]  # a conditional function's
    return [q["MetricStat"]["Metric"] for q in queries if "MetricStat" in q]


def dashboard() -> dict:
    (board,) = of_type(MAIN, "AWS::CloudWatch::Dashboard").values()
    body = board["Properties"]["DashboardBody"]["Fn::Sub"]
    return json.loads(body)


def expanded(metrics: list[list]) -> list[list]:
    """A widget's metric arrays with CloudWatch's "." shorthand (the previous array's value there) filled in."""
    out, previous = [], []
    for metric in metrics:
        if isinstance(metric[0], str):
            previous = [previous[i] if v == "." else v for i, v in enumerate(metric)]
            out.append(previous)
    return out


def dashboard_metrics() -> list[list]:
    return [m for w in dashboard()["widgets"] for m in expanded(w["properties"].get("metrics", []))]


def test_every_function_is_in_the_function_errors_alarm_and_the_dashboard():
    # A crash or timeout writes no EMF line: Lambda's Errors metric is the only trace of it.
    alarmed = {ref_name(m["Dimensions"][0]["Value"]) for m in alarm_metrics(ALARMS["FunctionErrorsAlarm"])}
    assert alarmed == set(FUNCTIONS)
    for metric in ("Errors", "Throttles"):
        shown = {m[3] for m in dashboard_metrics() if m[:3] == ["AWS/Lambda", metric, "FunctionName"]}
        # By reference, or by name for a conditional function (its name is fixed; no data while it is off).
        by_name = {name: FUNCTIONS[name]["Properties"]["FunctionName"]["Fn::Sub"] for name in FUNCTIONS}
        assert all(f"${{{name}}}" in shown or by_name[name] in shown for name in FUNCTIONS), metric
        assert len(shown) == len(FUNCTIONS), metric


def test_custom_metrics_use_the_dimensions_sendtext_writes():
    env = FUNCTIONS["SendTextFunction"]["Properties"]["Environment"]["Variables"]
    assert env["STACK_NAME"] == {"Ref": "AWS::StackName"} and env["STAGE"] == {"Ref": "StageName"}
    custom = [m for a in ALARMS.values() for m in alarm_metrics(a) if m["Namespace"] == NAMESPACE]
    assert len(custom) >= 2
    for metric in custom:
        dims = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        assert dims.pop("Stack") == {"Ref": "AWS::StackName"} and dims.pop("Stage") == {"Ref": "StageName"}
        assert set(dims) <= {"Outcome"}, metric
    for metric in dashboard_metrics():
        if metric[0] == NAMESPACE:
            dims = dict(zip(metric[2::2], metric[3::2], strict=False))
            assert dims["Stack"] == "${AWS::StackName}" and dims["Stage"] == "${StageName}", metric


def test_aws_metrics_name_this_stacks_resources():
    for alarm in ALARMS.values():
        for metric in alarm_metrics(alarm):
            if metric["Namespace"] == "AWS/Lambda":
                (dim,) = metric["Dimensions"]
                assert dim["Name"] == "FunctionName" and ref_name(dim["Value"]) in FUNCTIONS
    for metric in dashboard_metrics():
        dims = dict(zip(metric[2::2], metric[3::2], strict=False))
        if metric[0] == "AWS/ApiGateway":
            assert dims == {"ApiId": "${Api}", "Stage": "${StageName}"}, metric
        if metric[0] == "AWS/Lambda":
            names = {f"${{{n}}}" for n in FUNCTIONS} | {
                f["Properties"]["FunctionName"]["Fn::Sub"] for f in FUNCTIONS.values()
            }
            assert dims["FunctionName"] in names, metric


def test_alarms_notify_the_topic_only_when_an_address_is_given():
    topic = RESOURCES["AlarmTopic"]
    assert topic["Condition"] == "MailAlarms"
    assert topic["Properties"]["Subscription"] == [{"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}]
    assert MAIN["Parameters"]["AlarmEmail"]["Default"] == ""
    assert len(ALARMS) >= 4
    for alarm in ALARMS.values():
        props = alarm["Properties"]
        assert props["AlarmActions"] == {"Fn::If": ["MailAlarms", [{"Ref": "AlarmTopic"}], {"Ref": "AWS::NoValue"}]}
        assert props["TreatMissingData"] == "notBreaching"  # no traffic is not an incident


def test_the_dashboards_alarm_widget_lists_every_alarm_by_name():
    # A conditional alarm may not exist, so the widget leaves it out; its metric has a graph (test_capacity_template).
    (widget,) = [w for w in dashboard()["widgets"] if w["type"] == "alarm"]
    names = {a.rsplit(":alarm:", 1)[1] for a in widget["properties"]["alarms"]}
    assert names == {a["Properties"]["AlarmName"]["Fn::Sub"] for a in ALARMS.values() if "Condition" not in a}


def test_the_stage_logs_access_to_its_own_group_without_user_data():
    settings = RESOURCES["Stage"]["Properties"]["AccessLogSettings"]
    group = RESOURCES[ref_name(settings["DestinationArn"])]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    fields = json.loads(settings["Format"])
    assert set(fields) >= {"requestId", "connectionId", "eventType", "routeKey", "status", "integrationLatency"}
    assert fields["error"] == "$context.error.message"
    # The message body, the authorizer's inputs (a token travels in Sec-WebSocket-Protocol) and any header stay out.
    assert not any(word in settings["Format"] for word in ("body", "identity", "header", "authorizer.", "Protocol"))


def test_the_account_logs_role_is_created_and_kept_or_left_alone():
    role, account = IAM["Resources"]["ApiGatewayLogsRoleForAccount"], IAM["Resources"]["ApiGatewayAccount"]
    assert role["Condition"] == account["Condition"] == "CreateApiGatewayLogsRole"
    assert role["DeletionPolicy"] == account["DeletionPolicy"] == "Retain"
    assert account["Properties"]["CloudWatchRoleArn"] == {"Fn::GetAtt": ["ApiGatewayLogsRoleForAccount", "Arn"]}


def test_the_defaults_bound_the_daily_spend_and_turning_the_bound_off_is_explicit():
    """Issue 23, finding 3: the defaults were an open, unmetered Bedrock proxy."""
    parameters = MAIN["Parameters"]
    assert parameters["Auth"]["Default"] == "none"  # the article's wscat exchange still works out of the box
    assert parameters["DailyTokenBudget"]["Default"] == 1_000_000 and parameters["DailyTokenBudget"]["MinValue"] == 0
    assert parameters["MaxRepliesInFlight"]["Default"] == 2
    for function in ("SendTextFunction", "StreamReplyFunction"):
        variables = FUNCTIONS[function]["Properties"]["Environment"]["Variables"]
        assert variables["DAILY_TOKEN_BUDGET"] == {"Ref": "DailyTokenBudget"}
    sendtext = FUNCTIONS["SendTextFunction"]["Properties"]["Environment"]["Variables"]
    assert sendtext["MAX_REPLIES_IN_FLIGHT"] == {"Ref": "MaxRepliesInFlight"}
    assert sendtext["MAX_TOKENS"] == {"Ref": "MaxTokens"}  # the worst case it reserves
