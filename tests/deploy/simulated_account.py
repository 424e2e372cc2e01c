"""A simulated AWS account for the deploy rehearsal, and the way the project's own Makefile is run against it.

moto's server runs in this process on a free loopback port, with the change-set fixes of moto_changesets.py. The
real AWS CLI reaches it through AWS_ENDPOINT_URL with throwaway credentials; boto3 reads the results from it.
"""

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer

from tests.aws_sandbox import NO_CONFIG_FILES, THROWAWAY_CREDENTIALS, throwaway_credentials
from tests.deploy import moto_changesets

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = DEFAULT_ACCOUNT_ID
# The pinned CLI: the one installed beside the Python running the tests (requirements-dev.txt).
PINNED_AWS = Path(sys.executable).parent / "aws"
# The CLI's default region in the rehearsal. Every Makefile call must say --region $(REGION): anything created
# here instead means one did not.
DECOY_REGION = "us-west-2"
# moto warns for each resource type it skips (AWS::ApiGatewayV2::*, AWS::IAM::RolePolicy): the rehearsal's
# docstrings say what that leaves out, once.
UNMODELLED_RESOURCES_SKIPPED = pytest.mark.filterwarnings(
    "ignore:Tried to parse AWS..\\S+ but it's not supported by moto:UserWarning"  # no ":" in a filter's regex
)
# Variables the Makefile takes with ?=, and make's own: a value in the caller's environment must not leak in.
MAKE_VARIABLES = ("STACK", "IAM_STACK", "STAGE", "REGION", "MODEL_ID", "BUCKET", "AWS", "VENV", "AUTH", "OIDC_ISSUER")
MAKE_VARIABLES += ("OIDC_AUDIENCE", "USERNAME", "PASSWORD", "PORT")
MAKE_OWN = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")


def _without_aws_settings(environ: dict[str, str]) -> dict[str, str]:
    """Drop the user's profile, keys, endpoints and config files: the rehearsal must never reach a real account."""
    return {k: v for k, v in environ.items() if not k.startswith("AWS_") and k not in MAKE_VARIABLES + MAKE_OWN}


def work_tree(dest: Path, *, venv: bool) -> Path:
    """A copy of the project as it is now, so `make` never writes build/ in the user's tree.

    With `venv`, the copy's .venv links to the running one and the Makefile picks the pinned CLI from it; without,
    the Makefile must fall back to `aws` from PATH, as for a user who never made the venv.
    """
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(".git", ".venv", "node_modules", "build", ".*_cache"))
    if venv:
        (dest / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    return dest


def succeeded(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"{' '.join(result.args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@dataclass(repr=False)
class State:
    """What one region of the simulated account holds (IAM and the bucket list are account-wide, as in AWS)."""

    stacks: dict[str, dict]  # live stacks, by name
    events: dict[str, list[dict]]  # by stack name
    exports: dict[str, str]
    functions: dict[str, dict]  # configurations, by name
    log_groups: dict[str, dict]
    roles: dict[str, dict]  # by name: Arn, Description, Policies (name -> document as JSON text)
    buckets: dict[str, dict]  # by name: Region, CreationDate, PublicAccessBlock, Objects (key -> bytes)
    tables: dict[str, dict]  # DynamoDB table descriptions, by name


class SimulatedAccount:
    def __init__(self, endpoint: str):
        self.endpoint = endpoint

    def reset(self) -> None:
        """Empty every service, so each rehearsal starts from a fresh account."""
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")).close()

    def client(self, service: str, region: str):
        return boto3.client(service, region_name=region, endpoint_url=self.endpoint)

    def cli_environment(self, path_first: Path | None = None) -> dict[str, str]:
        """The environment `make` runs in: the caller's, minus any AWS settings, plus this account's endpoint."""
        env = _without_aws_settings(dict(os.environ))
        env.update(
            THROWAWAY_CREDENTIALS,
            **NO_CONFIG_FILES,
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_EC2_METADATA_DISABLED="true",
            AWS_DEFAULT_REGION=DECOY_REGION,
        )
        if path_first:
            env["PATH"] = f"{path_first}{os.pathsep}{env['PATH']}"
        return env

    def make(self, tree: Path, target: str, *, path_first: Path | None = None, **variables: str):
        """Run the project's own `make <target>` in `tree`, with the variables on the make line, as a user would."""
        return subprocess.run(
            ["make", "--no-print-directory", "-C", str(tree), target, *(f"{k}={v}" for k, v in variables.items())],
            env=self.cli_environment(path_first),
            capture_output=True,
            text=True,
            timeout=100,
        )

    def state(self, region: str) -> State:
        cloudformation = self.client("cloudformation", region)
        stacks = {s["StackName"]: s for s in cloudformation.describe_stacks()["Stacks"]}
        iam = self.client("iam", region)
        s3 = self.client("s3", region)
        dynamodb = self.client("dynamodb", region)
        return State(
            stacks=stacks,
            events={name: cloudformation.describe_stack_events(StackName=name)["StackEvents"] for name in stacks},
            exports={e["Name"]: e["Value"] for e in cloudformation.list_exports()["Exports"]},
            functions={f["FunctionName"]: f for f in self.client("lambda", region).list_functions()["Functions"]},
            log_groups={g["logGroupName"]: g for g in self.client("logs", region).describe_log_groups()["logGroups"]},
            roles={r["RoleName"]: self._role(iam, r) for r in iam.list_roles()["Roles"]},
            buckets={b["Name"]: self._bucket(s3, b) for b in s3.list_buckets()["Buckets"]},
            tables={
                name: dynamodb.describe_table(TableName=name)["Table"] for name in dynamodb.list_tables()["TableNames"]
            },
        )

    @staticmethod
    def _role(iam, role: dict) -> dict:
        policies = {}
        for name in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=name)["PolicyDocument"]
            policies[name] = document if isinstance(document, str) else json.dumps(document)
        return {"Arn": role["Arn"], "Description": role.get("Description"), "Policies": policies}

    @staticmethod
    def _bucket(s3, bucket: dict) -> dict:
        name = bucket["Name"]
        try:
            block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        except s3.exceptions.ClientError:
            block = None
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=name).get("Contents", [])]
        return {
            # GetBucketLocation answers None for us-east-1, as AWS does.
            "Region": s3.get_bucket_location(Bucket=name)["LocationConstraint"] or "us-east-1",
            "CreationDate": bucket["CreationDate"],
            "PublicAccessBlock": block,
            "Objects": {key: s3.get_object(Bucket=name, Key=key)["Body"].read() for key in keys},
        }


@contextmanager
def simulated_account() -> Iterator[SimulatedAccount]:
    """A fresh simulated account on a free loopback port, stopped (and moto unpatched) when the block exits."""
    with throwaway_credentials(), moto_changesets.patched():
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            account = SimulatedAccount(f"http://{host}:{port}")
            account.reset()
            yield account
        finally:
            server.stop()
