"""emulator/services/local.py with any template: its DynamoDB tables created in the local DynamoDB (dynalite), `Ref` and
`Fn::GetAtt` of them resolved in the functions' environment, and the tables dropped when the emulator stops."""

from pathlib import Path

import pytest

from emulator import template
from emulator.services import local
from tests.emulator.probes import probe_template

pytestmark = pytest.mark.e2e

TABLES = """\
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${AWS::StackName}-orders"
      BillingMode: PAY_PER_REQUEST
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}, {AttributeName: by, AttributeType: S}]
      GlobalSecondaryIndexes:
        - IndexName: by-customer
          KeySchema: [{AttributeName: by, KeyType: HASH}]
          Projection: {ProjectionType: ALL}
      TimeToLiveSpecification: {AttributeName: ttl, Enabled: true}
  Unnamed:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      KeySchema: [{AttributeName: k, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: k, AttributeType: S}]
      StreamSpecification: {StreamViewType: NEW_IMAGE}
"""


def with_tables(tmp_path: Path) -> template.Api:
    text = probe_template({"$default": "record"}).replace("Resources:\n", "Resources:\n" + TABLES, 1)
    text = text.replace(
        "          PROBE_DIR: !Ref ProbeDir\n",
        "          PROBE_DIR: !Ref ProbeDir\n          ORDERS: !Ref Orders\n"
        "          UNNAMED: !Ref Unnamed\n          ORDERS_ARN: !GetAtt Orders.Arn\n",
    )
    path = tmp_path / "tables.yml"
    path.write_text(text)
    return template.load(path, {"ProbeDir": str(tmp_path)})


def test_any_templates_tables_are_created_named_as_cloudformation_would_and_dropped_at_stop(tmp_path):
    api = with_tables(tmp_path)
    (function,) = api.functions.values()
    names = {resource.logical_id: resource.name for resource in api.resources}
    assert names["Orders"] == "local-orders"
    assert names["Unnamed"].startswith("local-Unnamed-")  # <stack>-<logical id>-<random>, as CloudFormation names it
    assert function.environment["ORDERS"] == "local-orders"
    assert function.environment["UNNAMED"] == names["Unnamed"]
    assert function.environment["ORDERS_ARN"] == "arn:aws:dynamodb:ap-northeast-1:123456789012:table/local-orders"

    services = local.LocalServices(api)
    environment = services.start()
    try:
        assert environment == {"AWS_ENDPOINT_URL_DYNAMODB": services.endpoints["dynamodb"]}
        client = services.client("dynamodb")
        orders = client.describe_table(TableName="local-orders")["Table"]
        assert orders["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
        assert [index["IndexName"] for index in orders["GlobalSecondaryIndexes"]] == ["by-customer"]
        # Created although dynalite has no streams (its StreamSpecification is accepted, not kept: README "Limits").
        assert client.describe_table(TableName=names["Unnamed"])["Table"]["TableStatus"] == "ACTIVE"
        client.put_item(TableName="local-orders", Item={"id": {"S": "1"}, "by": {"S": "ann"}})
        before = local.requests()["DynamoDB_20120810.GetItem"]
        assert client.get_item(TableName="local-orders", Key={"id": {"S": "1"}})["Item"]["by"] == {"S": "ann"}
        assert local.requests()["DynamoDB_20120810.GetItem"] == before + 1  # counted at the server
    finally:
        services.stop()
    again = local.LocalServices(api)
    again.start()  # a new emulator starts from empty tables, as a new stack would
    client = again.client("dynamodb")
    try:
        assert "Item" not in client.get_item(TableName="local-orders", Key={"id": {"S": "1"}})
    finally:
        again.stop()
    assert not {"local-orders", names["Unnamed"]} & set(client.list_tables()["TableNames"])


def test_a_template_without_tables_starts_no_local_service(tmp_path):
    path = tmp_path / "plain.yml"
    path.write_text(probe_template({"$default": "record"}))
    services = local.LocalServices(template.load(path, {"ProbeDir": str(tmp_path)}))
    assert services.start() == {} and services.endpoints == {}


def test_stop_returns_once_the_tables_are_gone_and_start_once_they_are_active(tmp_path):
    """DeleteTable and CreateTable answer before the table is gone or ACTIVE (dynalite: a timer tick later, as
    DynamoDB: minutes later); stop() and start() wait, as CloudFormation does. Repeated: a lost race shows often."""
    api = with_tables(tmp_path)
    names = {resource.name for resource in api.resources}
    for _ in range(20):
        services = local.LocalServices(api)
        services.start()
        client = services.client("dynamodb")
        statuses = {client.describe_table(TableName=name)["Table"]["TableStatus"] for name in names}
        services.stop()
        assert statuses == {"ACTIVE"}
        assert not names & set(client.list_tables()["TableNames"])
