"""Real servers for the test session (devtools.server): the CLI on a free local port, the real
vLLM engine, the embedded tiny model, its own data directory and a log file the tests can read.
`server` is the plain one; `keyed_server` and `bounded_server` are shared by the modules that
need keys or small bounds (an engine start is about 30 s of the suite: start few)."""

from __future__ import annotations

import json

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
def keyed_server(tmp_path_factory: pytest.TempPathFactory):
    """A server whose modules create their API keys in it while it runs (test_conversations,
    test_vault): a key counts from the moment it is made, so each module's keys are its own."""
    running = start_server(tmp_path_factory.mktemp("keyed"))
    yield running
    stop_server(running)


# Efforts that think little and at most two choices a request, so no generated request holds
# the engine for long (test_fuzz_engine); 32 requests in flight and 32 queued (test_backpressure,
# whose long requests name their own reasoning.max_tokens).
SMALL_EFFORTS = {"none": 0, "minimal": 8, "low": 16, "medium": 24, "high": 32, "xhigh": 48, "max": 64}


@pytest.fixture(scope="session")
def bounded_server(tmp_path_factory: pytest.TempPathFactory):
    running = start_server(
        tmp_path_factory.mktemp("bounded"),
        REASONING_MAX_IN_FLIGHT="32",
        REASONING_MAX_QUEUED="32",
        REASONING_EFFORT_TOKENS=json.dumps(SMALL_EFFORTS),
        REASONING_MAX_N="2",
    )
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
