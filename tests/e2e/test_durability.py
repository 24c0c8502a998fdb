"""kill -9 under load on PostgreSQL, the store replicas share: every response that completed has
its trace committed and its cost settled before its final byte, so a restart on the same store
loses none of them; background responses queued or running at the kill end `failed` once their
lease lapses, none lost. (SQLite, WAL with full sync, gets the same kill in the soak, test_soak.py.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest

from devtools.server import ROOT, start_server, stop_server

pytestmark = pytest.mark.e2e
REQUESTS = 32
KILL_AFTER = 10  # completed responses before the kill; the rest are in flight or queued
QUESTIONS = ("What is 734 * 869?", "What is 347 * 29?", "What is 4821 + 77?", "what is 86 x 45")
BUDGET = Decimal("1")
BACKGROUND = 3
# Background responses that think far longer than the load takes to reach the kill.
LONG_THINKING = {"reasoning": {"min_tokens": 900, "max_tokens": 950}}
FINAL = {"completed", "incomplete", "failed", "cancelled"}
TRACE_KEYS = "k1:" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="  # 32 bytes, base64


def create_key(env: dict, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "server.cli", "keys", "create", *args],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    return out.rstrip("\n").split("\n")[-1]


def start_in_background(url: str, headers: dict) -> str:
    body = {"model": "tiny-reasoner", "input": "What is 734 * 869?", "background": True, **LONG_THINKING}
    created = httpx.post(f"{url}/v1/responses", json=body, headers=headers, timeout=60)
    assert created.status_code == 200, created.text
    return created.json()["id"]


class Load:
    """Concurrent chat requests, streamed and not, recording those that completed."""

    def __init__(self, url: str, secret: str) -> None:
        self.url, self.headers = url, {"authorization": f"Bearer {secret}"}
        self.completed: dict[str, Decimal] = {}  # trace id -> its exact cost
        self.lock = threading.Lock()

    def one(self, i: int) -> None:
        body = {
            "model": "tiny-reasoner",
            "messages": [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}],
            "reasoning_effort": "max",
            # thinking lengths spread out, so completions do too and the kill lands mid-load
            "reasoning": {"min_tokens": 25 * i},
            "stream": i % 2 == 1,
        }
        if i % 2:
            body["stream_options"] = {"include_usage": True}
        try:
            final = self._stream(body) if i % 2 else self._whole(body)
        except httpx.HTTPError:
            return  # cut off by the kill: not acknowledged, so nothing is owed
        if final is not None:
            usage = final["usage"]
            cost = (usage["prompt_tokens"] * Decimal("0.1") + usage["completion_tokens"] * Decimal("0.4")) / 10**6
            with self.lock:
                self.completed[final["reasoning"]["id"]] = cost

    def _whole(self, body: dict) -> dict | None:
        got = httpx.post(f"{self.url}/v1/chat/completions", json=body, headers=self.headers, timeout=300)
        return got.json() if got.status_code == 200 else None

    def _stream(self, body: dict) -> dict | None:
        """The trace id and usage of a stream that reached [DONE]."""
        final, done = {}, False
        with httpx.stream("POST", f"{self.url}/v1/chat/completions", json=body, headers=self.headers, timeout=300) as r:
            for line in r.iter_lines():
                if line == "data: [DONE]":
                    done = True
                elif line.startswith("data: {"):
                    chunk = json.loads(line.removeprefix("data: "))
                    final |= {k: chunk[k] for k in ("reasoning", "usage") if chunk.get(k)}
        return final if done else None


def test_kill_9_under_load_then_restart_loses_no_completed_trace_and_no_background_response(tmp_path, postgres_server):
    env = {
        "REASONING_DATA_DIR": str(tmp_path / "data"),
        "REASONING_RESERVATION_TTL_SECONDS": "2",
        "REASONING_BACKGROUND_LEASE_SECONDS": "6",
        "REASONING_STORE_URL": postgres_server.fresh_store_url(),
        "REASONING_TRACE_KEYS": TRACE_KEYS,
    }
    admin = create_key(env, "--role", "admin")
    user = create_key(env, "--role", "user", "--budget-usd", str(BUDGET))
    server = start_server(tmp_path, **env)
    load = Load(server.url, user)
    background = [start_in_background(server.url, load.headers) for _ in range(BACKGROUND)]
    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        futures = [pool.submit(load.one, i) for i in range(REQUESTS)]
        deadline = time.monotonic() + 240
        while len(load.completed) < KILL_AFTER and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=30)
        for future in futures:
            future.result()
    completed = dict(load.completed)
    assert KILL_AFTER <= len(completed) < REQUESTS  # killed under load, with requests in flight

    restarted = start_server(tmp_path, **env)
    try:
        with httpx.Client(
            base_url=restarted.url, headers={"authorization": f"Bearer {admin}"}, timeout=60
        ) as admin_http:
            for trace_id in completed:
                got = admin_http.get(f"/v1/reasoning/traces/{trace_id}")
                assert got.status_code == 200, (trace_id, got.text)
                assert got.json()["chains"] and got.json()["chains"][0]["reasoning"]  # decrypts
        # Every completed request was settled before its last byte; reservations of the
        # killed ones have lapsed (time to live 2 s), so the remainder shows settled spend.
        remaining = httpx.get(f"{restarted.url}/v1/reasoning/traces", headers=load.headers).headers
        spent = BUDGET - Decimal(remaining["x-reasoning-budget-remaining-usd"])
        assert sum(completed.values()) <= spent <= BUDGET

        def statuses() -> list[str]:
            return [
                httpx.get(f"{restarted.api}/responses/{i}", headers=load.headers, timeout=30).json()["status"]
                for i in background
            ]

        deadline = time.monotonic() + 60  # the lease (6 s) lapses, the runner fails what it held
        while not set(statuses()) <= FINAL and time.monotonic() < deadline:
            time.sleep(0.2)
        assert statuses() == ["failed"] * BACKGROUND  # unfinished at the kill, and none lost
    finally:
        stop_server(restarted)
