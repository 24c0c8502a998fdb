"""Raw reads over HTTP: audited before any data leaves, listed to the owner, counted by role;
failures are errors without data; deletion and retention remove traces for good."""

from __future__ import annotations

import sqlite3
import time

from tests.unit.test_auth_matrix import SECRET_REASONING, TRACES, app_client, ask
from tests.vault_support import add_key, bearer


def metric(client, name: str, **labels: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def keys(tmp_path):
    return add_key(tmp_path, "admin", "ops"), add_key(tmp_path, "user", "alice")


def test_the_owner_sees_an_admins_read_of_its_trace(tmp_path):
    (admin, admin_secret), (alice, alice_secret) = keys(tmp_path)
    client = app_client(tmp_path)
    try:
        trace_id = ask(client, bearer(alice_secret))
        headers = {**bearer(admin_secret), "x-reasoning-access-reason": "ticket 7", "x-request-id": "req-audit-1"}
        got = client.get(f"{TRACES}/{trace_id}", headers=headers)
        assert got.status_code == 200
        raw = got.json()
        assert raw["chains"][0]["reasoning"] == SECRET_REASONING and raw["chains"][0]["answer"] == "The answer is 2."
        assert raw["owner"] == alice.id and raw["usage"]["reasoning_tokens"] == len(SECRET_REASONING)
        assert raw["cost_usd"] > 0 and raw["expires_at"] == raw["created_at"] + 30 * 86_400
        [record] = client.get(f"{TRACES}/{trace_id}/audit", headers=bearer(alice_secret)).json()["data"]
        assert record["actor"] == admin.id and record["role"] == "admin" and record["action"] == "read"
        assert record["reason"] == "ticket 7" and record["request_id"] == "req-audit-1"
        assert metric(client, "reasoning_trace_reads_total", role="admin") == 1
        assert metric(client, "reasoning_trace_reads_total", role="user") == 0
    finally:
        client.__exit__(None, None, None)


def test_reads_are_counted_by_role(tmp_path):
    (_, admin_secret), (_, alice_secret) = keys(tmp_path)
    client = app_client(tmp_path, raw_access="owner")
    try:
        trace_id = ask(client, bearer(alice_secret))
        for secret in (alice_secret, alice_secret, admin_secret):
            assert client.get(f"{TRACES}/{trace_id}", headers=bearer(secret)).status_code == 200
        assert metric(client, "reasoning_trace_reads_total", role="user") == 2
        assert metric(client, "reasoning_trace_reads_total", role="admin") == 1
        assert len(client.get(f"{TRACES}/{trace_id}/audit", headers=bearer(alice_secret)).json()["data"]) == 3
    finally:
        client.__exit__(None, None, None)


def test_no_audit_record_no_data(tmp_path):
    (_, admin_secret), (_, alice_secret) = keys(tmp_path)
    client = app_client(tmp_path)
    try:
        trace_id = ask(client, bearer(alice_secret))
        with sqlite3.connect(tmp_path / "reasoning.db") as db:
            db.execute("DROP TABLE trace_audit")  # the audit log cannot be written
        got = client.get(f"{TRACES}/{trace_id}", headers=bearer(admin_secret))
        assert got.status_code == 500 and got.json()["error"]["code"] == "store_error"
        assert SECRET_REASONING not in got.text
        assert metric(client, "reasoning_trace_reads_total", role="admin") == 0
        assert metric(client, "reasoning_trace_store_errors_total", operation="read") == 1
    finally:
        client.__exit__(None, None, None)


def test_a_tampered_row_is_an_error_and_its_read_attempt_is_on_record(tmp_path):
    (_, admin_secret), (_, alice_secret) = keys(tmp_path)
    client = app_client(tmp_path)
    try:
        trace_id = ask(client, bearer(alice_secret))
        with sqlite3.connect(tmp_path / "reasoning.db") as db:
            sealed = bytearray(db.execute("SELECT chains FROM traces WHERE id = ?", (trace_id,)).fetchone()[0])
            sealed[-20] ^= 0x40
            db.execute("UPDATE traces SET chains = ? WHERE id = ?", (bytes(sealed), trace_id))
        got = client.get(f"{TRACES}/{trace_id}", headers=bearer(admin_secret))
        assert got.status_code == 500 and got.json()["error"]["code"] == "trace_unreadable"
        assert SECRET_REASONING not in got.text
        audit = client.get(f"{TRACES}/{trace_id}/audit", headers=bearer(alice_secret)).json()["data"]
        assert [r["action"] for r in audit] == ["read"]  # written before the decryption failed
        assert metric(client, "reasoning_trace_store_errors_total", operation="read") == 1
    finally:
        client.__exit__(None, None, None)


def test_an_owner_deletes_its_trace_for_good(tmp_path):
    (_, admin_secret), (alice, alice_secret) = keys(tmp_path)
    client = app_client(tmp_path)
    try:
        trace_id = ask(client, bearer(alice_secret))
        got = client.delete(f"{TRACES}/{trace_id}", headers=bearer(alice_secret))
        assert got.json() == {"id": trace_id, "object": "reasoning.trace.deleted", "deleted": True}
        assert client.get(f"{TRACES}/{trace_id}", headers=bearer(admin_secret)).status_code == 404
        assert client.delete(f"{TRACES}/{trace_id}", headers=bearer(alice_secret)).status_code == 404
        with sqlite3.connect(tmp_path / "reasoning.db") as db:
            assert db.execute("SELECT COUNT(*) FROM traces").fetchone() == (0,)
            assert db.execute("SELECT COUNT(*) FROM trace_keys").fetchone() == (0,)
        [record] = client.get(f"{TRACES}/{trace_id}/audit", headers=bearer(alice_secret)).json()["data"]
        assert (record["action"], record["actor"]) == ("delete", alice.id)
    finally:
        client.__exit__(None, None, None)


def test_expired_traces_are_purged_in_the_background(tmp_path):
    (_, admin_secret), (_, alice_secret) = keys(tmp_path)
    client = app_client(tmp_path, trace_retention="1s", maintenance_interval_seconds=0.1)
    try:
        trace_id = ask(client, bearer(alice_secret))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with sqlite3.connect(tmp_path / "reasoning.db") as db:
                if db.execute("SELECT COUNT(*) FROM traces").fetchone() == (0,):
                    break
            time.sleep(0.1)
        with sqlite3.connect(tmp_path / "reasoning.db") as db:
            assert db.execute("SELECT COUNT(*) FROM traces").fetchone() == (0,)
            assert db.execute("SELECT COUNT(*) FROM trace_keys").fetchone() == (0,)
        assert client.get(f"{TRACES}/{trace_id}", headers=bearer(admin_secret)).status_code == 404
    finally:
        client.__exit__(None, None, None)
