"""Conversations on the Responses API with a scripted engine: previous_response_id, which
earlier reasoning the template gets, who may continue, read, list or delete a response."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests import vault_support
from tests.unit.doubles import ScriptedEngine, scripted_factory

RESPONSES = "/v1/responses"
TURNS = [
    ("What is 347 * 29?", "347*29=10063", "The answer is 10063."),
    ("What is 4821 + 77?", "4821+77=4898", "The answer is 4898."),
    ("What is 12 - 5?", "12-5=7", "The answer is 7."),
]


@pytest.fixture
def engine():
    return ScriptedEngine(scripts=[f"{reasoning}\n</think>\n{answer}" for _, reasoning, answer in TURNS])


def client_for(tmp_path, engine, **settings) -> TestClient:
    app = create_app(Settings(data_dir=tmp_path, keepalive_seconds=0.05, **settings), scripted_factory(engine))
    client = TestClient(app)
    client.__enter__()
    deadline = time.monotonic() + 5
    while client.get("/ready").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.01)
    return client


def converse(api, headers=None, **extra) -> list[dict]:
    """The three turns, each continuing the one before."""
    bodies, previous = [], None
    for question, _, _ in TURNS:
        body = {"model": "tiny-reasoner", "input": question, "reasoning": {"effort": "high"}, **extra}
        if previous is not None:
            body["previous_response_id"] = previous
        got = api.post(RESPONSES, json=body, headers=headers or {})
        assert got.status_code == 200, got.text
        bodies.append(got.json())
        previous = bodies[-1]["id"]
    return bodies


def continuing(response_id: str) -> dict:
    return {"model": "tiny-reasoner", "input": "And 2+2?", "previous_response_id": response_id}


def test_each_turn_builds_on_the_last_and_pays_for_its_context(api, engine):
    bodies = converse(api)
    assert [b["output"][1]["content"][0]["text"] for b in bodies] == [answer for *_, answer in TURNS]
    last = engine.rendered[-1]
    assert [(m.role, m.content) for m in last] == [
        ("user", TURNS[0][0]), ("assistant", TURNS[0][2]),
        ("user", TURNS[1][0]), ("assistant", TURNS[1][2]), ("user", TURNS[2][0]),
    ]  # fmt: skip
    assert all(m.reasoning is None for m in last)  # current_turn: earlier turns' reasoning is dropped
    audit_log = api.app.state.services.store.traces.audit_log
    assert api.portal.call(audit_log, bodies[0]["output"][0]["id"]) == []  # so none was read
    inputs = [b["usage"]["input_tokens"] for b in bodies]
    assert inputs[0] < inputs[1] < inputs[2]
    assert inputs[2] > inputs[0] + len(TURNS[0][2]) + len(TURNS[1][0])  # the whole context is counted


def test_all_turns_hands_earlier_reasoning_to_the_template_as_an_audited_system_read(api, engine):
    bodies = converse(api, reasoning={"effort": "high", "context": "all_turns"})
    assistants = [m for m in engine.rendered[-1] if m.role == "assistant"]
    assert [m.reasoning for m in assistants] == [TURNS[0][1], TURNS[1][1]]
    first_trace = bodies[0]["output"][0]["id"]
    records = api.portal.call(api.app.state.services.store.traces.audit_log, first_trace)
    read = ("read", "system", "system", "local")
    assert [(r.action, r.actor, r.role, r.trace_owner) for r in records] == [read, read]  # by turns 2 and 3
    for body in bodies:
        assert TURNS[0][1] not in str(body)


def test_store_false_and_unknown_responses_cannot_be_continued(api, engine):
    unkept = api.post(RESPONSES, json={"model": "tiny-reasoner", "input": "What is 1+1?", "store": False}).json()
    refused = api.post(RESPONSES, json=continuing(unkept["id"]))
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "previous_response_id"
    assert "pass its output items in input" in refused.json()["error"]["message"]
    unknown = api.post(RESPONSES, json=continuing("resp_nothing"))
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "response_not_found"
    assert api.get(f"{RESPONSES}/{unkept['id']}").status_code == 404
    assert api.get(f"{RESPONSES}/{unkept['id']}/input_items").status_code == 404
    assert len(engine.calls) == 1


def test_input_items_lists_the_whole_context_newest_first(api, engine):
    bodies = converse(api)
    listed = api.get(f"{RESPONSES}/{bodies[2]['id']}/input_items").json()
    texts = [item["content"][0]["text"] for item in listed["data"] if item["type"] == "message"]
    assert texts == [TURNS[2][0], TURNS[1][2], TURNS[1][0], TURNS[0][2], TURNS[0][0]]
    assert listed["object"] == "list" and listed["has_more"] is False
    assert [item["type"] for item in listed["data"]].count("reasoning") == 2
    first = api.get(f"{RESPONSES}/{bodies[2]['id']}/input_items", params={"order": "asc", "limit": 2}).json()
    assert first["has_more"] is True and first["data"][0]["role"] == "user" and first["data"][1]["type"] == "reasoning"
    rest = api.get(
        f"{RESPONSES}/{bodies[2]['id']}/input_items", params={"order": "asc", "after": first["last_id"]}
    ).json()
    assert len(first["data"]) + len(rest["data"]) == len(listed["data"])
    assert api.get(f"{RESPONSES}/{bodies[2]['id']}/input_items", params={"after": "msg_x"}).status_code == 400
    assert api.get(f"{RESPONSES}/{bodies[2]['id']}/input_items", params={"limit": 0}).status_code == 400


def test_delete_removes_the_response_and_its_trace(api, engine, tmp_path):
    body = converse(api)[0]
    trace_id = body["output"][0]["id"]
    got = api.delete(f"{RESPONSES}/{body['id']}")
    assert got.status_code == 200 and got.json() == {"id": body["id"], "object": "response", "deleted": True}
    assert vault_support.trace_row(tmp_path, trace_id) is None
    assert api.get(f"{RESPONSES}/{body['id']}").status_code == 404
    assert api.delete(f"{RESPONSES}/{body['id']}").status_code == 404


def test_another_key_gets_404_on_every_route_and_an_admin_may_delete(tmp_path, engine):
    _, alice = vault_support.add_key(tmp_path, "user", "alice")
    _, bob = vault_support.add_key(tmp_path, "user", "bob")
    _, admin = vault_support.add_key(tmp_path, "admin", "ops")
    api = client_for(tmp_path, engine)
    try:
        response_id = converse(api, vault_support.bearer(alice))[0]["id"]
        as_bob = vault_support.bearer(bob)
        assert api.post(RESPONSES, json=continuing(response_id), headers=as_bob).status_code == 404
        assert api.get(f"{RESPONSES}/{response_id}", headers=as_bob).status_code == 404
        assert api.get(f"{RESPONSES}/{response_id}/input_items", headers=as_bob).status_code == 404
        assert api.delete(f"{RESPONSES}/{response_id}", headers=as_bob).status_code == 404
        assert api.post(f"{RESPONSES}/{response_id}/cancel", headers=as_bob).status_code == 404
        assert api.get(f"{RESPONSES}/{response_id}", headers=vault_support.bearer(alice)).status_code == 200
        assert api.delete(f"{RESPONSES}/{response_id}", headers=vault_support.bearer(admin)).status_code == 200
        assert api.get(f"{RESPONSES}/{response_id}", headers=vault_support.bearer(alice)).status_code == 404
    finally:
        api.__exit__(None, None, None)


def test_stored_responses_expire_with_the_traces(tmp_path, engine):
    api = client_for(tmp_path, engine, trace_retention="1")
    try:
        body = api.post(RESPONSES, json={"model": "tiny-reasoner", "input": "What is 1+1?"}).json()
        assert api.get(f"{RESPONSES}/{body['id']}").status_code == 200
        time.sleep(1.1)
        assert api.get(f"{RESPONSES}/{body['id']}").status_code == 404
        assert api.post(RESPONSES, json=continuing(body["id"])).status_code == 404
    finally:
        api.__exit__(None, None, None)
