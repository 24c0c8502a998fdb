"""A client that goes away aborts its engine work at once, streaming or not.

Shown with the engine's own counters: vLLM's running-request gauge drops to zero and its
generated-token counter stops, long before the request would have finished."""

from __future__ import annotations

import time

import httpx
import pytest

LONG = {
    "model": "tiny-reasoner",
    "messages": [{"role": "user", "content": "What is 734 * 869?"}],
    "reasoning": {"min_tokens": 900, "max_tokens": 950},  # many seconds of hidden thinking
}


def running(server) -> float:
    return server.metric("vllm:num_requests_running")


def generated(server) -> float:
    return server.metric("vllm:generation_tokens_total")


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def assert_aborted(server, before: float) -> None:
    left = time.monotonic()
    assert wait_for(lambda: running(server) == 0, 3), "the engine kept running the request"
    stopped_at = generated(server)
    time.sleep(1.0)
    assert generated(server) == stopped_at, "the engine kept generating"
    assert stopped_at - before < 900, "the request ran to its end"
    assert time.monotonic() - left < 3


def test_streaming_disconnect_aborts(server):
    before = generated(server)
    with (
        httpx.Client(base_url=server.url, timeout=60) as client,
        client.stream("POST", "/v1/chat/completions", json={**LONG, "stream": True}) as response,
    ):
        for line in response.iter_lines():
            if line == ": keep-alive":
                # The model is thinking (the engine's counter may lag its first tokens by a
                # moment): leave now, and httpx closes the connection.
                assert wait_for(lambda: generated(server) > before, 5), "the engine never ran it"
                break
    assert_aborted(server, before)


def test_non_streaming_disconnect_aborts(server):
    before = generated(server)
    with httpx.Client(base_url=server.url, timeout=1.5) as client, pytest.raises(httpx.ReadTimeout):
        response = client.post("/v1/chat/completions", json=LONG)
        pytest.fail(f"the request ended early: {response.status_code} {response.text[-600:]}")
    assert_aborted(server, before)
