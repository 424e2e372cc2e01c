"""DynamoDB items as the conversation table holds them, for unit tests that queue them on the table's Stubber."""

CONVERSATION_ID = "Conversation_id-0123456789abcdef"  # what turns.new_id issues in unit tests
CONNECTION = "Zx1mHdJ-tjMCJgQ="
OTHER_ID = "Another_conversation-0123456789x"
NOW = 1_800_000_000.0  # the injected clock, epoch seconds
DAY = 86_400


def item(number: int, user: str, assistant: str, status: str = "complete", **extra) -> dict:
    attributes = {
        "pk": {"S": extra.pop("pk", CONVERSATION_ID)},
        "sk": {"N": str(number)},
        "owner": {"S": extra.pop("owner", "-")},
        "user": {"S": user},
        "assistant": {"S": assistant},
        "status": {"S": status},
        "stopReason": {"S": "end_turn"},
        "inputTokens": {"N": "10"},
        "outputTokens": {"N": str(extra.pop("output_tokens", 5))},
        "startedAt": {"N": str(int(NOW * 1000) - 60_000)},
        "deadlineAt": {"N": str(extra.pop("deadline_at", int(NOW * 1000) - 1000))},
        "requestId": {"S": "earlier-request"},
        "expiresAt": {"N": str(extra.pop("expires_at", int(NOW) + 30 * DAY))},
    }
    assert not extra, extra
    return attributes


def current(conversation_id: str = CONVERSATION_ID) -> dict:
    return {
        "Item": {
            "pk": {"S": f"connection#{CONNECTION}"},
            "sk": {"N": "0"},
            "conversationId": {"S": conversation_id},
            "expiresAt": {"N": str(int(NOW) + 3600)},
        }
    }
