"""Fixtures shared by every kind of test."""

import pytest

from tests.aws_sandbox import throwaway_credentials
from tests.sample_events import load_event


@pytest.fixture
def message_event():
    """A MESSAGE event; tests set its `body`."""
    return load_event("apiGatewayWebSocketApiMessage")


@pytest.fixture
def fake_aws():
    """Throwaway credentials for an in-process moto (mock_aws), never the user's."""
    with throwaway_credentials():
        yield
