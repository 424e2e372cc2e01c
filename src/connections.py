"""The API Gateway @connections client, created once per execution environment, and the one way to post."""

import os

import boto3
from botocore.config import Config

# The management endpoint is https://{api-id}.execute-api.{region}.amazonaws.com/{stage}; main.yml sets both
# parts, and the emulator sets them to its own host.
client = boto3.client(
    "apigatewaymanagementapi",
    endpoint_url=f"{os.environ['API_ENDPOINT']}/{os.environ['STAGE']}",
    config=Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 3}),
)


class ClientGone(Exception):
    """The WebSocket client has left (GoneException, HTTP 410): nothing more can reach it."""


def post(connection_id: str, frame: str) -> None:
    try:
        client.post_to_connection(ConnectionId=connection_id, Data=frame.encode())
    except client.exceptions.GoneException as exc:  # a ClientError too: catch it first
        raise ClientGone(connection_id) from exc
