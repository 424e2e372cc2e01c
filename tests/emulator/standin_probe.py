"""The handler's side of test_bedrock_standin.py, run in a subprocess of its own.

src/ modules read their environment at import, as in Lambda (MODEL_ID, API_ENDPOINT, STAGE, and boto3 reads
AWS_ENDPOINT_URL_BEDROCK_RUNTIME), so they get a process pointed at the stand-in and at the test's
@connections stub, apart from the unit tests' stubs. Cases run concurrently: the throttled ones spend most of
their time in botocore's retry backoff.

stdin: a JSON list of {"name", "via": "client" | "handler", "text"}; argv[1]: where to write the results,
since the handler logs to stdout.
"""

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from botocore.exceptions import ClientError

from conversation import turns
from protocol import parse_sendtext
from reply import anthropic, bedrock, handover, stream


def via_client(text: str) -> dict:
    """model.open_stream, read as the relay reads it: what botocore raises, and the text before it did."""
    texts: list[str] = []
    try:
        for event in bedrock.open_stream(anthropic.user_message(text))[0]:
            chunk = json.loads(event["chunk"]["bytes"])
            if chunk["type"] == "content_block_delta":
                texts.append(chunk["delta"]["text"])
    except ClientError as exc:  # EventStreamError, mid-stream, is a ClientError too
        error = exc.response["Error"]
        retries = exc.response.get("ResponseMetadata", {}).get("RetryAttempts")
        return {
            "exception": type(exc).__name__,
            "code": error["Code"],
            "message": error["Message"],
            "texts": texts,
            "retries": retries,
        }
    return {"exception": None, "texts": texts}


def via_handler(name: str, text: str) -> dict:
    """The reply's whole path in src/: SendText's bookkeeping (the conversation read in the local table) and then
    StreamReply's work on what SendText hands over (the turn reserved, streamed, stored); its frames land in the
    test's @connections stub under connection `name`."""
    begun = turns.begin(name, "-", parse_sendtext(json.dumps({"text": text})), time.time(), "send")
    outcome = stream.answer(handover.decode(json.loads(handover.encode(name, begun))), "stream", 900_000)
    return {"frames": outcome.frames if outcome else 0}


def run(case: dict) -> dict:
    return via_client(case["text"]) if case["via"] == "client" else via_handler(case["name"], case["text"])


if __name__ == "__main__":
    cases = json.load(sys.stdin)
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        results = dict(zip((case["name"] for case in cases), pool.map(run, cases), strict=True))
    Path(sys.argv[1]).write_text(json.dumps(results))
