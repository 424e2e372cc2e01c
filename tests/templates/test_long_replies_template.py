"""Issue 10 in the templates: what moto's CloudFormation skips (EventInvokeConfig) or does not enforce (IAM), so the
deploy rehearsal cannot show it. Only StreamReply may call the model; only SendText may start StreamReply, on exactly
its ARN; StreamReply's role may invoke only its OnFailure destination; no retry of a half-sent reply."""

import cfnlint.api
from cfnlint.api import ManualArgs

from tests.templates.test_templates import IAM, MAIN, ROOT, of_type, statements

RESOURCES = MAIN["Resources"]


def grants(template: dict, action_prefix: str) -> list[tuple[str, dict]]:
    """(role or policy resource, statement) for every statement of an action starting with `action_prefix`."""
    found = []
    for name, resource in template["Resources"].items():
        if not resource["Type"].startswith("AWS::IAM::"):
            continue
        for statement in statements({"Resources": {name: resource}}):
            branches = statement["Fn::If"][1:] if "Fn::If" in statement else [statement]
            for branch in branches:
                if branch == {"Ref": "AWS::NoValue"}:
                    continue
                actions = branch["Action"] if isinstance(branch["Action"], list) else [branch["Action"]]
                if any(action.startswith(action_prefix) for action in actions):
                    found.append((name, branch))
    return found


def test_only_the_streaming_role_may_call_the_model():
    assert {name for name, _ in grants(IAM, "bedrock:")} == {"StreamReplyRole"}
    assert grants(MAIN, "bedrock:") == []


def test_only_sendtext_may_start_the_reply_and_only_on_exactly_that_functions_arn():
    invokes = {name: statement for name, statement in grants(MAIN, "lambda:")}
    assert grants(IAM, "lambda:") == []
    assert set(invokes) == {"SendTextStartReplyPolicy", "StreamReplyDestinationPolicy"}
    start = invokes["SendTextStartReplyPolicy"]
    assert start["Action"] == "lambda:InvokeFunction"
    assert start["Resource"] == {"Fn::GetAtt": ["StreamReplyFunction", "Arn"]}
    role = RESOURCES["SendTextStartReplyPolicy"]["Properties"]["RoleName"]
    assert role == {"Fn::ImportValue": {"Fn::Sub": "${IamStackName}-SendTextRoleName"}}


def test_the_streaming_role_may_invoke_only_its_on_failure_destination():
    (name, statement) = next((n, s) for n, s in grants(MAIN, "lambda:") if n == "StreamReplyDestinationPolicy")
    assert statement["Resource"] == {"Fn::GetAtt": ["ReplyFailedFunction", "Arn"]}
    role = RESOURCES[name]["Properties"]["RoleName"]
    assert role == {"Fn::ImportValue": {"Fn::Sub": "${IamStackName}-StreamReplyRoleName"}}


def test_no_route_and_no_resource_policy_reaches_the_asynchronous_functions():
    # Started only by SendText's Invoke (an identity policy, same account): no Lambda::Permission, no integration.
    for permission in of_type(MAIN, "AWS::Lambda::Permission").values():
        assert permission["Properties"]["FunctionName"] not in (
            {"Ref": "StreamReplyFunction"},
            {"Ref": "ReplyFailedFunction"},
            {"Fn::GetAtt": ["StreamReplyFunction", "Arn"]},
            {"Fn::GetAtt": ["ReplyFailedFunction", "Arn"]},
        )
    for integration in of_type(MAIN, "AWS::ApiGatewayV2::Integration").values():
        uri = str(integration["Properties"].get("IntegrationUri", ""))
        assert "StreamReplyFunction" not in uri and "ReplyFailedFunction" not in uri


def test_event_invoke_config_never_retries_a_half_sent_reply_and_reports_every_failure():
    (config,) = of_type(MAIN, "AWS::Lambda::EventInvokeConfig").values()
    props = config["Properties"]
    assert props["FunctionName"] == {"Ref": "StreamReplyFunction"} and props["Qualifier"] == "$LATEST"
    assert props["MaximumRetryAttempts"] == 0
    assert 60 <= props["MaximumEventAgeInSeconds"] <= 120  # 60 is Lambda's minimum; a stale reply helps no one
    assert props["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": ["ReplyFailedFunction", "Arn"]}}}
    # Lambda checks the role may invoke the destination when the config is created.
    assert config["DependsOn"] == "StreamReplyDestinationPolicy"


def test_sendtext_knows_the_streaming_function_and_only_streamreply_calls_the_model():
    sendtext = RESOURCES["SendTextFunction"]["Properties"]["Environment"]["Variables"]
    stream = RESOURCES["StreamReplyFunction"]["Properties"]["Environment"]["Variables"]
    assert sendtext["REPLY_FUNCTION"] == {"Fn::GetAtt": ["StreamReplyFunction", "Arn"]}
    # SendText reads the model list only to refuse a "model" not on it; the API, caching, guardrail: StreamReply.
    assert {k: sendtext[k] for k in ("MODEL_ID", "MODEL_IDS")} == {
        "MODEL_ID": {"Ref": "ModelId"},
        "MODEL_IDS": {"Ref": "ModelIds"},
    }
    assert not {"MODEL_API", "GUARDRAIL_ID"} & set(sendtext)
    assert stream["MODEL_ID"] == {"Ref": "ModelId"} and stream["MODEL_API"] == {"Ref": "ModelApi"}


def test_cfn_lint_checks_the_event_invoke_config_moto_skips():
    # moto's CloudFormation skips EventInvokeConfig with a warning, so the rehearsal cannot catch a bad one;
    # `make lint` (cfn-lint, clean on main.yml) does: the same file with a retry too many fails it.
    text = (ROOT / "main.yml").read_text()
    assert text.count("MaximumRetryAttempts: 0") == 1
    errors = cfnlint.api.lint(
        text.replace("MaximumRetryAttempts: 0", "MaximumRetryAttempts: 3"),
        config=ManualArgs(regions=["ap-northeast-1"]),
    )
    assert [error.path[:2] for error in errors] == [["Resources", "StreamReplyEventInvokeConfig"]]
