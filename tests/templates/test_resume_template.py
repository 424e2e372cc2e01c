"""Issue 27 in main.yml and the Makefile: the grace period reaches StreamReply, and `resume` and `stop` reach the
Conversations function, which may ask whether a connection is still open."""

import re

from tests.templates.test_capacity_template import PARAMETERS, env, make_dry_run
from tests.templates.test_templates import RESOURCES, ROOT


def test_the_grace_period_is_a_bounded_number_given_to_streamreply_only():
    grace = PARAMETERS["ResumeGraceSeconds"]
    assert grace["Type"] == "Number" and grace["MinValue"] == 0 and grace["Default"] == 30
    assert grace["MaxValue"] <= 600  # every second of it may be paid for, for nobody
    assert env("StreamReplyFunction")["RESUME_GRACE_SECONDS"] == {"Ref": "ResumeGraceSeconds"}
    functions = [name for name, r in RESOURCES.items() if r["Type"] == "AWS::Lambda::Function"]
    assert [name for name in functions if "RESUME_GRACE_SECONDS" in env(name)] == ["StreamReplyFunction"]


def test_the_makefile_default_is_the_templates_and_local_and_deploy_pass_it():
    (default,) = re.findall(r"^RESUME_GRACE_SECONDS\s*\?=\s*(\d+)$", (ROOT / "Makefile").read_text(), re.M)
    assert int(default) == PARAMETERS["ResumeGraceSeconds"]["Default"]
    assert "--parameter ResumeGraceSeconds=0" in make_dry_run("local", "RESUME_GRACE_SECONDS=0")
    assert " ResumeGraceSeconds=5 " in make_dry_run("deploy-main", "BUCKET=b", "RESUME_GRACE_SECONDS=5")


def test_resume_and_stop_go_to_the_conversations_function():
    routes = {r["Properties"]["RouteKey"]: r["Properties"] for r in RESOURCES.values() if r["Type"].endswith("Route")}
    for key in ("resume", "stop"):
        assert routes[key]["Target"] == routes["history"]["Target"]
        assert routes[key]["AuthorizationType"] == "NONE"  # the connection was let in at $connect
