"""Background responses against the real server with the official openai SDK, unmodified:
polled to completion, cancelled mid-thought, resumed after a dropped stream. (A kill -9 while
they are queued and running: test_durability.py.)"""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.e2e
MODEL = "tiny-reasoner"
FINAL = ("completed", "incomplete", "failed", "cancelled")
LONG_THINKING = {"reasoning": {"min_tokens": 900, "max_tokens": 950}}  # many seconds of hidden thinking


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_created_in_the_background_then_retrieved_until_completed(client):
    response = client.responses.create(
        model=MODEL, input="What is 347 * 29?", background=True, reasoning={"effort": "max"}, temperature=0
    )
    assert response.status == "queued" and response.background is True
    assert wait_for(lambda: client.responses.retrieve(response.id).status in FINAL, 120)
    done = client.responses.retrieve(response.id)
    assert done.status == "completed" and done.output_text == "The answer is 10063."


def test_cancel_stops_long_thinking_at_once(server, client):
    response = client.responses.create(
        model=MODEL, input="What is 734 * 869?", background=True, extra_body=LONG_THINKING
    )
    assert wait_for(lambda: server.metric("vllm:num_requests_running") == 1, 30), "it never ran"
    cancelled = client.responses.cancel(response.id)
    left = time.monotonic()
    assert cancelled.status == "cancelled"
    assert wait_for(lambda: server.metric("vllm:num_requests_running") == 0, 1.0), "the engine kept running it"
    assert time.monotonic() - left < 1.5
    assert client.responses.retrieve(response.id).status == "cancelled"


def test_a_dropped_stream_resumes_with_starting_after_each_event_once_in_order(client):
    stream = client.responses.create(
        model=MODEL, input="What is 347 * 29?", background=True, stream=True, reasoning={"effort": "max"}, temperature=0
    )
    seen = []
    for event in stream:
        seen.append(event)
        if len(seen) == 3:
            break  # the connection drops; the response runs on
    stream.close()
    response_id = seen[0].response.id
    rest = list(client.responses.retrieve(response_id, stream=True, starting_after=seen[-1].sequence_number))
    joined = seen + rest
    assert [event.sequence_number for event in joined] == list(range(len(joined)))
    assert joined[-1].type == "response.completed"
    assert joined[-1].response.output_text == "The answer is 10063."
