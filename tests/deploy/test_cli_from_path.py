"""Deploy rehearsal for a user with no venv: the Makefile must call the `aws` on PATH (AWS CLI v1 or v2, whatever
they installed) and take the artifact bucket they name with BUCKET.

The first `aws` on PATH is a shim that records each call and the environment CLI v2 reads, then runs the pinned
CLI, so the calls, their order and their arguments are what a user's CLI would receive.
"""

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy.simulated_account import PINNED_AWS, UNMODELLED_RESOURCES_SKIPPED, State, succeeded, work_tree

pytestmark = [pytest.mark.deploy, UNMODELLED_RESOURCES_SKIPPED]

STACK = "path-chat"
IAM_STACK = f"{STACK}-iam"
STAGE = "prod"
REGION = "us-east-1"  # the one region where CreateBucket takes no LocationConstraint
MODEL_ID = "anthropic.claude-3-5-haiku-20241022-v1:0"
GIVEN = "rehearsal-given-artifacts"  # the user's bucket, there before the deploy
MISSING = "rehearsal-missing-artifacts"  # named with BUCKET but not there yet

SHIM = """#!/bin/sh
# The first `aws` on PATH: record the call and what AWS CLI v2 would read from the environment, then run the CLI.
{
  echo "--- AWS_PAGER=${AWS_PAGER-<unset>} AWS_CLI_AUTO_PROMPT=${AWS_CLI_AUTO_PROMPT-<unset>}"
  printf '%s\\n' "$@"
} >> "@LOG@"
exec "@AWS@" "$@"
"""


@dataclass(frozen=True)
class Call:
    environment: str
    args: tuple[str, ...]

    @property
    def command(self) -> str:
        return " ".join(self.args[:2])

    def option(self, name: str) -> str | None:
        return self.args[self.args.index(name) + 1] if name in self.args else None


@dataclass(repr=False)  # a failing test shows its assertion, not megabytes of state
class PathRehearsal:
    before: State
    package: subprocess.CompletedProcess
    package_calls: list[Call]
    deploy: subprocess.CompletedProcess
    deploy_calls: list[Call]
    deployed: State
    delete: subprocess.CompletedProcess
    delete_calls: list[Call]
    deleted: State


def take_calls(log: Path) -> list[Call]:
    """The calls recorded since the last take, oldest first."""
    blocks = log.read_text().split("--- ")[1:] if log.exists() else []
    log.write_text("")
    return [Call(environment=lines[0], args=tuple(lines[1:])) for lines in (b.splitlines() for b in blocks)]


@pytest.fixture(scope="module")
def rehearsal(account, tmp_path_factory) -> PathRehearsal:
    base = tmp_path_factory.mktemp("path")
    tree = work_tree(base / "repo", venv=False)
    bin_dir, log = base / "bin", base / "aws-calls.log"
    bin_dir.mkdir()
    shim = bin_dir / "aws"
    shim.write_text(SHIM.replace("@LOG@", str(log)).replace("@AWS@", str(PINNED_AWS)))
    shim.chmod(0o755)

    s3 = account.client("s3", REGION)
    s3.create_bucket(Bucket=GIVEN)
    s3.put_object(Bucket=GIVEN, Key="notes/kept.txt", Body=b"the user's own object")
    before = account.state(REGION)

    def make(target: str, bucket: str) -> subprocess.CompletedProcess:
        variables = {"STACK": STACK, "STAGE": STAGE, "REGION": REGION, "MODEL_ID": MODEL_ID, "BUCKET": bucket}
        return succeeded(account.make(tree, target, path_first=bin_dir, **variables))

    package = make("package", MISSING)
    package_calls = take_calls(log)
    deploy = make("deploy", GIVEN)
    deploy_calls = take_calls(log)
    deployed = account.state(REGION)
    delete = make("delete", GIVEN)
    return PathRehearsal(
        before=before,
        package=package,
        package_calls=package_calls,
        deploy=deploy,
        deploy_calls=deploy_calls,
        deployed=deployed,
        delete=delete,
        delete_calls=take_calls(log),
        deleted=account.state(REGION),
    )


def test_without_a_venv_every_aws_call_goes_to_the_aws_on_path(rehearsal):
    assert "aws cloudformation deploy --region" in rehearsal.deploy.stdout
    assert ".venv/bin/aws" not in rehearsal.deploy.stdout + rehearsal.package.stdout + rehearsal.delete.stdout
    assert [(c.command, c.option("--stack-name")) for c in rehearsal.deploy_calls] == [
        ("cloudformation deploy", IAM_STACK),
        ("s3api head-bucket", None),
        ("cloudformation package", None),
        ("cloudformation deploy", STACK),
        ("cloudformation describe-stacks", STACK),
    ]
    assert {c.option("--region") for c in rehearsal.deploy_calls} == {REGION}


def test_aws_cli_v2_neither_pages_nor_prompts_in_any_recipe(rehearsal):
    calls = rehearsal.package_calls + rehearsal.deploy_calls + rehearsal.delete_calls
    assert {c.environment for c in calls} == {"AWS_PAGER= AWS_CLI_AUTO_PROMPT=off"}


def test_a_given_bucket_that_exists_is_used_as_it_is(rehearsal):
    # No account lookup, no create-bucket, no change to the user's bucket settings.
    assert {c.option("--bucket") or c.option("--s3-bucket") for c in rehearsal.deploy_calls} - {None} == {GIVEN}
    given = rehearsal.deployed.buckets[GIVEN]
    assert given["CreationDate"] == rehearsal.before.buckets[GIVEN]["CreationDate"]
    assert given["PublicAccessBlock"] is None
    keys = set(given["Objects"])
    assert "notes/kept.txt" in keys
    # the code object and the packaged template (over CloudFormation's inline limit, so uploaded)
    ours = sorted(k for k in keys if k.startswith(f"{STACK}/"))
    assert sorted(key.endswith(".template") for key in ours) == [False, True], ours
    assert "Creating artifact bucket" not in rehearsal.deploy.stdout


def test_a_given_bucket_that_is_missing_is_created_private(rehearsal):
    assert [c.command for c in rehearsal.package_calls] == [
        "s3api head-bucket",
        "s3api create-bucket",
        "s3api put-public-access-block",
        "cloudformation package",
    ]
    create = rehearsal.package_calls[1]
    assert (create.option("--bucket"), create.option("--create-bucket-configuration")) == (MISSING, None)
    created = rehearsal.deployed.buckets[MISSING]
    assert created["Region"] == REGION
    assert set(created["PublicAccessBlock"].values()) == {True}
    assert {k.split("/")[0] for k in created["Objects"]} == {STACK}


def test_the_deploy_from_path_creates_both_stacks(rehearsal):
    stacks = rehearsal.deployed.stacks
    assert {name: s["StackStatus"] for name, s in stacks.items()} == {
        IAM_STACK: "CREATE_COMPLETE",
        STACK: "CREATE_COMPLETE",
    }
    stream = rehearsal.deployed.functions[f"{STACK}-StreamReply"]["Environment"]["Variables"]
    assert (stream["MODEL_ID"], stream["STAGE"]) == (MODEL_ID, STAGE)


def test_delete_from_path_deletes_the_main_stack_then_the_iam_stack_waiting_for_each(rehearsal):
    assert [(c.args[:2], c.option("--stack-name")) for c in rehearsal.delete_calls] == [
        (("cloudformation", "delete-stack"), STACK),
        (("cloudformation", "wait"), STACK),
        (("cloudformation", "delete-stack"), IAM_STACK),
        (("cloudformation", "wait"), IAM_STACK),
    ]
    assert all(c.args[2] == "stack-delete-complete" for c in rehearsal.delete_calls if c.args[1] == "wait")
    assert (rehearsal.deleted.stacks, rehearsal.deleted.exports, rehearsal.deleted.functions) == ({}, {}, {})
