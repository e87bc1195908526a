"""Fixtures of the stack tests that talk to the real Docker engine."""
from __future__ import annotations

import docker
import docker.errors
import pytest


@pytest.fixture(scope="module")
def client() -> docker.DockerClient:
    """The Docker engine's client; the module is skipped without one."""
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as error:
        pytest.skip(f"no Docker engine: {error}")
    return client
