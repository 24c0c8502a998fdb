"""`reasoning-server keys` and `vault`, run as an operator would: as a separate process on
the settings the server uses (REASONING_DATA_DIR, or the store URL), beside a live store."""

from __future__ import annotations

import os
import subprocess
import sys

from reasoning.storage import open_store
from reasoning.types import Chain, Trace
from reasoning.vault.crypto import KeyFile
from tests.vault_support import ROOT, read_back


def cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_create_prints_the_secret_alone_on_the_last_line_and_stores_only_its_hash(tmp_path):
    made = cli("keys", "create", "--role", "admin", "--budget-usd", "2.5", "--period", "7d", "--name", "ops",
               REASONING_DATA_DIR=str(tmp_path))  # fmt: skip
    assert made.returncode == 0, made.stderr
    *info, secret = made.stdout.rstrip("\n").split("\n")
    assert secret.startswith("rsk_") and " " not in secret and secret not in "".join(info)
    key_id = info[0].split()[1].rstrip(":")
    assert "role admin, budget 2.5 USD per 7d" in info[0]
    assert secret.encode() not in (tmp_path / "reasoning.db").read_bytes()
    listed = cli("keys", "list", "--data-dir", str(tmp_path))
    assert key_id in listed.stdout and "2.5 USD per 7d" in listed.stdout and secret not in listed.stdout
    assert cli("keys", "revoke", key_id, "--data-dir", str(tmp_path)).returncode == 0
    assert "revoked" in cli("keys", "list", "--data-dir", str(tmp_path)).stdout
    again = cli("keys", "revoke", key_id, "--data-dir", str(tmp_path))
    assert again.returncode == 1 and "no active key" in again.stderr
    bad = cli("keys", "create", "--role", "user", "--budget-usd", "1", "--period", "soon", "--data-dir", str(tmp_path))
    assert bad.returncode == 2 and "not a duration" in bad.stderr


def test_keys_work_on_a_postgresql_store_url(postgres_server):
    url = postgres_server.fresh_store_url()
    made = cli("keys", "create", "--role", "user", "--store-url", url, REASONING_TRACE_KEYS="k1:" + "A" * 43 + "=")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.rstrip("\n").split("\n")[-1]
    listed = cli("keys", "list", REASONING_STORE_URL=url, REASONING_TRACE_KEYS="k1:" + "A" * 43 + "=")
    assert listed.returncode == 0 and "user" in listed.stdout and secret not in listed.stdout


async def test_vault_rotate_adds_a_key_and_rewraps_every_trace_while_a_store_is_open(tmp_path):
    keys = KeyFile(tmp_path / "trace-keys")
    store = await open_store(f"sqlite:///{tmp_path}/reasoning.db", keys.ring, retention_seconds=10**10)
    chain = Chain(0, "steps", "answer", 1, 2, "stop")
    for i in range(3):
        await store.traces.put(Trace(f"rs_{i}", "local", "m", "r", 1.0, 1, 2, 1, 0.1, 9, (chain,)))
    old = keys.ring().current
    rotated = cli("vault", "rotate", "--data-dir", str(tmp_path))
    assert rotated.returncode == 0, rotated.stderr
    new = keys.ring().current
    assert new != old and f"re-wrapped 3 traces under {new}" in rotated.stdout
    status = cli("vault", "status", "--data-dir", str(tmp_path)).stdout
    assert f"{new} (newest): 3 traces" in status and f"{old}: 0 traces" in status
    # The open store (a running server) reads the re-wrapped rows and seals new ones with the new key.
    assert (await read_back(store, "rs_0")).chains == (chain,)
    await store.traces.put(Trace("rs_new", "local", "m", "r", 1.0, 1, 2, 1, 0.1, 9, (chain,)))
    assert await store.traces.key_usage() == {new: 4}
    await store.close()
    fresh = cli("vault", "new-key")
    assert fresh.returncode == 0 and fresh.stdout.strip().split("\n")[-1].startswith("k")
