"""One real server per test session (devtools.server): the CLI on a free local port, the real
vLLM engine, the embedded tiny model, its own data directory and a log file the tests can read."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest

from devtools.server import Server, start_server, stop_server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory):
    running = start_server(tmp_path_factory.mktemp("server"))
    yield running
    stop_server(running)


@pytest.fixture(scope="session")
def client(server: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.api, api_key="unused-in-open-mode", max_retries=0, timeout=120)


@pytest.fixture(scope="session")
def claude(server: Server) -> anthropic.Anthropic:
    """The official Anthropic SDK, unmodified: it appends /v1/messages to the server's root."""
    return anthropic.Anthropic(base_url=server.url, api_key="unused-in-open-mode", max_retries=0, timeout=120)


@pytest.fixture(scope="session")
def http(server: Server):
    with httpx.Client(base_url=server.url, timeout=120) as session:
        yield session
