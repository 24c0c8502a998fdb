"""The compute-accuracy frontier: every strategy and setting, on fresh problems of all five tiers.

    python -m bench.quality [--problems 250] [--seed 11] [--quick]

Starts the server with the embedded model on a free 127.0.0.1 port and asks it fresh problems
of the model's documented distribution (the five tiers in equal shares) under each setting,
through the chat completions API: fixed efforts, budget forcing (`reasoning.min_tokens`),
self-consistency, adaptive sampling with and without confidence-weighted votes, early exit and
`effort auto`. For each it records accuracy, mean billed tokens per problem (prompt and every
chain's completion, probes included), mean dollars (`usage.cost_usd`) and the p50 latency of a
request. Prints a table and writes bench/results/quality.{json,md,png}: accuracy
against mean tokens, the Pareto frontier drawn. `--quick` is a CI-sized run (40 problems).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import servers
from training.data import TIERS, Problem, parse_answer, question, sample_problem

RESULTS = servers.ROOT / "bench" / "results"
SEARCH_TEMPERATURE = 0.8


def greedy(effort: str, **reasoning) -> dict:
    return {"reasoning": {"effort": effort, **reasoning}, "temperature": 0}


def search(strategy: str, samples: int, **reasoning) -> dict:
    return {
        "reasoning": {"effort": "high", "strategy": strategy, "samples": samples, **reasoning},
        "temperature": SEARCH_TEMPERATURE,
    }


# name -> (family drawn as one line in the plot, request fields)
CONFIGS: dict[str, tuple[str, dict]] = {
    "effort none": ("fixed effort", greedy("none")),
    "effort low": ("fixed effort", greedy("low")),
    "effort medium": ("fixed effort", greedy("medium")),
    "effort high": ("fixed effort", greedy("high")),
    "effort xhigh": ("fixed effort", greedy("xhigh")),
    "high, early exit": ("early exit", greedy("high", early_exit=True)),
    "xhigh, early exit": ("early exit", greedy("xhigh", early_exit=True)),
    "high, min_tokens 512": ("budget forcing", greedy("xhigh", min_tokens=512)),
    "high, min_tokens 1024": ("budget forcing", greedy("xhigh", min_tokens=1024)),
    "self-consistency k=3": ("self-consistency", search("self_consistency", 3)),
    "self-consistency k=5": ("self-consistency", search("self_consistency", 5)),
    "self-consistency k=9": ("self-consistency", search("self_consistency", 9)),
    "adaptive, plain votes (at most 9)": ("adaptive", search("adaptive", 9, confidence=False)),
    "adaptive (at most 9)": ("adaptive", search("adaptive", 9)),
    "adaptive, early exit (at most 9)": ("adaptive", search("adaptive", 9, early_exit=True)),
    "effort auto": ("auto", greedy("auto")),
}


@dataclass
class Score:
    correct: dict[str, list[bool]] = field(default_factory=lambda: {t: [] for t in TIERS})
    tokens: list[int] = field(default_factory=list)
    dollars: list[float] = field(default_factory=list)
    chains: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        results = [r for tier in self.correct.values() for r in tier]
        return sum(results) / len(results)

    def row(self, name: str) -> dict:
        mean_tokens = statistics.fmean(self.tokens)
        return {
            "strategy": name,
            "accuracy": round(100 * self.accuracy, 1),
            "mean tokens": round(mean_tokens, 1),
            "mean $": f"{statistics.fmean(self.dollars):.3g}",
            "p50 s": round(statistics.median(self.seconds), 2),
            "mean chains": round(statistics.fmean(self.chains), 2),
            **{f"{tier} %": round(100 * sum(r) / len(r), 1) for tier, r in self.correct.items()},
        }


async def ask(client: httpx.AsyncClient, problem: Problem, text: str, config: dict, seed: int, score: Score) -> None:
    body = {"model": "tiny-reasoner", "messages": [{"role": "user", "content": text}], "seed": seed, **config}
    started = time.monotonic()
    response = await client.post("/v1/chat/completions", json=body)
    response.raise_for_status()
    data = response.json()
    score.seconds.append(time.monotonic() - started)
    score.correct[problem.tier].append(parse_answer(data["choices"][0]["message"]["content"]) == problem.value)
    score.tokens.append(data["usage"]["total_tokens"])
    score.dollars.append(data["usage"]["cost_usd"])
    score.chains.append(data["reasoning"]["chains"])


async def run(url: str, problems: list[tuple[Problem, str]], concurrency: int) -> dict[str, Score]:
    limit = asyncio.Semaphore(concurrency)
    scores = {name: Score() for name in CONFIGS}
    async with httpx.AsyncClient(base_url=url, timeout=600) as client:

        async def bounded(name: str, index: int) -> None:
            async with limit:
                problem, text = problems[index]
                await ask(client, problem, text, CONFIGS[name][1], index, scores[name])

        for name in CONFIGS:
            started = time.monotonic()
            await asyncio.gather(*(bounded(name, i) for i in range(len(problems))))
            print(f"  {name}: {time.monotonic() - started:.0f} s", flush=True)
    return scores


def frontier(rows: list[dict]) -> list[dict]:
    """The settings no other beats on both counts: fewer tokens and higher accuracy."""
    best, kept = -1.0, []
    for row in sorted(rows, key=lambda r: (r["mean tokens"], -r["accuracy"])):
        if row["accuracy"] > best:
            kept.append(row)
            best = row["accuracy"]
    return kept


def markdown(rows: list[dict]) -> str:
    on_frontier = {r["strategy"] for r in frontier(rows)}
    header = [*rows[0], "frontier"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    body = [
        "| " + " | ".join(str(r[h]) for h in header[:-1]) + f" | {'yes' if r['strategy'] in on_frontier else ''} |"
        for r in rows
    ]
    return "\n".join(lines + body)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.5))
    families: dict[str, list[dict]] = {}
    for row in rows:
        families.setdefault(CONFIGS[row["strategy"]][0], []).append(row)
    for family, members in families.items():
        members.sort(key=lambda r: r["mean tokens"])
        style = "o-" if len(members) > 1 else "D"
        ax.plot([r["mean tokens"] for r in members], [r["accuracy"] for r in members], style, label=family)
        for r in members:
            label = r["strategy"].replace("effort ", "").replace("self-consistency ", "")
            point = (r["mean tokens"], r["accuracy"])
            ax.annotate(label, point, fontsize=7, textcoords="offset points", xytext=(5, -9))
    edge = frontier(rows)
    ax.step([r["mean tokens"] for r in edge], [r["accuracy"] for r in edge], "k--", where="post", alpha=0.5,
            label="Pareto frontier")  # fmt: skip
    ax.set(xscale="log", xlabel="mean billed tokens per problem (log scale)", ylabel="accuracy (%)",
           title="tiny-reasoner: accuracy against test-time compute, five tiers")  # fmt: skip
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", type=int, default=250)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--concurrency", type=int, default=24)
    parser.add_argument("--quick", action="store_true", help="40 problems, results under bench/results/quick-*")
    args = parser.parse_args()
    count = 40 if args.quick else args.problems
    rng = random.Random(args.seed)
    problems = [(p := sample_problem(rng, TIERS[i % len(TIERS)]), question(rng, p)) for i in range(count)]
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with servers.running("ours", RESULTS / "quality-run") as (url, _, _):
        scores = asyncio.run(run(url, problems, args.concurrency))
    rows = [score.row(name) for name, score in scores.items()]
    table = markdown(rows)
    print(table)
    print(f"{count} problems, seed {args.seed}, {time.monotonic() - started:.0f} s in all")
    stem = "quick-quality" if args.quick else "quality"
    (RESULTS / f"{stem}.md").write_text(table + "\n")
    summary = {"problems": count, "seed": args.seed, "rows": rows}
    (RESULTS / f"{stem}.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot(rows, RESULTS / f"{stem}.png")


if __name__ == "__main__":
    main()
