"""Deploy rehearsal fixtures: each test module gets its own fresh simulated account."""

import pytest

from tests.deploy.simulated_account import simulated_account, throwaway_credentials


@pytest.fixture(scope="module")
def account():
    with simulated_account() as account:
        yield account


@pytest.fixture
def fake_aws():
    """Throwaway credentials for an in-process moto (mock_aws), never the user's."""
    with throwaway_credentials():
        yield
