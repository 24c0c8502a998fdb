"""Ours against `vllm serve`, measured by vLLM's own benchmark client, in one run.

    python -m bench.serve_compare [--runs 3] [--concurrency 1 16 64] [--prompts 96]

Starts each server in turn on a free 127.0.0.1 port (never both at once; `vllm serve` with
ours' CPU placement, see bench/vllm_peer.py), and for each concurrency runs
`vllm bench serve --backend openai-chat` on the same streaming hard products (greedy,
`reasoning_effort: max`, so both generate the same tokens: ours hides the reasoning, the peer
streams it). Reports output tokens/s, requests/s, p50/p99 end-to-end latency and the client's
time to first token, and, from a probe of our own, time to the first *answer* token: the field
client stamps its first token on the first chunk with `choices`, which for ours is the role
chunk sent before any thinking. Ratios ours/peer per run; every run is reported, not the best.
Writes bench/results/serve_compare.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench import servers
from training.data import question, sample_problem

RESULTS = servers.ROOT / "bench" / "results"
EXTRA_BODY = {"reasoning_effort": "max"}
OUTPUT_TOKENS = 600  # room for a hard product's whole chain and answer: no request is cut
# The peer gets ours' engine settings on CPU; its reasoning parser sends its thinking apart from
# its answer.
PEER = {"ours": (), "vllm": ("--no-enable-chunked-prefill", "--reasoning-parser", "deepseek_r1")}
# No keep-alives in the benchmark: `vllm bench serve` strips each read it gets, so a keep-alive
# comment and the data message read after it merge into one message that starts with ":", which
# it skips as a comment: ours' answer was lost and its latency stamped at the role chunk.
ENV: dict[str, dict[str, str]] = {"ours": {"REASONING_KEEPALIVE_SECONDS": "3600"}, "vllm": {}}
METRICS = ("output_throughput", "request_throughput", "median_e2el_ms", "p99_e2el_ms", "median_ttft_ms")


def client(url: str, dataset: Path, prompts: int, concurrency: int, out: Path) -> dict:
    """One `vllm bench serve` run; its saved result."""
    command = [
        sys.executable, str(servers.ROOT / "bench" / "vllm_peer.py"), "bench", "serve",
        "--backend", "openai-chat", "--base-url", url, "--endpoint", "/v1/chat/completions",
        "--model", "tiny-reasoner", "--tokenizer", str(servers.MODEL),
        "--dataset-name", "custom", "--dataset-path", str(dataset), "--skip-chat-template",
        "--custom-output-len", str(OUTPUT_TOKENS), "--num-prompts", str(prompts),
        "--max-concurrency", str(concurrency), "--temperature", "0", "--extra-body", json.dumps(EXTRA_BODY),
        "--percentile-metrics", "ttft,e2el", "--metric-percentiles", "50,99", "--num-warmups", "2",
        "--disable-tqdm", "--save-result", "--result-dir", str(out.parent), "--result-filename", out.name,
    ]  # fmt: skip
    subprocess.run(command, check=True, cwd=servers.ROOT, stdout=subprocess.DEVNULL, timeout=1800)
    return json.loads(out.read_text())


async def first_answer_seconds(url: str, prompts: list[str]) -> float:
    """Median time to the first chunk that carries answer text, one request at a time."""
    times = []
    async with httpx.AsyncClient(base_url=url, timeout=300) as http:
        for prompt in prompts:
            body = {
                "model": "tiny-reasoner", "messages": [{"role": "user", "content": prompt}], "stream": True,
                "temperature": 0, "max_completion_tokens": OUTPUT_TOKENS, **EXTRA_BODY,
            }  # fmt: skip
            sent = time.perf_counter()
            async with http.stream("POST", "/v1/chat/completions", json=body) as response:
                async for line in response.aiter_lines():
                    if line.startswith("data: {") and (json.loads(line[6:])["choices"] or [{}])[0].get("delta", {}).get(
                        "content"
                    ):
                        times.append(time.perf_counter() - sent)
                        break
    return statistics.median(times)


def measure(kind: str, run: int, args: argparse.Namespace, dataset: Path, probes: list[str], work: Path) -> dict:
    rows = {}
    with servers.running(kind, work / f"{kind}-{run}", extra=PEER[kind], **ENV[kind]) as (url, _, _):
        for concurrency in args.concurrency:
            prompts = args.prompts if concurrency > 1 else args.prompts_at_1
            with servers.engine_occupancy(url) as running:
                saved = client(url, dataset, prompts, concurrency, work / f"{kind}-{run}-c{concurrency}.json")
            rows[concurrency] = {metric: saved[metric] for metric in METRICS}
            busy = [n for n in running if n > 0]  # not the start-up and the tail with nothing running
            rows[concurrency]["mean_running"] = sum(busy) / len(busy) if busy else 0.0
            rows[concurrency]["mean_output_tokens"] = saved["total_output_tokens"] / saved["completed"]
        rows["first_answer_ms"] = 1000 * asyncio.run(first_answer_seconds(url, probes))
    return rows


def report(runs: list[dict[str, dict]], concurrencies: list[int]) -> str:
    lines = [
        "| run | concurrency | ours output tok/s | vllm serve output tok/s | ratio | ours p50 e2e s | vllm p50 e2e s "
        "| ratio | ours p99 e2e s | vllm p99 e2e s | ours req/s | vllm req/s | ours TTFT ms | vllm TTFT ms "
        "| ours mean running | vllm mean running |",
        "|" + "---|" * 16,
    ]
    for number, run in enumerate(runs, 1):
        for c in concurrencies:
            o, v = run["ours"][c], run["vllm"][c]
            lines.append(
                f"| {number} | {c} | {o['output_throughput']:.0f} | {v['output_throughput']:.0f} "
                f"| {o['output_throughput'] / v['output_throughput']:.2f} | {o['median_e2el_ms'] / 1000:.2f} "
                f"| {v['median_e2el_ms'] / 1000:.2f} | {o['median_e2el_ms'] / v['median_e2el_ms']:.2f} "
                f"| {o['p99_e2el_ms'] / 1000:.2f} | {v['p99_e2el_ms'] / 1000:.2f} | {o['request_throughput']:.2f} "
                f"| {v['request_throughput']:.2f} | {o['median_ttft_ms']:.0f} | {v['median_ttft_ms']:.0f} "
                f"| {o['mean_running']:.2f} | {v['mean_running']:.2f} |"
            )
    lines += ["", "| run | ours time to first answer token, p50 ms | vllm serve's | ratio |", "|---|---|---|---|"]
    for number, run in enumerate(runs, 1):
        o, v = run["ours"]["first_answer_ms"], run["vllm"]["first_answer_ms"]
        lines.append(f"| {number} | {o:.0f} | {v:.0f} | {o / v:.2f} |")
    tokens = {kind: round(runs[0][kind][concurrencies[0]]["mean_output_tokens"], 1) for kind in ("ours", "vllm")}
    lines += ["", f"Mean output tokens per request (same work on both): ours {tokens['ours']}, vllm {tokens['vllm']}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--prompts", type=int, default=96, help="requests per run at concurrency above 1")
    parser.add_argument("--prompts-at-1", type=int, default=24, help="requests per run at concurrency 1")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = RESULTS / "serve-compare-run"
    work.mkdir(parents=True, exist_ok=True)
    dataset = work / "hard.jsonl"
    questions = [question(rng, sample_problem(rng, "hard")) for _ in range(max(args.prompts, args.prompts_at_1))]
    dataset.write_text("".join(json.dumps({"prompt": q}) + "\n" for q in questions))
    # The servers take turns, the first of one run last in the next: on a shared machine whose
    # load drifts, the one measured first is not always the one measured in the quieter half.
    order = ("ours", "vllm")
    runs = [
        {kind: measure(kind, run, args, dataset, questions[:5], work) for kind in order[:: 1 if run % 2 else -1]}
        for run in range(1, args.runs + 1)
    ]
    table = report(runs, args.concurrency)
    print(table)
    (RESULTS / "serve_compare.md").write_text(table + "\n")
    (RESULTS / "serve_compare.json").write_text(json.dumps({"args": vars(args), "runs": runs}, indent=2) + "\n")


if __name__ == "__main__":
    main()
