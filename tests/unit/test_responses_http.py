"""The Responses API with a scripted engine: shapes, the event order, encrypted_content."""

from __future__ import annotations

import json

from tests import vault_support
from training.data import Problem, reasoning_lines

RESPONSES = "/v1/responses"
SCRIPT = "\n".join(reasoning_lines(Problem(347, 29, "*", "standard"))) + "\n</think>\nThe answer is 10063."


def create(api, **extra):
    return api.post(RESPONSES, json={"model": "tiny-reasoner", "input": "What is 347 * 29?", **extra})


def events(text: str) -> list[dict]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def test_response_object(api, engine):
    engine.script = SCRIPT
    got = create(api, reasoning={"effort": "high", "summary": "detailed"}, include=["reasoning.encrypted_content"])
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["object"] == "response" and body["status"] == "completed" and body["id"].startswith("resp_")
    reasoning, message = body["output"]
    assert reasoning["type"] == "reasoning" and reasoning["id"].startswith("rs_")
    assert reasoning["summary"] == [
        {"type": "summary_text", "text": "347*29: 347*20 = 6940; 347*9 = 3123; 6940+3123 = 10063"}
    ]
    assert reasoning["encrypted_content"]
    assert message["content"][0] == {
        "type": "output_text",
        "text": "The answer is 10063.",
        "annotations": [],
        "logprobs": [],
    }
    assert body["usage"]["output_tokens_details"]["reasoning_tokens"] == len(SCRIPT.split("\n</think>")[0])
    assert "7*9=63,3" not in got.text.replace(reasoning["encrypted_content"], "")


def test_event_sequence(api, engine):
    engine.script = SCRIPT
    text = create(api, stream=True, reasoning={"effort": "high", "summary": "concise"}).text
    kinds = [e["type"] for e in events(text)]
    assert kinds == [
        "response.created", "response.in_progress", "response.output_item.added",
        "response.reasoning_summary_part.added", "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
        "response.output_item.added", "response.content_part.added",
        *["response.output_text.delta"] * len("The answer is 10063."),
        "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed",
    ]  # fmt: skip
    assert [e["sequence_number"] for e in events(text)] == list(range(len(kinds)))
    for line in text.splitlines():
        if line.startswith("event: "):
            assert line[7:] in kinds


def test_encrypted_content_round_trip_and_tamper(api, engine):
    engine.script = SCRIPT
    first = create(api, include=["reasoning.encrypted_content"], store=False).json()
    reasoning = first["output"][0]
    follow_up = [
        {"role": "user", "content": "What is 347 * 29?"},
        reasoning,
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "The answer is 10063."}]},
        {"role": "user", "content": "What is 2 + 2?"},
    ]
    assert create(api, input=follow_up).status_code == 200
    blob = reasoning["encrypted_content"]
    tampered = blob[:-6] + ("A" if blob[-6] != "A" else "B") + blob[-5:]
    got = create(api, input=[*follow_up[:1], {**reasoning, "encrypted_content": tampered}, *follow_up[2:]])
    assert got.status_code == 400
    assert got.json()["error"]["code"] == "invalid_encrypted_content"
    assert got.json()["error"]["param"] == "input[1].encrypted_content"
    other_item = create(api, input=[*follow_up[:1], {**reasoning, "id": "rs_other"}, *follow_up[2:]])
    assert other_item.status_code == 400


def test_stored_responses_come_back_and_store_false_keeps_nothing(api, engine, tmp_path):
    engine.script = SCRIPT
    kept = create(api).json()
    assert api.get(f"{RESPONSES}/{kept['id']}").json() == kept
    gone = create(api, store=False).json()
    assert api.get(f"{RESPONSES}/{gone['id']}").status_code == 404
    assert vault_support.trace_row(tmp_path, gone["output"][0]["id"]) is None
    assert vault_support.trace_row(tmp_path, kept["output"][0]["id"]) is not None
    missing = api.get(f"{RESPONSES}/resp_nothing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "response_not_found"


def test_bad_input_items(api, engine):
    got = create(api, input=[{"type": "function_call", "name": "x"}])
    assert got.status_code == 400 and got.json()["error"]["param"] == "input[0]"
    assert create(api, input=[]).status_code == 400
    assert create(api, input=[{"role": "system", "content": "hi"}]).json()["error"]["param"] == "input"
    unknown = create(api, previous_response_id="resp_1")
    assert unknown.status_code == 404 and unknown.json()["error"]["param"] == "previous_response_id"
    assert engine.calls == []


def test_max_output_tokens_cutting_the_answer_is_incomplete(api, engine):
    engine.script = SCRIPT
    body = create(api, max_output_tokens=5, reasoning={"effort": "none"}).json()
    assert body["status"] == "incomplete"
    assert body["incomplete_details"] == {"reason": "max_output_tokens"}


def test_replayed_reasoning_reaches_the_template_only_when_configured(tmp_path, engine):
    import time

    from fastapi.testclient import TestClient

    from server.app import create_app
    from server.settings import Settings
    from tests.unit.doubles import scripted_factory

    engine.script = SCRIPT
    for replay in (False, True):
        settings = Settings(data_dir=tmp_path / str(replay), replay_reasoning=replay)
        with TestClient(create_app(settings, engine_factory=scripted_factory(engine))) as api:
            while api.get("/ready").status_code != 200:
                time.sleep(0.01)
            first = create(api, include=["reasoning.encrypted_content"]).json()
            turn = [
                {"role": "user", "content": "What is 347 * 29?"},
                first["output"][0],
                {"role": "assistant", "content": "The answer is 10063."},
                {"role": "user", "content": "And 2+2?"},
            ]
            engine.rendered.clear()
            assert create(api, input=turn).status_code == 200
            assistant = next(m for m in engine.rendered[-1] if m.role == "assistant")
            assert assistant.reasoning == (SCRIPT.split("\n</think>")[0] if replay else None)
