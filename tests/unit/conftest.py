"""Fixtures for unit tests of the HTTP face, with the scripted engine double."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.unit.doubles import ScriptedEngine, scripted_factory


@pytest.fixture
def engine():
    return ScriptedEngine()


@pytest.fixture
def api(tmp_path, engine):
    settings = Settings(data_dir=tmp_path, keepalive_seconds=0.05, max_request_bytes=4096)
    with TestClient(create_app(settings, engine_factory=scripted_factory(engine))) as client:
        deadline = time.monotonic() + 5
        while client.get("/ready").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        yield client
