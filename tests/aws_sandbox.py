"""Keeping tests away from real AWS: throwaway credentials and no config files, for moto in or out of process."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

THROWAWAY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
NO_CONFIG_FILES = {"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}


@contextmanager
def throwaway_credentials() -> Iterator[None]:
    """This process's boto3 sees only throwaway credentials and no config files, until the block exits."""
    with pytest.MonkeyPatch.context() as env:
        for name in [name for name in os.environ if name.startswith("AWS_")]:
            env.delenv(name)
        for name, value in {**THROWAWAY_CREDENTIALS, **NO_CONFIG_FILES}.items():
            env.setenv(name, value)
        yield
