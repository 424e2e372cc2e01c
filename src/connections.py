"""The API Gateway @connections client, created once per execution environment, and the one way to post."""

import os
import time

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError

from telemetry.logs import log

# The management endpoint is https://{api-id}.execute-api.{region}.amazonaws.com/{stage}; main.yml sets both
# parts, and the emulator sets them to its own host. botocore's own retries are off: a post retried after a
# read timeout may already have reached the client, and a delta must never arrive twice. `post` retries only
# what certainly did not deliver.
client = boto3.client(
    "apigatewaymanagementapi",
    endpoint_url=f"{os.environ['API_ENDPOINT']}/{os.environ['STAGE']}",
    config=Config(connect_timeout=2, read_timeout=10, retries={"mode": "standard", "total_max_attempts": 1}),
)
RETRY_DELAYS = (0.05, 0.2)  # seconds before the 2nd and 3rd attempt: a live stream cannot wait long


class ClientGone(Exception):
    """The WebSocket client has left (GoneException, HTTP 410): nothing more can reach it."""


def post(connection_id: str, frame: str) -> None:
    for delay in (*RETRY_DELAYS, None):
        try:
            client.post_to_connection(ConnectionId=connection_id, Data=frame.encode())
            return
        except client.exceptions.GoneException as exc:  # a ClientError too: catch it first
            raise ClientGone(connection_id) from exc
        except (client.exceptions.LimitExceededException, ConnectTimeoutError, EndpointConnectionError):
            if delay is None:  # refused or never sent, so safe to send again; out of attempts
                raise
            time.sleep(delay)


def alive(connection_id: str) -> bool:
    """Whether the connection is still open (GetConnection): False once API Gateway has closed it."""
    try:
        client.get_connection(ConnectionId=connection_id)
    except client.exceptions.GoneException:
        return False
    return True


def tell(connection_id: str, frame: str) -> bool:
    """Post one frame that ends an exchange (an error, a refusal); False when it did not arrive. Never raises: a
    frame refused (PayloadTooLargeException, a throttle that outlasted the retries) is logged, not a crash, since
    the handler's own work is done and a function error would page the owner over one client."""
    try:
        post(connection_id, frame)
    except ClientGone:
        return False
    except (ClientError, BotoCoreError) as exc:
        log("undelivered", level="WARNING", cause=repr(exc), frame_bytes=len(frame.encode()))
        return False
    return True
