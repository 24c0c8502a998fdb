"""When a chain has thought enough (early exit), and how sure a chain is (its confidence).

Early exit is Dynasor-CoT's certainty probing (Fu et al. 2025): after `warmup` reasoning tokens
and then every `interval`, the sampler forks a probe that ends the thinking where the chain is
and reads the answer the model would give now; once `agree` probes in a row give the same
answer, each at least `confidence` sure, the chain's thinking ends there and that answer stands.
No probe runs before the warm-up: a chain that short costs less to finish than to probe.

A chain's confidence is DeepConf's lowest group confidence (Fu et al. 2025): the lowest mean
token log-probability over any `window` consecutive tokens. One muddled stretch marks a chain
whose answer is suspect, however sure the rest of it was.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ExitRule:
    warmup: int = 96  # reasoning tokens before the first probe
    interval: int = 48  # reasoning tokens between probes
    agree: int = 2  # consecutive probes that must give the same answer
    confidence: float = math.log(0.9)  # the least mean answer-token log-probability that counts
    probe_tokens: int = 12  # the most a probe generates (after the model's answer prefix)

    def probes_within(self, reasoning_tokens: int) -> int:
        """How many probes a chain that thinks `reasoning_tokens` may fork."""
        return 0 if reasoning_tokens < self.warmup else 1 + (reasoning_tokens - self.warmup) // self.interval

    def allowance(self, reasoning_cap: int) -> int:
        """The tokens a chain under `reasoning_cap` may spend on probes, at most."""
        return self.probes_within(reasoning_cap) * self.probe_tokens


@dataclass
class Certainty:
    """One chain's probes so far."""

    rule: ExitRule
    answers: list[tuple[str | None, float]] = field(default_factory=list)  # (answer, mean logprob)

    def next_probe_at(self) -> int:
        return self.rule.warmup + len(self.answers) * self.rule.interval

    def add(self, answer: str | None, mean_logprob: float) -> bool:
        """Record a probe; whether the chain may stop thinking now."""
        self.answers.append((answer, mean_logprob))
        recent = self.answers[-self.rule.agree :]
        return (
            len(recent) == self.rule.agree
            and recent[0][0] is not None
            and all(a == recent[0][0] and lp >= self.rule.confidence for a, lp in recent)
        )


@dataclass
class Confidence:
    """A chain's running lowest group confidence, as its token log-probabilities arrive."""

    window: int = 32
    recent: deque[float] = field(default_factory=deque)
    total: float = 0.0
    lowest: float | None = None  # None until a full window has been seen

    def add(self, logprobs: tuple[float, ...] | list[float]) -> None:
        for lp in logprobs:
            self.recent.append(lp)
            self.total += lp
            if len(self.recent) > self.window:
                self.total -= self.recent.popleft()
            if len(self.recent) == self.window:
                mean = self.total / self.window
                self.lowest = mean if self.lowest is None else min(self.lowest, mean)

    @property
    def value(self) -> float:
        """The lowest window mean; a chain shorter than a window counts as one window."""
        if self.lowest is not None:
            return self.lowest
        return self.total / len(self.recent) if self.recent else 0.0
