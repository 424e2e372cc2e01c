"""Fixtures shared by every kind of test."""

import pytest

from tests.sample_events import load_event


@pytest.fixture
def message_event():
    """A MESSAGE event; tests set its `body`."""
    return load_event("apiGatewayWebSocketApiMessage")
