"""Load benchmark: reasoning-server against `vllm serve` on the same model, same machine, same run.

    python -m bench.load [--requests 64] [--concurrency 32] [--model models/tiny-reasoner]

Starts each server in turn on a free 127.0.0.1 port (never both at once), waits for it to
be ready (timing the engine start), sends the same streaming chat completions (hard
arithmetic, greedy, thinking included in the tokens generated), and reports requests/s,
generated tokens/s and time to first streamed byte. Ours hides the reasoning and streams
keep-alives; the peer streams everything. The ratio ours/peer is the number to read: these
machines are shared and noisy, absolute numbers are not comparable across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import servers
from training.data import question, sample_problem


@dataclass
class Run:
    name: str
    start_seconds: float
    requests: int
    seconds: float
    completion_tokens: int
    first_byte: list[float]

    def row(self) -> dict:
        ordered = sorted(self.first_byte)
        return {
            "server": self.name,
            "engine start s": round(self.start_seconds, 1),
            "requests/s": round(self.requests / self.seconds, 2),
            "tokens/s": round(self.completion_tokens / self.seconds, 1),
            "p50 first byte s": round(ordered[len(ordered) // 2], 3),
        }


async def one(client: httpx.AsyncClient, prompt: str, max_tokens: int, firsts: list[float]) -> int:
    body = {
        "model": "tiny-reasoner", "messages": [{"role": "user", "content": prompt}], "stream": True,
        "temperature": 0, "max_tokens": max_tokens, "stream_options": {"include_usage": True},
        "reasoning_effort": "max",
    }  # fmt: skip
    started, first, tokens = time.monotonic(), None, 0
    async with client.stream("POST", "/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            first = first or time.monotonic() - started
            if line.startswith("data: {"):
                usage = json.loads(line[6:]).get("usage")
                tokens = usage["completion_tokens"] if usage else tokens
    firsts.append(first or 0.0)
    return tokens


async def load(url: str, prompts: list[str], concurrency: int, max_tokens: int) -> tuple[float, int, list[float]]:
    limit = asyncio.Semaphore(concurrency)
    firsts: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=600) as client:

        async def bounded(prompt: str) -> int:
            async with limit:
                return await one(client, prompt, max_tokens, firsts)

        await bounded(prompts[0])  # warm-up, not counted
        firsts.clear()
        started = time.monotonic()
        tokens = await asyncio.gather(*(bounded(p) for p in prompts))
        return time.monotonic() - started, sum(tokens), firsts


def measure(kind: str, args: argparse.Namespace, prompts: list[str], workdir: Path) -> Run:
    with servers.running(kind, workdir / kind, args.model) as (url, start):
        seconds, tokens, firsts = asyncio.run(load(url, prompts, args.concurrency, args.max_tokens))
    return Run(kind, start, len(prompts), seconds, tokens, firsts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(servers.MODEL))
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=str(servers.ROOT / "bench" / "results" / "load.json"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    prompts = [question(rng, sample_problem(rng, "hard")) for _ in range(args.requests)]
    workdir = Path(args.out).parent / "load-run"
    workdir.mkdir(parents=True, exist_ok=True)
    runs = [measure(kind, args, prompts, workdir) for kind in ("ours", "vllm")]
    rows = [run.row() for run in runs]
    ratio = rows[0]["tokens/s"] / rows[1]["tokens/s"]
    print(f"{args.requests} streaming requests, {args.concurrency} at a time, hard products, greedy")
    for row in rows:
        print("  ".join(f"{k}: {v}" for k, v in row.items()))
    print(f"ratio ours/vllm serve, tokens/s: {ratio:.2f}")
    Path(args.out).write_text(json.dumps({"runs": rows, "ratio_tokens_per_s": round(ratio, 3)}, indent=2) + "\n")


if __name__ == "__main__":
    main()
