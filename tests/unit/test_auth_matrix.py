"""Who may use which trace route, for every caller and every REASONING_RAW_ACCESS policy:
open mode, an admin key, the trace's owner (a user key), another user key, no key."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.unit.doubles import ScriptedEngine, scripted_factory
from tests.vault_support import add_key, bearer

CHAT = "/v1/chat/completions"
TRACES = "/v1/reasoning/traces"
SECRET_REASONING = "hidden-step-1+1=2"
ROUTES = ("read", "list", "list_by_owner", "audit", "delete")

# Expected status per route and caller. A user's raw read depends on the policy; everything
# else does not. "other" is a user key that does not own the trace.
POLICY_INDEPENDENT = {
    "list": {"admin": 200, "owner": 200, "other": 200, "nokey": 401},
    "list_by_owner": {"admin": 200, "owner": 200, "other": 403, "nokey": 401},  # ?owner=<the trace's owner>
    "audit": {"admin": 200, "owner": 200, "other": 404, "nokey": 401},
    "delete": {"admin": 200, "owner": 200, "other": 404, "nokey": 401},
}
READ = {
    "admin": {"admin": 200, "owner": 403, "other": 403, "nokey": 401},
    "owner": {"admin": 200, "owner": 200, "other": 404, "nokey": 401},
    "none": {"admin": 403, "owner": 403, "other": 403, "nokey": 401},
}


def app_client(tmp_path, **settings) -> TestClient:
    engine = ScriptedEngine(script=f"{SECRET_REASONING}\n</think>\nThe answer is 2.")
    app = create_app(Settings(data_dir=tmp_path, keepalive_seconds=0.05, **settings), scripted_factory(engine))
    client = TestClient(app)
    client.__enter__()
    deadline = time.monotonic() + 5
    while client.get("/ready").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.01)
    return client


def ask(client: TestClient, headers: dict) -> str:
    body = {"model": "tiny-reasoner", "messages": [{"role": "user", "content": "What is 1+1?"}]}
    got = client.post(CHAT, json=body, headers=headers)
    assert got.status_code == 200, got.text
    assert SECRET_REASONING not in got.text
    return got.json()["reasoning"]["id"]


def call(client: TestClient, route: str, trace_id: str, headers: dict, owner_id: str):
    if route == "read":
        return client.get(f"{TRACES}/{trace_id}", headers=headers)
    if route == "list":
        return client.get(TRACES, headers=headers)
    if route == "list_by_owner":
        return client.get(TRACES, params={"owner": owner_id}, headers=headers)
    if route == "audit":
        return client.get(f"{TRACES}/{trace_id}/audit", headers=headers)
    return client.delete(f"{TRACES}/{trace_id}", headers=headers)


@pytest.mark.parametrize("policy", ["admin", "owner", "none"])
def test_the_matrix_for_each_raw_access_policy(tmp_path, policy):
    callers = {
        name: add_key(tmp_path, "admin" if name == "admin" else "user", name) for name in ("admin", "owner", "other")
    }
    headers = {name: bearer(secret) for name, (_, secret) in callers.items()} | {"nokey": {}}
    owner_id = callers["owner"][0].id
    expected = {"read": READ[policy], **POLICY_INDEPENDENT}
    client = app_client(tmp_path, raw_access=policy)
    try:
        got = {}
        for route in ROUTES:
            got[route] = {}
            for caller in ("other", "nokey", "owner", "admin"):  # destructive callers last
                trace_id = ask(client, headers["owner"])  # a fresh trace of the owner's for each call
                response = call(client, route, trace_id, headers[caller], owner_id)
                got[route][caller] = response.status_code
                body = response.text
                if not (route == "read" and response.status_code == 200):
                    assert SECRET_REASONING not in body  # raw reasoning appears on the raw route only
                if response.status_code >= 400:
                    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
        assert got == expected
    finally:
        client.__exit__(None, None, None)


def test_open_mode_closes_every_trace_route(tmp_path):
    client = app_client(tmp_path, raw_access="owner")
    try:
        trace_id = ask(client, {})
        for route in ROUTES:
            got = call(client, route, trace_id, {"authorization": "Bearer anything"}, "local")
            assert got.status_code == 403, route
            assert (
                got.json()["error"]["type"] == "permission_error"
                and "open local mode" in got.json()["error"]["message"]
            )
        assert ask(client, {"authorization": "Bearer whatever-the-sdk-sends"})  # open mode serves anyone
    finally:
        client.__exit__(None, None, None)


def test_listing_shows_metadata_only_and_a_user_only_its_own(tmp_path):
    (_, admin_secret), (alice, alice_secret), (_, bob_secret) = (
        add_key(tmp_path, "admin"), add_key(tmp_path, "user"), add_key(tmp_path, "user"),
    )  # fmt: skip
    client = app_client(tmp_path)
    try:
        mine = ask(client, bearer(alice_secret))
        ask(client, bearer(bob_secret))
        listed = client.get(TRACES, headers=bearer(alice_secret)).json()
        assert [t["id"] for t in listed["data"]] == [mine] and listed["has_more"] is False
        assert "chains" not in listed["data"][0] and listed["data"][0]["owner"] == alice.id
        every = client.get(TRACES, params={"limit": 1}, headers=bearer(admin_secret)).json()
        assert len(every["data"]) == 1 and every["has_more"] is True
        only_alice = client.get(TRACES, params={"owner": alice.id}, headers=bearer(admin_secret)).json()
        assert [t["id"] for t in only_alice["data"]] == [mine]
        assert client.get(TRACES, params={"limit": 0}, headers=bearer(admin_secret)).status_code == 400
    finally:
        client.__exit__(None, None, None)


def test_unknown_and_revoked_keys_are_401_on_every_route(tmp_path):
    key, secret = add_key(tmp_path, "user")
    _, other_secret = add_key(tmp_path, "user")
    client = app_client(tmp_path)
    try:
        ask(client, bearer(secret))
        for headers in ({}, {"authorization": "Bearer rsk_not-a-key"}, {"authorization": f"Basic {secret}"}):
            got = client.post(CHAT, json={"model": "tiny-reasoner", "messages": []}, headers=headers)
            assert got.status_code == 401 and got.json()["error"]["code"] == "invalid_api_key"
            assert client.get(TRACES, headers=headers).status_code == 401
        assert secret not in client.post(CHAT, json={}, headers={"authorization": "Bearer x"}).text
        revoke = subprocess.run(
            [sys.executable, "-m", "server.cli", "keys", "revoke", key.id, "--data-dir", str(tmp_path)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert f"revoked {key.id}" in revoke.stdout
        assert client.get(TRACES, headers=bearer(secret)).status_code == 401  # at once, in the running server
        assert client.get(TRACES, headers=bearer(other_secret)).status_code == 200  # other keys unaffected
    finally:
        client.__exit__(None, None, None)
