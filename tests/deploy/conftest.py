from __future__ import annotations

import pytest
from deploy_support import REPO, load_yaml, require_tool


@pytest.fixture(scope="session")
def promtool() -> str:
    return require_tool("promtool", "run scripts/install-system-deps.sh (Debian package `prometheus`)")


@pytest.fixture(scope="session")
def compose() -> dict:
    return load_yaml(REPO / "docker-compose.yml")
