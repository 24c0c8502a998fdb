"""Votes over sampled chains: answer extraction, the majority, and when to stop sampling.

Self-consistency (Wang et al. 2022) samples several chains and takes the most common
final answer. Adaptive-Consistency (Aggarwal et al. 2023) samples until the leading answer
is clearly ahead: with a uniform prior over the shares of the two leading answers, the
probability that the leader's share exceeds the runner-up's is the regularized incomplete
beta function I_{1/2}(b + 1, a + 1) for vote counts a (leader) and b (runner-up).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


class Extractor(Protocol):
    def __call__(self, answer: str) -> str | None:
        """The answer's comparable core, or None if it has none."""


def final_number(answer: str) -> str | None:
    """The last number in the answer, normalised (no thousands separators, no trailing
    zeros after a decimal point); else the last non-empty line, lowercased, spaces collapsed."""
    numbers = _NUMBER.findall(answer)
    if numbers:
        value = numbers[-1].replace(",", "")
        if "." in value:
            value = value.rstrip("0").rstrip(".")
        return "0" if value in ("-0", "") else value
    lines = [line.strip() for line in answer.splitlines() if line.strip()]
    return " ".join(lines[-1].lower().rstrip(".!").split()) if lines else None


@dataclass(frozen=True)
class Ballot:
    answer: str  # the chain's visible answer
    mean_logprob: float  # over the chain's generated tokens; breaks ties
    weight: float = 1.0  # how much its vote counts (its confidence, what its own checks said)


@dataclass(frozen=True)
class Vote:
    winner: int  # index of the ballot whose answer is returned
    counts: dict[str, int]  # extracted answer -> number of chains


def tally(ballots: Sequence[Ballot], extract: Extractor = final_number) -> Vote:
    """The answer with the most weight (with equal weights, the majority); among equal ones,
    the one whose best chain is the most confident; the winner is that answer's most
    confident chain."""
    keys = [extract(b.answer) for b in ballots]
    counts: dict[str, int] = {}
    weights: dict[str, float] = {}
    for key, ballot in zip(keys, ballots, strict=True):
        if key is not None:
            counts[key] = counts.get(key, 0) + 1
            weights[key] = weights.get(key, 0.0) + ballot.weight
    if not counts:  # nothing to vote on: the most confident chain
        return Vote(max(range(len(ballots)), key=lambda i: ballots[i].mean_logprob), {})

    def confidence(key: str) -> float:
        return max(b.mean_logprob for b, k in zip(ballots, keys, strict=True) if k == key)

    best = max(counts, key=lambda k: (round(weights[k], 9), counts[k], confidence(k)))
    winner = max((i for i, k in enumerate(keys) if k == best), key=lambda i: ballots[i].mean_logprob)
    return Vote(winner, counts)


def leader_probability(counts: dict[str, int]) -> float:
    """P(the leading answer's share > the runner-up's) under a uniform Beta prior."""
    ranked = sorted(counts.values(), reverse=True)
    if not ranked:
        return 0.0
    a, b = ranked[0], ranked[1] if len(ranked) > 1 else 0
    return _beta_half(b + 1, a + 1)


def _beta_half(alpha: int, beta: int) -> float:
    """I_{1/2}(alpha, beta) for integer parameters: a binomial tail, exactly."""
    n = alpha + beta - 1
    return sum(math.comb(n, j) for j in range(alpha, n + 1)) / 2**n


def settled(counts: dict[str, int], confidence: float) -> bool:
    return leader_probability(counts) >= confidence
