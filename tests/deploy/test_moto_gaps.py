"""moto's change-set gaps that moto_changesets.py fills, checked on moto itself (in-process, no server, no CLI).

The `test_moto_still_*` tests pin upstream's behaviour: when one fails, a moto release fixed or changed that gap,
and its fix in moto_changesets.py should be dropped or redone. The `test_fix_*` tests show each fix gives what AWS
gives, with nothing else in the way.
"""

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.deploy import moto_changesets

pytestmark = pytest.mark.deploy

REGION = "eu-west-3"
# A stack with a parameter and an export, and one that imports it: iam.yml and main.yml in miniature.
PRODUCER = json.dumps(
    {
        "Parameters": {"Name": {"Type": "String"}},
        "Resources": {"Group": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": {"Ref": "Name"}}}},
        "Outputs": {"GroupName": {"Value": {"Ref": "Group"}, "Export": {"Name": "producer-GroupName"}}},
    }
)
CONSUMER = json.dumps(
    {
        "Resources": {
            "Group": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": {"Fn::Join": ["-", [{"Fn::ImportValue": "producer-GroupName"}, "2"]]}},
            }
        }
    }
)
NAME = [{"ParameterKey": "Name", "ParameterValue": "shared"}]


@pytest.fixture(params=[False, True], ids=["released", "fixed"])
def cloudformation(request, fake_aws):
    """A CloudFormation client on a fresh in-process moto, as released or with moto_changesets's fixes."""
    with mock_aws():
        if request.param:
            with moto_changesets.patched():
                yield request.param, boto3.client("cloudformation", region_name=REGION)
        else:
            yield request.param, boto3.client("cloudformation", region_name=REGION)


def change_set(cf, stack: str, template: str, kind: str, parameters=()) -> str:
    return cf.create_change_set(
        StackName=stack, ChangeSetName="rehearsal", TemplateBody=template, ChangeSetType=kind, Parameters=parameters
    )["Id"]


def error_message(call) -> str | None:
    try:
        call()
    except ClientError as error:
        return error.response["Error"]["Message"]
    return None


def test_gap_a_change_set_stack_imports_the_account_exports(cloudformation):
    fixed, cf = cloudformation
    cf.create_stack(StackName="producer", TemplateBody=PRODUCER, Parameters=NAME)  # exports, as AWS does
    consumer = change_set(cf, "consumer", CONSUMER, "CREATE")
    error = error_message(lambda: cf.execute_change_set(ChangeSetName=consumer))
    if fixed:
        assert error is None
        groups = boto3.client("logs", region_name=REGION).describe_log_groups()["logGroups"]
        assert "shared-2" in {g["logGroupName"] for g in groups}
    else:
        assert error == "No export named producer-GroupName found.", "moto changed gap (a): revisit its fix"


def test_gap_b_executed_change_set_publishes_outputs_and_exports(cloudformation):
    fixed, cf = cloudformation
    cf.execute_change_set(ChangeSetName=change_set(cf, "producer", PRODUCER, "CREATE", NAME))
    stack = cf.describe_stacks(StackName="producer")["Stacks"][0]
    exports = {e["Name"]: e["Value"] for e in cf.list_exports()["Exports"]}
    if fixed:
        assert [(o["OutputKey"], o["OutputValue"]) for o in stack["Outputs"]] == [("GroupName", "shared")]
        assert exports == {"producer-GroupName": "shared"}
    else:
        assert ("Outputs" not in stack, exports) == (True, {}), "moto changed gap (b): revisit its fix"


def test_gap_c_unchanged_change_set_is_created_failed_saying_it_has_no_changes(cloudformation):
    fixed, cf = cloudformation
    cf.create_stack(StackName="producer", TemplateBody=PRODUCER, Parameters=NAME)
    if fixed:
        unchanged = cf.describe_change_set(ChangeSetName=change_set(cf, "producer", PRODUCER, "UPDATE", NAME))
        assert (unchanged["Status"], unchanged["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
        # The sentence the AWS CLI's `deploy` looks for before --no-fail-on-empty-changeset lets it pass.
        assert unchanged["StatusReason"].startswith("The submitted information didn't contain changes.")
        # A real change still makes a change set that can run.
        renamed = [{"ParameterKey": "Name", "ParameterValue": "renamed"}]
        changed = cf.describe_change_set(ChangeSetName=change_set(cf, "producer", PRODUCER, "UPDATE", renamed))
        assert (changed["Status"], changed["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")
    else:
        error = error_message(lambda: change_set(cf, "producer", PRODUCER, "UPDATE", NAME))
        assert error == "No updates are to be performed.", "moto changed gap (c): revisit its fix"


def test_gap_d_template_url_on_a_loopback_endpoint_is_read_path_style(cloudformation):
    fixed, cf = cloudformation
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="artifacts")
    s3.put_object(Bucket="artifacts", Key="stack/main.template", Body=PRODUCER.encode())
    # What the AWS CLI passes when its S3 endpoint is a local moto server.
    url = "http://127.0.0.1:5123/artifacts/stack/main.template"

    def create() -> None:
        cf.create_change_set(
            StackName="producer", ChangeSetName="rehearsal", TemplateURL=url, ChangeSetType="CREATE", Parameters=NAME
        )

    error = error_message(create)
    if fixed:
        assert error is None
    else:
        assert error == "The specified bucket does not exist", "moto changed gap (d): revisit its fix"


def test_moto_still_skips_event_invoke_config(fake_aws):
    """Not filled: moto's CloudFormation skips AWS::Lambda::EventInvokeConfig (with a warning), so the rehearsal
    deploys main.yml without StreamReply's retry, event age and OnFailure settings. The template tests and cfn-lint
    cover them (tests/templates/test_long_replies_template.py); the emulator honours them (tests/e2e)."""
    template = {
        "Resources": {
            "Config": {
                "Type": "AWS::Lambda::EventInvokeConfig",
                "Properties": {"FunctionName": "f", "Qualifier": "$LATEST", "MaximumRetryAttempts": 0},
            },
            "Group": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "kept"}},
        }
    }
    with mock_aws():
        cf = boto3.client("cloudformation", region_name=REGION)
        with pytest.warns(UserWarning, match="AWS::Lambda::EventInvokeConfig"):
            cf.create_stack(StackName="skips", TemplateBody=json.dumps(template))
        resources = cf.describe_stack_resources(StackName="skips")["StackResources"]
    # The skipped resource is listed with no id and no type: nothing was made.
    assert [r.get("LogicalResourceId") for r in resources if "ResourceType" in r] == ["Group"]
    assert "Config" not in {r.get("LogicalResourceId") for r in resources}, "moto now models EventInvokeConfig"
