"""The conversation list's index (issue 24): one small item per conversation, sparse (only list items carry its
key), and only the function that lists may query it."""

from pathlib import Path

from cfnlint.decode import decode

MAIN, errors = decode(str(Path(__file__).resolve().parents[2] / "main.yml"))
assert not errors, errors
RESOURCES = MAIN["Resources"]


def test_the_index_lists_by_owner_newest_first_with_what_a_list_entry_shows():
    (index,) = RESOURCES["Table"]["Properties"]["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "byOwner"  # src/conversation/store/catalog.py LIST_INDEX
    assert index["KeySchema"] == [
        {"AttributeName": "listOwner", "KeyType": "HASH"},
        {"AttributeName": "updatedAt", "KeyType": "RANGE"},
    ]
    # Not ALL: the list never needs the owner or status, so the index stores no more than an entry shows.
    assert index["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["title", "turns", "expiresAt"]}
    definitions = RESOURCES["Table"]["Properties"]["AttributeDefinitions"]
    assert {"AttributeName": "listOwner", "AttributeType": "S"} in definitions
    assert {"AttributeName": "updatedAt", "AttributeType": "N"} in definitions


def _index_statements() -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for resource in RESOURCES.values():
        if resource["Type"] != "AWS::IAM::RolePolicy":
            continue
        role = resource["Properties"]["RoleName"]["Fn::ImportValue"]["Fn::Sub"].rsplit("-", 1)[-1]
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            if "index" in str(statement["Resource"]):
                found.setdefault(role, []).append(statement)
    return found


def test_only_the_conversations_function_may_query_the_index_and_nothing_else_on_it():
    assert _index_statements() == {
        "ConversationsRoleName": [
            {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": {"Fn::Sub": "${Table.Arn}/index/byOwner"}}
        ]
    }
