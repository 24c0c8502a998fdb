"""Accuracy against tokens: fixed effort levels, self-consistency, adaptive sampling and auto.

    python -m bench.quality [--problems 400] [--seed 11]

Starts the server with the embedded model on a free 127.0.0.1 port and asks it fresh
problems of the model's documented distribution (the four tiers in equal shares) under
each strategy, through the chat completions API. Prints a table and writes
bench/results/quality.{json,md,png}: accuracy against mean total tokens per problem
(prompt and every chain's completion, as billed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import servers
from training.data import TIERS, Problem, parse_answer, question, sample_problem

RESULTS = servers.ROOT / "bench" / "results"
SEARCH_TEMPERATURE = 0.8


def search(strategy: str, samples: int) -> dict:
    reasoning = {"effort": "high", "strategy": strategy, "samples": samples}
    return {"reasoning": reasoning, "temperature": SEARCH_TEMPERATURE}


CONFIGS: dict[str, dict] = {
    "effort none": {"reasoning_effort": "none", "temperature": 0},
    "effort low": {"reasoning_effort": "low", "temperature": 0},
    "effort medium": {"reasoning_effort": "medium", "temperature": 0},
    "effort high": {"reasoning_effort": "high", "temperature": 0},
    "self-consistency k=3": search("self_consistency", 3),
    "self-consistency k=5": search("self_consistency", 5),
    "self-consistency k=9": search("self_consistency", 9),
    "adaptive (at most 9)": search("adaptive", 9),
    "effort auto": {"reasoning_effort": "auto", "temperature": 0},
}


@dataclass
class Score:
    correct: dict[str, list[bool]] = field(default_factory=lambda: {t: [] for t in TIERS})
    tokens: list[int] = field(default_factory=list)
    chains: list[int] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        results = [r for tier in self.correct.values() for r in tier]
        return sum(results) / len(results)

    @property
    def mean_tokens(self) -> float:
        return sum(self.tokens) / len(self.tokens)

    def row(self, name: str) -> dict:
        return {
            "strategy": name,
            "accuracy": round(100 * self.accuracy, 1),
            "mean tokens": round(self.mean_tokens, 1),
            "accuracy per 1k tokens": round(1000 * self.accuracy / self.mean_tokens, 2),
            "mean chains": round(sum(self.chains) / len(self.chains), 2),
            **{f"{tier} %": round(100 * sum(r) / len(r), 1) for tier, r in self.correct.items()},
        }


async def ask(client: httpx.AsyncClient, problem: Problem, text: str, config: dict, seed: int, score: Score) -> None:
    body = {"model": "tiny-reasoner", "messages": [{"role": "user", "content": text}], "seed": seed, **config}
    response = await client.post("/v1/chat/completions", json=body)
    response.raise_for_status()
    data = response.json()
    score.correct[problem.tier].append(parse_answer(data["choices"][0]["message"]["content"]) == problem.value)
    score.tokens.append(data["usage"]["total_tokens"])
    score.chains.append(data["reasoning"]["chains"])


async def run(url: str, problems: list[tuple[Problem, str]], concurrency: int) -> dict[str, Score]:
    limit = asyncio.Semaphore(concurrency)
    scores = {name: Score() for name in CONFIGS}
    async with httpx.AsyncClient(base_url=url, timeout=600) as client:

        async def bounded(name: str, index: int) -> None:
            async with limit:
                problem, text = problems[index]
                await ask(client, problem, text, CONFIGS[name], index, scores[name])

        for name in CONFIGS:
            started = time.monotonic()
            await asyncio.gather(*(bounded(name, i) for i in range(len(problems))))
            print(f"  {name}: {time.monotonic() - started:.0f} s", flush=True)
    return scores


def markdown(rows: list[dict]) -> str:
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(r[h]) for h in header) + " |" for r in rows])


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_name = {r["strategy"]: r for r in rows}
    fig, ax = plt.subplots(figsize=(8, 5))
    for names, style, label in (
        ([n for n in CONFIGS if n.startswith("effort") and n != "effort auto"], "o-", "fixed effort"),
        ([n for n in CONFIGS if n.startswith("self-consistency")], "s-", "self-consistency k=3, 5, 9"),
        (["adaptive (at most 9)"], "D", "adaptive"),
        (["effort auto"], "*", "auto"),
    ):
        xs = [by_name[n]["mean tokens"] for n in names]
        ys = [by_name[n]["accuracy"] for n in names]
        ax.plot(xs, ys, style, markersize=10 if style == "*" else 7, label=label)
        for n, x, y in zip(names, xs, ys, strict=True):
            ax.annotate(n.replace("effort ", "").replace("self-consistency ", ""), (x, y), fontsize=8,
                        textcoords="offset points", xytext=(5, -10))  # fmt: skip
    ax.set(xscale="log", xlabel="mean tokens per problem (log scale)", ylabel="accuracy (%)",
           title="tiny-reasoner: accuracy against test-time compute")  # fmt: skip
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", type=int, default=400)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--concurrency", type=int, default=24)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    problems = [(p := sample_problem(rng, TIERS[i % 4]), question(rng, p)) for i in range(args.problems)]
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with servers.running("ours", RESULTS / "quality-run") as (url, _, _):
        scores = asyncio.run(run(url, problems, args.concurrency))
    rows = [score.row(name) for name, score in scores.items()]
    table = markdown(rows)
    print(table)
    print(f"{args.problems} problems, seed {args.seed}, {time.monotonic() - started:.0f} s in all")
    (RESULTS / "quality.md").write_text(table + "\n")
    (RESULTS / "quality.json").write_text(json.dumps({"problems": args.problems, "seed": args.seed, "rows": rows},
                                                     indent=2) + "\n")  # fmt: skip
    plot(rows, RESULTS / "quality.png")


if __name__ == "__main__":
    main()
