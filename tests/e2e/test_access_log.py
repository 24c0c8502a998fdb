"""The access log: one JSON line per API request on the server's log, written when the response
ends, with ids, status, token counts, cost and latency — never prompt, reasoning or answer text."""

from __future__ import annotations

import json
import time
import uuid

import pytest

MODEL = "tiny-reasoner"
QUESTION = "What is 347 * 29?"
ANSWER = "The answer is 10063."
CANARY = "zebra-canary-5521"  # prompt text that must never reach the log
ACCESS_FIELDS = {
    "ts", "level", "logger", "message", "process", "request_id", "key_id", "method", "path", "endpoint",
    "status", "stream", "latency_s", "error", "model",
}  # fmt: skip
OUTCOME_FIELDS = {
    "trace_id", "prompt_tokens", "reasoning_tokens", "answer_tokens", "summary_tokens",
    "completion_tokens", "cost_usd", "budget_exhausted", "chains",
}  # fmt: skip


def access_lines(server) -> list[dict]:
    lines = (json.loads(line) for line in server.log().splitlines() if line.startswith("{"))
    return [line for line in lines if line["logger"] == "reasoning_server.access"]


def access_line(server, request_id: str, seconds: float = 10) -> dict:
    """The one access line of a request; it is written as the response ends, so wait a little."""
    deadline = time.monotonic() + seconds
    while True:
        found = [line for line in access_lines(server) if line["request_id"] == request_id]
        if found or time.monotonic() > deadline:
            assert len(found) == 1, f"{len(found)} access lines for {request_id}"
            return found[0]
        time.sleep(0.1)


def new_id() -> str:
    return f"access-{uuid.uuid4().hex[:12]}"


def chat(http, request_id: str, **body):
    payload = {"model": MODEL, "messages": [{"role": "user", "content": QUESTION}], "temperature": 0, **body}
    return http.post("/v1/chat/completions", json=payload, headers={"x-request-id": request_id})


def assert_matches_usage(line: dict, usage: dict) -> None:
    reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
    assert line["prompt_tokens"] == usage["prompt_tokens"]
    assert line["reasoning_tokens"] == reasoning > 0
    assert line["answer_tokens"] == usage["completion_tokens"] - reasoning
    assert line["completion_tokens"] == usage["completion_tokens"]
    assert line["cost_usd"] == pytest.approx(usage["cost_usd"], rel=1e-12)


def test_a_completion_has_one_line_with_its_usage_and_cost(server, http):
    request_id = new_id()
    response = chat(http, request_id, reasoning_effort="high")
    assert response.status_code == 200
    line = access_line(server, request_id)
    assert set(line) == ACCESS_FIELDS | OUTCOME_FIELDS
    assert line["level"] == "info"
    assert (line["method"], line["path"], line["endpoint"], line["status"]) == (
        "POST",
        "/v1/chat/completions",
        "chat",
        200,
    )
    assert (line["key_id"], line["model"], line["stream"], line["error"]) == ("local", MODEL, False, None)
    assert line["trace_id"] == response.json()["reasoning"]["id"]
    assert_matches_usage(line, response.json()["usage"])
    assert 0 < line["latency_s"] < 120


def test_a_stream_is_logged_once_it_has_ended(server, http):
    request_id = new_id()
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": QUESTION}],
        "temperature": 0,
        "reasoning_effort": "high",
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with http.stream("POST", "/v1/chat/completions", json=body, headers={"x-request-id": request_id}) as response:
        chunks = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: {")]
    line = access_line(server, request_id)
    assert (line["stream"], line["status"], line["error"]) == (True, 200, None)
    assert_matches_usage(line, chunks[-1]["usage"])


def test_the_responses_endpoint_is_logged_too(server, client):
    request_id = new_id()
    response = client.responses.create(
        model=MODEL, input=QUESTION, reasoning={"effort": "high"}, extra_headers={"x-request-id": request_id}
    )
    line = access_line(server, request_id)
    assert (line["endpoint"], line["path"], line["status"]) == ("responses", "/v1/responses", 200)
    assert line["reasoning_tokens"] == response.usage.output_tokens_details.reasoning_tokens
    assert line["trace_id"] == response.output[0].id


def test_the_messages_endpoint_is_logged_too(server, claude):
    request_id = new_id()
    message = claude.messages.create(
        model=MODEL, max_tokens=2112, messages=[{"role": "user", "content": QUESTION}],
        thinking={"type": "enabled", "budget_tokens": 2048}, extra_headers={"x-request-id": request_id},
    )  # fmt: skip
    line = access_line(server, request_id)
    assert (line["endpoint"], line["path"], line["status"]) == ("messages", "/v1/messages", 200)
    assert line["reasoning_tokens"] == message.usage.output_tokens_details.thinking_tokens > 0
    assert line["completion_tokens"] == message.usage.output_tokens
    assert line["trace_id"] == message.model_extra["reasoning"]["id"]


def test_a_refused_request_is_logged_without_usage(server, http):
    request_id = new_id()
    response = chat(http, request_id, reasoning={"budget_usd": 1e-9})
    assert response.status_code == 400
    line = access_line(server, request_id)
    assert set(line) == ACCESS_FIELDS
    assert (line["status"], line["model"], line["key_id"], line["endpoint"]) == (400, None, "local", "chat")
    request_id = new_id()
    body = {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": QUESTION}]}
    refused = http.post("/v1/messages", json={**body, "thinking": {"type": "enabled", "budget_tokens": 64}},
                        headers={"x-request-id": request_id})  # fmt: skip
    assert refused.status_code == 400 and refused.json()["type"] == "error"
    line = access_line(server, request_id)
    assert (line["status"], line["model"], line["endpoint"]) == (400, None, "messages")


def test_probes_and_scrapes_are_not_logged(server, http):
    before = len(access_lines(server))
    for path in ("/health", "/ready", "/metrics"):
        assert http.get(path).status_code == 200
    time.sleep(0.3)
    assert len(access_lines(server)) == before


def test_no_prompt_reasoning_or_answer_text_reaches_the_log(server, http):
    ids = [new_id(), new_id(), new_id()]
    canary = http.post(
        "/v1/chat/completions",
        json={"model": MODEL, "messages": [{"role": "user", "content": f"{QUESTION} {CANARY}"}], "max_tokens": 64},
        headers={"x-request-id": ids[0]},
    )
    answered = chat(http, ids[1], reasoning_effort="high")
    messages = http.post(
        "/v1/messages",
        json={"model": MODEL, "max_tokens": 2112, "messages": [{"role": "user", "content": f"{QUESTION} {CANARY}"}],
              "thinking": {"type": "enabled", "budget_tokens": 2048, "display": "summarized"}, "temperature": 0},
        headers={"x-request-id": ids[2]},
    )  # fmt: skip
    assert canary.status_code == answered.status_code == messages.status_code == 200
    assert answered.json()["choices"][0]["message"]["content"] == ANSWER
    chains = json.loads(server.trace_row(answered.json()["reasoning"]["id"])["chains"])
    steps = [line for line in chains[0]["reasoning"].splitlines() if len(line) >= 6]
    thought = json.loads(server.trace_row(messages.json()["reasoning"]["id"])["chains"])[0]["reasoning"]
    steps += [line for line in thought.splitlines() if len(line) >= 6]
    assert "7*9=63,3" in steps  # the model really worked it out, column by column
    for request_id in ids:
        access_line(server, request_id)
    log = server.log()
    for text in [CANARY, QUESTION, ANSWER, *steps]:
        assert text not in log
