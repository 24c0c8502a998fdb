"""The HTTP face with a scripted engine: wire shapes, errors, keep-alives, aborts."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import Settings

CHAT = "/v1/chat/completions"


def body(**extra):
    return {"model": "tiny-reasoner", "messages": [{"role": "user", "content": "What is 1+1?"}], **extra}


def test_completion_shape_and_accounting(api):
    got = api.post(CHAT, json=body(reasoning_effort="high"))
    assert got.status_code == 200
    data = got.json()
    assert data["object"] == "chat.completion"
    assert data["choices"][0]["message"] == {"role": "assistant", "content": "The answer is 2.", "refusal": None}
    usage = data["usage"]
    assert usage["completion_tokens_details"]["reasoning_tokens"] == len("1+1=2")
    assert usage["completion_tokens"] == len("1+1=2\n") + 1 + len("\nThe answer is 2.")
    assert data["reasoning"]["id"].startswith("rs_")
    assert got.headers["x-request-id"].startswith("req_")


def test_request_id_is_echoed(api):
    assert api.post(CHAT, json=body(), headers={"x-request-id": "abc-123"}).headers["x-request-id"] == "abc-123"


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        (body(n="2"), "n"),
        (body(temperature="hot"), "temperature"),
        (body(temperature=3), "temperature"),
        (body(reasoning_effort="extreme"), "reasoning_effort"),
        (body(reasoning={"max_tokens": -1}), "reasoning.max_tokens"),
        (body(reasoning={"budget_usd": -0.5}), "reasoning.budget_usd"),
        (body(reasoning={"max_tokens": 10**12}), "reasoning.max_tokens"),
        (body(reasoning={"min_tokens": 50, "max_tokens": 10}), "reasoning.min_tokens"),
        (body(reasoning={"unknown": 1}), "reasoning.unknown"),
        (body(reasoning={"budget_usd": 0}), "reasoning.budget_usd"),
        (body(max_completion_tokens=0), "max_completion_tokens"),
        (body(messages=[]), "messages"),
        (body(messages=[{"role": "wizard", "content": "hi"}]), "messages[0].role"),
        (body(messages=[{"role": "system", "content": "be brief"}]), "messages"),
        (body(messages=[{"role": "user", "content": 42}]), "messages[0].content"),
        (body(stop=["a", "b", "c", "d", "e"]), "stop"),
        (body(n=1000), "n"),
        (body(reasoning_effort="low", reasoning={"effort": "high"}), "reasoning.effort"),
        ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
        (body(seed=2**64), "seed"),
        (body(seed=-1), "seed"),
        (body(max_completion_tokens=10**20), "max_completion_tokens"),
        (body(messages=[{"role": "user", "content": "What is 1+1?\x00"}]), "messages[0].content"),
        (body(messages=[{"role": "user", "content": [{"type": "text", "text": "\ufffe"}]}]), "messages[0].content"),
        (body(stop=["ok", "\x00"]), "stop"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(api, engine, payload, param):
    got = api.post(CHAT, json=payload)
    assert got.status_code == 400, got.text
    error = got.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error" and error["message"]
    assert engine.calls == []  # nothing ran


@pytest.mark.parametrize(
    ("path", "raw", "param"),
    [
        # A lone surrogate is valid JSON but not text: the tokenizer would fail on it.
        (CHAT, b'{"model": "tiny-reasoner", "messages": [{"role": "user", "content": "hi \\ud800"}]}',
         "messages[0].content"),
        ("/v1/responses", b'{"model": "tiny-reasoner", "input": "\\udfff What is 1+1?"}', "input"),
        ("/v1/responses", b'{"model": "tiny-reasoner", "input": "What is 1+1?", "instructions": "\\ud83d"}',
         "instructions"),
        ("/v1/messages", b'{"model": "tiny-reasoner", "max_tokens": 64, "messages": [{"role": "user", '
         b'"content": "What is 1+1?"}], "system": "\\ud800"}', "system"),
    ],
)  # fmt: skip
def test_text_no_tokenizer_can_read_is_a_400_in_the_endpoints_shape(api, engine, path, raw, param):
    got = api.post(path, content=raw, headers={"content-type": "application/json"})
    assert got.status_code == 400, got.text
    assert got.json()["error"]["param"] == param
    assert engine.calls == []


def test_unknown_model_is_404(api, engine):
    got = api.post(CHAT, json=body(model="gpt-9"))
    assert got.status_code == 404 and got.json()["error"]["code"] == "model_not_found"
    assert engine.calls == []


def test_malformed_json_and_oversize_bodies(api, engine):
    got = api.post(CHAT, content=b"{not json", headers={"content-type": "application/json"})
    assert got.status_code == 400 and got.json()["error"]["code"] == "invalid_json"
    huge = body(messages=[{"role": "user", "content": "x" * 10_000}])
    got = api.post(CHAT, json=huge)
    assert got.status_code == 413 and "exceeds" in got.json()["error"]["message"]
    assert engine.calls == []


def test_unknown_route_is_openai_shaped(api):
    got = api.get("/v1/nothing")
    assert got.status_code == 404 and "error" in got.json()


def test_stream_has_keepalives_while_thinking_and_hides_reasoning(api, engine):
    engine.script = "secret step one\nsecret step two\n</think>\nThe answer is 2."
    engine.delay = 0.005
    text = api.post(CHAT, json=body(stream=True, stream_options={"include_usage": True}, reasoning_effort="high")).text
    assert ": keep-alive" in text.split('"content":"The')[0]
    assert "secret" not in text and "think>" not in text
    assert text.rstrip().endswith("data: [DONE]")
    assert '"usage":' in text


def test_not_ready_is_503(tmp_path):
    async def never(_):
        import asyncio

        await asyncio.sleep(3600)

    with TestClient(create_app(Settings(data_dir=tmp_path), engine_factory=never)) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/ready").status_code == 503
        got = client.post(CHAT, json=body())
        assert got.status_code == 503 and got.json()["error"]["type"] == "service_unavailable"
