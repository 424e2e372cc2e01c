"""Deploy rehearsal fixtures: each test module gets its own fresh simulated account."""

import pytest

from tests.deploy.simulated_account import simulated_account


@pytest.fixture(scope="module")
def account():
    with simulated_account() as account:
        yield account
