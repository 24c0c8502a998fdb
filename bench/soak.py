"""A fault soak: mixed traffic at the real server, a kill -9 halfway, a restart on the same
store, more traffic, then the books checked.

    python -m bench.soak [--minutes 10] [--concurrency 6] [--seed 7]

Traffic, from `concurrency` clients at once, each request drawn at random: chat and responses,
streamed and not, greedy and searching (self-consistency), budgets in dollars, streams whose
client leaves after the first bytes, hostile bodies (bad JSON, lone surrogates, 65-bit seeds,
wrong types), and a key whose budget runs out. Halfway the server's process group gets SIGKILL
and a new server starts on the same data directory. At the end it checks, prints, and exits 1
when any fails:

    5xx outside the kill window      answers of 500 and up, or connections that failed, while
                                     no kill was under way: must be 0
    traces of completed responses    every response answered in full has its trace stored
    ledger balanced                  each budgeted key's charges in the ledger equal what its
                                     completed responses said they cost, but for requests cut
                                     by the kill (charged or not, the client never heard)
    reservations held                none, once lapsed ones (the kill's) have been swept
    engine requests running          vllm:num_requests_running back to 0
    memory growth                    the server process's resident memory, warm vs at the end
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devtools import vault
from devtools.server import ROOT, Server, metric, start_server, stop_server
from reasoning.pricing import Money
from server.settings import Settings

MODEL = "tiny-reasoner"
PRICE = Settings().price_table().for_model(MODEL)
QUESTIONS = ("What is 347 * 29?", "What is 4821 + 77?", "What is 608 times 7?", "What is 86 * 45?")
HOSTILE = (
    b"{not json",
    b'{"model": "tiny-reasoner", "messages": [{"role": "user", "content": "hi \\ud800"}]}',
    b'{"model": "tiny-reasoner", "messages": [{"role": "user", "content": "hi"}], "seed": 36893488147419103232}',
    b'{"model": "tiny-reasoner", "messages": "What is 1+1?"}',
    b'{"model": "tiny-reasoner", "messages": [], "n": 100000}',
    b'{"model": "tiny-reasoner", "messages": [{"role": "user", "content": "x"}], "reasoning": {"budget_usd": -1}}',
)
# Short: the kill leaves reservations behind, and the sweep must drop them before the end.
SERVER_ENV = {"REASONING_RESERVATION_TTL_SECONDS": "10", "REASONING_MAINTENANCE_INTERVAL_SECONDS": "3"}


@dataclass
class Record:
    action: str
    key: str
    started: float
    ended: float = 0.0
    status: int | None = None  # None: the connection failed
    charged_nanos: int = 0  # what a completed response said it cost
    trace_id: str | None = None
    completed: bool = False


@dataclass
class Soak:
    data: Path
    keys: dict[str, str]  # name -> secret
    key_ids: dict[str, str]
    records: list[Record] = field(default_factory=list)
    kill_window: tuple[float, float] = (0.0, 0.0)
    memory: list[tuple[int, int]] = field(default_factory=list)  # per server process: (warm, end) kB


def keys_cli(data_dir: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "keys", *args], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "REASONING_DATA_DIR": str(data_dir)}, timeout=120, check=True,
    )  # fmt: skip
    return done.stdout


def make_keys(data_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    made = {
        "rich": ("--role", "user", "--budget-usd", "5"),
        "poor": ("--role", "user", "--budget-usd", "0.0002"),  # a handful of requests
        "plain": ("--role", "user"),
    }
    secrets, ids = {}, {}
    for name, args in made.items():
        out = keys_cli(data_dir, "create", *args, "--name", name).rstrip("\n").split("\n")
        secrets[name], ids[name] = out[-1], out[0].split()[1].rstrip(":")
    return secrets, ids


def resident_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def chat(question: str, rng: random.Random, **extra) -> dict:
    body = {"model": MODEL, "messages": [{"role": "user", "content": question}], **extra}
    body["reasoning"] = {"budget_usd": rng.choice([0.00003, 0.0001, 0.001]), **extra.get("reasoning", {})}
    return body


async def one(client: httpx.AsyncClient, soak: Soak, rng: random.Random) -> None:
    action = rng.choices(
        ["chat", "chat_stream", "responses", "search", "leave", "hostile", "poor"], [4, 3, 3, 1, 2, 2, 1]
    )[0]
    key = {"leave": "plain", "poor": "poor"}.get(action, "rich")
    headers = {"authorization": f"Bearer {soak.keys[key]}"}
    record = Record(action, key, time.monotonic())
    question = rng.choice(QUESTIONS)
    try:
        if action in ("chat", "poor", "search"):
            extra = {"reasoning": {"strategy": "self_consistency", "samples": 3}, "temperature": 0.8}
            body = chat(question, rng, **(extra if action == "search" else {}))
            reply = await client.post("/v1/chat/completions", json=body, headers=headers)
            record.status = reply.status_code
            if reply.status_code == 200:
                data = reply.json()
                _complete(record, data["usage"]["prompt_tokens"], data["usage"]["completion_tokens"])
                record.trace_id = data["reasoning"]["id"]
        elif action == "responses":
            body = {"model": MODEL, "input": question, "reasoning": {"budget_usd": 0.001}}
            reply = await client.post("/v1/responses", json=body, headers=headers)
            record.status = reply.status_code
            if reply.status_code == 200:
                data = reply.json()
                _complete(record, data["usage"]["input_tokens"], data["usage"]["output_tokens"])
                record.trace_id = data["output"][0]["id"]
        elif action in ("chat_stream", "leave"):
            body = chat(question, rng, stream=True, stream_options={"include_usage": True})
            async with client.stream("POST", "/v1/chat/completions", json=body, headers=headers) as reply:
                record.status = reply.status_code
                async for line in reply.aiter_lines():
                    if action == "leave":
                        break  # the client leaves after the first bytes: the server must abort it
                    if line.startswith("data: {") and '"usage"' in line and (usage := json.loads(line[6:])["usage"]):
                        _complete(record, usage["prompt_tokens"], usage["completion_tokens"])
                        record.trace_id = json.loads(line[6:]).get("reasoning", {}).get("id")
        else:
            raw = rng.choice(HOSTILE)
            reply = await client.post("/v1/chat/completions", content=raw, headers=headers)
            record.status = reply.status_code
    except httpx.HTTPError:
        record.status = None
    record.ended = time.monotonic()
    soak.records.append(record)


def _complete(record: Record, prompt_tokens: int, completion_tokens: int) -> None:
    record.completed = True
    record.charged_nanos = PRICE.cost(prompt_tokens, completion_tokens).nanos


async def traffic(url: str, soak: Soak, until: float, concurrency: int, rng: random.Random) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(120, connect=5)) as client:

        async def worker(seed: int) -> None:
            own = random.Random(seed)
            while time.monotonic() < until:
                await one(client, soak, own)

        await asyncio.gather(*(worker(rng.randrange(1 << 30)) for _ in range(concurrency)))


def drive(server: Server, soak: Soak, seconds: float, concurrency: int, rng: random.Random, kill: bool) -> None:
    """Traffic at `server` for `seconds`, its memory sampled once warm and at the end; then, if
    `kill`, SIGKILL to its whole process group while requests are in flight."""

    async def run() -> None:
        stop = time.monotonic() + seconds
        clients = asyncio.create_task(traffic(server.url, soak, stop, concurrency, rng))
        await asyncio.sleep(min(10, seconds / 4))
        warm = resident_kb(server.process.pid)
        await asyncio.sleep(max(0, stop - time.monotonic()))
        soak.memory.append((warm, resident_kb(server.process.pid)))
        if kill:
            soak.kill_window = (time.monotonic(), float("inf"))
            os.killpg(server.process.pid, signal.SIGKILL)
        await clients

    asyncio.run(run())


def check(soak: Soak, url: str) -> list[tuple[str, bool, str]]:
    killed, ready = soak.kill_window
    failed = [r for r in soak.records if r.status is None or r.status >= 500]
    outside = [r for r in failed if not (r.ended >= killed and r.started <= ready)]
    completed = [r for r in soak.records if r.completed]
    missing = [r for r in completed if r.trace_id and vault.trace_row(soak.data, r.trace_id) is None]
    cut = [r for r in soak.records if r.started <= killed <= r.ended and not r.completed]
    with sqlite3.connect(soak.data / "reasoning.db") as db:
        spend = dict(db.execute("SELECT key_id, SUM(spent_nanos) FROM spend GROUP BY key_id").fetchall())
    held = held_reservations(soak.data)
    ledger_lines, balanced = [], True
    for name in ("rich", "poor"):
        acknowledged = sum(r.charged_nanos for r in completed if r.key == name)
        booked = spend.get(soak.key_ids[name], 0)
        # A request the kill cut may have been charged in the instant before it: at most its budget.
        slack = sum(Money.at_least(0.001).nanos for r in cut if r.key == name)
        balanced &= acknowledged <= booked <= acknowledged + slack
        ledger_lines.append(f"{name}: booked {Money(booked)} USD, acknowledged {Money(acknowledged)} USD")
    running = metric(url, "vllm:num_requests_running")
    growth = ", ".join(f"{(end - warm) / 1024:+.1f} MiB (warm {warm / 1024:.0f} MiB)" for warm, end in soak.memory)
    return [
        ("5xx or failed connections outside the kill window", not outside, f"{len(outside)}"),
        (
            "completed responses with their trace stored",
            not missing,
            f"{len(completed) - len(missing)}/{len(completed)}",
        ),
        ("ledger balanced per budgeted key", balanced, "; ".join(ledger_lines)),
        ("reservations still held", held == 0, str(held)),
        ("engine requests running at the end", running == 0, f"{running:.0f}"),
        ("server memory growth, per process", True, growth),
    ]


def held_reservations(data: Path) -> int:
    with closing(sqlite3.connect(data / "reasoning.db")) as db:  # polled: each connection closed
        return db.execute("SELECT COUNT(*) FROM reservations").fetchone()[0]


def soak(minutes: float, concurrency: int = 6, seed: int = 7) -> tuple[bool, str]:
    """Run the soak; (every check passed, the printed report)."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="soak-") as where:
        tmp = Path(where)
        secrets, ids = make_keys(tmp / "data")
        state = Soak(tmp / "data", secrets, ids)
        half = minutes * 30
        first = start_server(tmp, **SERVER_ENV)
        try:
            drive(first, state, half, concurrency, rng, kill=True)
        finally:
            stop_server(first)
        second = start_server(tmp, **SERVER_ENV)  # the same data directory, and store
        try:
            state.kill_window = (state.kill_window[0], time.monotonic())
            drive(second, state, half, concurrency, rng, kill=False)
            sweep_deadline = time.monotonic() + 20  # lapsed reservations (the kill's) are swept
            while held_reservations(state.data) and time.monotonic() < sweep_deadline:
                time.sleep(0.5)
            results = check(state, second.url)
        finally:
            stop_server(second)
    counts = Counter((r.action, r.status) for r in state.records)
    lines = [f"{len(state.records)} requests in {minutes:g} minutes, {concurrency} at a time; kill -9 at half time"]
    lines += [f"  {action:<12} {status}: {n}" for (action, status), n in sorted(counts.items(), key=str)]
    lines += [f"{'ok  ' if ok else 'FAIL'} {name}: {detail}" for name, ok, detail in results]
    return all(ok for _, ok, _ in results), "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    ok, report = soak(args.minutes, args.concurrency, args.seed)
    print(report)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
