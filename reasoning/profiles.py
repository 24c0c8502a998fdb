"""What a particular model writes, for the strategies to read.

Strategies stay general: they ask the model's profile where its final answer begins (an
early-exit probe continues from there, so it generates only the answer's core) and what the
model's own checks concluded of a chain (votes weigh a chain that verified its result above
one that did not). `generic` knows nothing model-specific; the embedded tiny-reasoner's profile
reads its casting-out-nines checks: a line `1=1 ok` passed, `1=7 wrong` failed.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass


class Verdict(enum.Enum):
    PASSED = "passed"  # its last check passed, nothing failed before
    REPAIRED = "repaired"  # a check failed, the chain redid the work, and its last check passed
    FAILED = "failed"  # its last check failed: the result it ended on is suspect
    UNCHECKED = "unchecked"  # no check (cut short, or a model that does not check itself)


# How much a chain's vote counts, by what its own checks said.
VOTE_WEIGHTS = {Verdict.PASSED: 1.0, Verdict.REPAIRED: 1.0, Verdict.UNCHECKED: 0.5, Verdict.FAILED: 0.25}


def _unchecked(_reasoning: str) -> Verdict:
    return Verdict.UNCHECKED


@dataclass(frozen=True)
class ModelProfile:
    name: str
    answer_prefix: str = ""  # how the model's final answer starts; "" when it varies
    verdict: Callable[[str], Verdict] = _unchecked  # what its own checks said, from its reasoning

    def vote_weight(self, reasoning: str) -> float:
        return VOTE_WEIGHTS[self.verdict(reasoning)]


_CHECK_LINE = re.compile(r"^\d=\d (ok|wrong)$", re.M)


def _nines_verdict(reasoning: str) -> Verdict:
    results = _CHECK_LINE.findall(reasoning)
    if not results:
        return Verdict.UNCHECKED
    if results[-1] == "wrong":
        return Verdict.FAILED
    return Verdict.REPAIRED if "wrong" in results else Verdict.PASSED


GENERIC = ModelProfile("generic")
TINY_REASONER = ModelProfile("tiny-reasoner", answer_prefix="The answer is ", verdict=_nines_verdict)
PROFILES = {p.name: p for p in (GENERIC, TINY_REASONER)}


def profile_for(name: str, served_model: str) -> ModelProfile:
    """The profile named, or with "auto" the served model's own when there is one."""
    if name == "auto":
        return PROFILES.get(served_model, GENERIC)
    return PROFILES[name]
