"""Fixtures every test directory may use: a real PostgreSQL server for the session, and a
`store_url` fixture that runs a test once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import pytest

from tests import postgres


@pytest.fixture(scope="session")
def postgres_server():
    server = postgres.start()  # raises, and so fails the tests that need it, if unavailable
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """A fresh, empty store on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store.db"
    return request.getfixturevalue("postgres_server").fresh_store_url()
