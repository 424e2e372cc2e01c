"""Issue 28 in main.yml and the Makefile: the frame interval reaches StreamReply, and an alarm stands before each
quota that binds first (docs/capacity.md)."""

import re
import subprocess

import pytest

from tests.templates.test_templates import ALARMS, MAIN, RESOURCES, ROOT, alarm_metrics, dashboard_metrics, ref_name

PARAMETERS = MAIN["Parameters"]
ACCOUNT_RPS = 10_000  # API Gateway's default per account and Region (docs/capacity.md)
ACCOUNT_CONCURRENCY = 1_000  # Lambda's default concurrent executions per account and Region


def env(function: str) -> dict:
    return RESOURCES[function]["Properties"].get("Environment", {}).get("Variables", {})


def test_frame_interval_is_a_bounded_number_given_to_streamreply_only():
    interval = PARAMETERS["FrameIntervalMs"]
    assert interval["Type"] == "Number" and interval["MinValue"] == 0 and interval["MaxValue"] <= 1000
    assert 50 <= interval["Default"] <= 200, "invisible to a reader, and at most ~10 posts per second per reply"
    assert env("StreamReplyFunction")["FRAME_INTERVAL_MS"] == {"Ref": "FrameIntervalMs"}
    others = [
        name for name, r in RESOURCES.items() if r["Type"] == "AWS::Lambda::Function" and name != "StreamReplyFunction"
    ]
    assert all("FRAME_INTERVAL_MS" not in env(name) for name in others)


def make_dry_run(*args: str) -> str:
    return subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_the_makefile_default_is_the_templates_and_local_and_deploy_pass_it():
    (default,) = re.findall(r"^FRAME_INTERVAL_MS\s*\?=\s*(\d+)$", (ROOT / "Makefile").read_text(), re.M)
    assert int(default) == PARAMETERS["FrameIntervalMs"]["Default"]
    assert f"--parameter FrameIntervalMs={default}" in make_dry_run("local")
    assert "--parameter FrameIntervalMs=0" in make_dry_run("local", "FRAME_INTERVAL_MS=0")
    assert " FrameIntervalMs=250 " in make_dry_run("deploy-main", "BUCKET=b", "FRAME_INTERVAL_MS=250")


def test_api_rate_alarm_reads_this_apis_messages_per_second_below_the_account_rate():
    alarm = ALARMS["ApiRateAlarm"]["Properties"]
    (metric,) = alarm_metrics(ALARMS["ApiRateAlarm"])
    assert (metric["Namespace"], metric["MetricName"]) == ("AWS/ApiGateway", "MessageCount")
    dims = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
    assert ref_name(dims["ApiId"]) == "Api" and dims["Stage"] == {"Ref": "StageName"}
    (returned,) = [q for q in alarm["Metrics"] if q.get("ReturnData", True)]
    assert returned["Expression"] == "messages / PERIOD(messages)", "per second, whatever the period"
    assert alarm["Threshold"] == {"Ref": "ApiRateAlarmRps"}
    assert 0 < PARAMETERS["ApiRateAlarmRps"]["Default"] < ACCOUNT_RPS


def test_reply_concurrency_alarm_reads_streamreplys_executions_below_the_accounts():
    alarm = ALARMS["ReplyConcurrencyAlarm"]["Properties"]
    (metric,) = alarm_metrics(ALARMS["ReplyConcurrencyAlarm"])
    assert (metric["Namespace"], metric["MetricName"]) == ("AWS/Lambda", "ConcurrentExecutions")
    assert ref_name(metric["Dimensions"][0]["Value"]) == "StreamReplyFunction"
    assert alarm["Statistic"] == "Maximum" and alarm["Threshold"] == {"Ref": "ReplyConcurrencyAlarmAt"}
    assert 0 < PARAMETERS["ReplyConcurrencyAlarmAt"]["Default"] < ACCOUNT_CONCURRENCY


def test_bedrock_tpm_alarm_exists_only_with_a_threshold_and_reads_this_model():
    alarm = ALARMS["BedrockTpmAlarm"]
    assert alarm["Condition"] == "AlarmOnTpm"
    assert MAIN["Conditions"]["AlarmOnTpm"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "BedrockTpmAlarmAt"}, "0"]}]}
    assert PARAMETERS["BedrockTpmAlarmAt"]["Default"] == 0
    (metric,) = alarm_metrics(alarm)
    assert (metric["Namespace"], metric["MetricName"]) == ("AWS/Bedrock", "EstimatedTPMQuotaUsage")
    assert metric["Dimensions"] == [{"Name": "ModelId", "Value": {"Ref": "ModelId"}}]
    assert alarm["Properties"]["Threshold"] == {"Ref": "BedrockTpmAlarmAt"}
    assert ["AWS/Bedrock", "EstimatedTPMQuotaUsage", "ModelId", "${ModelId}"] in dashboard_metrics()


@pytest.mark.parametrize("name", ["ApiRateAlarm", "ReplyConcurrencyAlarm", "BedrockTpmAlarm"])
def test_capacity_alarms_need_two_of_three_minutes_so_one_spike_does_not_page(name):
    props = ALARMS[name]["Properties"]
    period = props.get("Period") or next(q["MetricStat"]["Period"] for q in props["Metrics"] if "MetricStat" in q)
    assert (period, props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (60, 3, 2)
