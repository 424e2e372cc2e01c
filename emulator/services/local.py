"""The AWS services a template needs that the emulator does not imitate itself, served on localhost.

DynamoDB is dynalite (dynalite.py: a Node child process); every other service (Cognito today) is one
moto server (moto's ThreadedMotoServer, in this process). Both listen on 127.0.0.1 and a free port. For each
resource of a type in SERVICES the template declares, `LocalServices.start()` creates it as CloudFormation would
and returns what the functions' environment needs: `AWS_ENDPOINT_URL_<SERVICE>`, which boto3 honours, so handler
code runs unchanged. Neither runs Java or Docker; both keep conditional writes and consistent reads as DynamoDB
does. What they do not do: expire items by TTL (DynamoDB does that days late anyway: readers must filter), or
enforce IAM.

Adding a service: an entry in SERVICES naming the resource type, the endpoint variable, its server and a function
that creates one resource from its resolved properties; and the type in LOCAL_SERVICE_TYPES
(emulator/template/model.py), so the template loader lists those resources. A resource whose id the service
assigns (a Cognito user pool) is created while the template is read instead (cognito.py, through
template.load's `provision`), in moto: moto_endpoint().
"""

import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import boto3
from botocore.config import Config

from emulator.services import dynalite
from emulator.template import Api, Resource

log = logging.getLogger("emulator.services")

CREDENTIALS = {"aws_access_key_id": "emulator", "aws_secret_access_key": "emulator"}


@dataclass(frozen=True)
class Service:
    name: str  # boto3's service name
    endpoint_variable: str  # what boto3 reads for this service's endpoint
    create: Callable[[object, Resource], None]  # (boto3 client, resource) -> create it
    delete: Callable[[object, Resource], None]  # remove it again (when the emulator stops)
    server: Callable[[], str]  # the local server's URL, started on first use


# How the table waiters poll: dynalite changes a table's state within a timer tick, not DynamoDB's minutes.
_WAIT = {"Delay": 0.01, "MaxAttempts": 500}

# CloudFormation's AWS::DynamoDB::Table properties that CreateTable takes under the same names.
_TABLE_PROPERTIES = (
    "TableName",
    "KeySchema",
    "AttributeDefinitions",
    "BillingMode",
    "ProvisionedThroughput",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "SSESpecification",
    "TableClass",
    "DeletionProtectionEnabled",
    "Tags",
)


def _create_table(client, table: Resource) -> None:
    props = table.properties
    request = {key: props[key] for key in _TABLE_PROPERTIES if key in props}
    request["TableName"] = table.name
    request.pop("DeletionProtectionEnabled", None)  # the emulator must be able to drop its tables
    if "StreamSpecification" in props:  # CloudFormation names only the view type; the API wants both
        request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    _drop_table(client, table)  # left over from an earlier emulator in this process: start empty, as a new stack
    client.create_table(**request)
    # CreateTable answers while the table is CREATING (dynalite too, for a timer tick): wait for ACTIVE, as
    # CloudFormation does before it reports the resource created.
    client.get_waiter("table_exists").wait(TableName=table.name, WaiterConfig=_WAIT)
    # TimeToLiveSpecification is not applied: dynalite has no TTL (DynamoDB's deletes days late; readers filter).
    log.info("DynamoDB table %s (%s) created", table.name, table.logical_id)


def _drop_table(client, table: Resource) -> None:
    with contextlib.suppress(client.exceptions.ResourceNotFoundException):
        client.delete_table(TableName=table.name)
    # DeleteTable answers while the table is DELETING and still listed (dynalite removes it on a timer after the
    # answer): wait until it is gone, as CloudFormation does, so a stopped emulator has no tables and a new one
    # can create the same name.
    client.get_waiter("table_not_exists").wait(TableName=table.name, WaiterConfig=_WAIT)


SERVICES: dict[str, Service] = {
    "AWS::DynamoDB::Table": Service(
        "dynamodb", "AWS_ENDPOINT_URL_DYNAMODB", _create_table, _drop_table, dynalite.endpoint
    ),
}

_lock = threading.Lock()
_server = None  # moto's state is per process, so one server per process serves every LocalServices
_moto_requests: Counter[str] = Counter()


def requests() -> Counter[str]:
    """Requests the local servers have answered, by operation ("DynamoDB_20120810.Query" …, from X-Amz-Target):
    the bench counts what a turn costs with it. Only JSON-protocol services (DynamoDB, Cognito) name it there."""
    return _moto_requests + dynalite.requests()


def _counting(app: Callable) -> Callable:
    def count(environ: dict, start_response: Callable) -> object:
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            _moto_requests[target] += 1
        return app(environ, start_response)

    return count


def moto_endpoint() -> str:
    """The moto server's URL, started on first use; it lives as long as the process (a daemon thread)."""
    global _server
    with _lock:
        if _server is None:
            from moto.server import ThreadedMotoServer  # imported on demand: moto takes a while to load

            # werkzeug would print an access-log line per request: the functions' own logs say what they did.
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            server.start()
            server._server.app = _counting(server._server.app)  # werkzeug's server calls .app per request
            _server = server
        host, port = _server.get_host_and_port()
    return f"http://{host}:{port}"


class LocalServices:
    """The template's resources of SERVICES' types, in the process's local servers, for as long as the emulator
    runs: `environment = services.start()` … `services.stop()`."""

    def __init__(self, api: Api) -> None:
        self.region = api.region
        self.resources = [resource for resource in api.resources if resource.kind in SERVICES]
        self.endpoints: dict[str, str] = {}  # boto3 service name -> the local server's URL, once started

    def client(self, service: str):
        """A boto3 client of the local service (tests read and seed the store with it)."""
        assert service in self.endpoints, "start() first"
        return boto3.client(
            service,
            endpoint_url=self.endpoints[service],
            region_name=self.region,
            config=Config(retries={"mode": "standard"}),
            **CREDENTIALS,
        )

    def start(self) -> dict[str, str]:
        """Create every resource; returns the functions' extra environment (empty when nothing is needed)."""
        environment = {}
        for resource in self.resources:
            service = SERVICES[resource.kind]
            self.endpoints[service.name] = environment[service.endpoint_variable] = service.server()
            service.create(self.client(service.name), resource)
        return environment

    def stop(self) -> None:
        for resource in self.resources:
            service = SERVICES[resource.kind]
            if service.name in self.endpoints:
                service.delete(self.client(service.name), resource)
        self.endpoints = {}
