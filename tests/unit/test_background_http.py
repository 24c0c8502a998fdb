"""Background responses with a scripted engine: queued at once, final in the store, cancel,
the bound on how many run, and responses whose runner died."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests import vault_support
from tests.unit.doubles import ScriptedEngine, scripted_factory

RESPONSES = "/v1/responses"
LONG = "thinking " * 200 + "\n</think>\nThe answer is 4."


def client_for(tmp_path, engine, **settings) -> TestClient:
    app = create_app(Settings(data_dir=tmp_path, keepalive_seconds=0.05, **settings), scripted_factory(engine))
    client = TestClient(app)
    client.__enter__()
    deadline = time.monotonic() + 5
    while client.get("/ready").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.01)
    return client


@pytest.fixture
def slow_api(tmp_path):
    engine = ScriptedEngine(script=LONG, delay=0.005)
    api = client_for(tmp_path, engine, max_background=1)
    yield api, engine
    api.__exit__(None, None, None)


def start_body(**extra) -> dict:
    body = {"model": "tiny-reasoner", "input": "What is 2+2?", "background": True, "reasoning": {"effort": "high"}}
    return {**body, **extra}


def start(api, **extra):
    return api.post(RESPONSES, json=start_body(**extra))


def until(api, response_id: str, statuses: tuple[str, ...], seconds: float = 10, headers=None) -> dict:
    deadline = time.monotonic() + seconds
    while (body := api.get(f"{RESPONSES}/{response_id}", headers=headers).json())["status"] not in statuses:
        assert time.monotonic() < deadline, body["status"]
        time.sleep(0.02)
    return body


def test_a_background_response_is_queued_at_once_and_completes_in_the_store(api, engine):
    got = start(api)
    assert got.status_code == 200 and got.json()["status"] == "queued" and got.json()["background"] is True
    done = until(api, got.json()["id"], ("completed",))
    assert done["output"][1]["content"][0]["text"] == "The answer is 2." and done["usage"]["output_tokens"] > 0
    metrics = api.get("/metrics").text
    assert 'reasoning_background_finished_total{status="completed"} 1.0' in metrics


def test_cancel_stops_the_engine_work_and_leaves_it_cancelled(slow_api):
    api, engine = slow_api
    response_id = start(api).json()["id"]
    until(api, response_id, ("in_progress",))
    while not engine.calls:
        time.sleep(0.01)
    cancelled = api.post(f"{RESPONSES}/{response_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert engine.running == 0 and engine.aborted
    assert api.get(f"{RESPONSES}/{response_id}").json()["status"] == "cancelled"
    assert api.post(f"{RESPONSES}/{response_id}/cancel").json()["status"] == "cancelled"  # final stays final


def test_a_cancelled_response_is_charged_what_it_generated_and_no_more(tmp_path):
    key, secret = vault_support.add_key(tmp_path, "user", "alice", budget_usd=1.0)
    engine = ScriptedEngine(script=LONG, delay=0.005)
    api = client_for(tmp_path, engine)
    try:
        started = api.post(RESPONSES, json=start_body(), headers=vault_support.bearer(secret))
        reserved = 1.0 - float(started.headers["x-reasoning-budget-remaining-usd"])
        until(api, started.json()["id"], ("in_progress",), headers=vault_support.bearer(secret))
        time.sleep(0.3)  # some of the long thinking is generated
        api.post(f"{RESPONSES}/{started.json()['id']}/cancel", headers=vault_support.bearer(secret))
        standing = api.portal.call(api.app.state.services.store.ledger.standing, key)
        assert standing.held_nanos == 0  # the reservation is gone
        assert 0 < standing.spent_nanos / 1e9 < reserved  # the tokens generated, not the worst case
    finally:
        api.__exit__(None, None, None)


def test_deleting_a_running_response_stops_its_work(slow_api):
    api, engine = slow_api
    response_id = start(api).json()["id"]
    until(api, response_id, ("in_progress",))
    assert api.delete(f"{RESPONSES}/{response_id}").status_code == 200
    assert engine.running == 0
    assert api.get(f"{RESPONSES}/{response_id}").status_code == 404


def test_past_the_bound_background_work_gets_429_with_retry_after(slow_api):
    api, _ = slow_api
    first = start(api).json()["id"]
    refused = start(api)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "too_many_background_responses"
    api.post(f"{RESPONSES}/{first}/cancel")
    assert start(api).status_code == 200


def test_a_response_whose_runner_died_is_marked_failed(tmp_path):
    api = client_for(tmp_path, ScriptedEngine(), background_lease_seconds=0.3)
    try:
        responses = api.app.state.services.store.responses
        orphan = {"id": "resp_orphan", "object": "response", "status": "in_progress", "background": True}
        # as a replica that was killed left it: unfinished, its lease about to lapse
        assert api.portal.call(responses.put_background, "resp_orphan", "local", orphan, [], 0.01, 10)
        failed = until(api, "resp_orphan", ("failed",), seconds=5)
        assert failed["error"]["code"] == "server_error"
    finally:
        api.__exit__(None, None, None)


def test_background_needs_store_and_only_background_ones_are_cancelled_or_streamed_again(api, engine):
    assert start(api, store=False).json()["error"]["param"] == "background"
    assert engine.calls == []
    plain = api.post(RESPONSES, json={"model": "tiny-reasoner", "input": "What is 2+2?"}).json()
    assert api.post(f"{RESPONSES}/{plain['id']}/cancel").status_code == 400
    assert api.get(f"{RESPONSES}/{plain['id']}", params={"stream": "true"}).status_code == 400


def data_events(lines) -> list[dict]:
    return [json.loads(line[6:]) for line in lines if line.startswith("data: ")]


def test_a_dropped_background_stream_resumes_after_starting_after_exactly_once(tmp_path):
    api = client_for(tmp_path, ScriptedEngine(script="1+1=2\n</think>\nThe answer is 2.", delay=0.01))
    try:
        seen = []
        with api.stream("POST", RESPONSES, json=start_body(stream=True)) as first:
            for line in first.iter_lines():
                seen += data_events([line])
                if len(seen) == 4:
                    break  # the client drops; the work runs on
        response_id = seen[0]["response"]["id"]
        resumed = api.get(f"{RESPONSES}/{response_id}", params={"stream": "true", "starting_after": 3})
        rest = data_events(resumed.text.splitlines())
        joined = seen + rest
        assert [e["sequence_number"] for e in joined] == list(range(len(joined)))
        assert joined[-1]["type"] == "response.completed"
        assert "".join(e["delta"] for e in joined if e["type"] == "response.output_text.delta") == "The answer is 2."
        assert api.get(f"{RESPONSES}/{response_id}").json()["status"] == "completed"
    finally:
        api.__exit__(None, None, None)


def test_a_key_over_budget_gets_429_for_background_work_too(tmp_path):
    _, secret = vault_support.add_key(tmp_path, "user", "poor", budget_usd=0.000001)
    api = client_for(tmp_path, ScriptedEngine())
    try:
        body = {"model": "tiny-reasoner", "input": "What is 2+2?", "background": True}
        refused = api.post(RESPONSES, json=body, headers=vault_support.bearer(secret))
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "insufficient_quota"
    finally:
        api.__exit__(None, None, None)
