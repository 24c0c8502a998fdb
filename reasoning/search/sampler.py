"""The contract between a strategy and the request it decides for.

A strategy sees a `Sampler` (run k chains under these limits; what was spent; the budget,
which says what is left) and returns a `Decision`. It never touches the engine, the client's
events or the trace: `reasoning/sampling.py` implements the Sampler, `reasoning/reasoner.py`
acts on the Decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from reasoning.budget import Budget, Limits
from reasoning.chain import ChainState


@dataclass(frozen=True)
class Search:
    """What a request asks of its search."""

    strategy: str  # single | self_consistency | adaptive | auto
    choices: int = 1  # the n choices of `single`
    samples: int = 5  # the most chains a search may sample
    confidence: float = 0.9  # adaptive stops once its leading answer is this likely ahead

    @property
    def most_chains(self) -> int:
        """The n choices of `single`, a probe and one resumption for `auto`, up to `samples`
        for the searches."""
        return {"single": self.choices, "auto": 2}.get(self.strategy, self.samples)


@dataclass(frozen=True)
class Decision:
    """What the strategy chose: the chain that answers each choice, in choice order."""

    answers: tuple[ChainState, ...]
    votes: dict[str, int] | None = None  # for voting strategies: answer -> chains that gave it
    stopped_by_budget: bool = False  # the budget ended the search before it wanted to stop


class Sampler(Protocol):
    @property
    def budget(self) -> Budget:
        """The request's budget: first-round limits, and the room left after each round."""

    @property
    def spent(self) -> int:
        """Tokens generated so far, over every chain."""

    async def sample(
        self, count: int, limits: Limits, *, show: bool = False, resume: ChainState | None = None
    ) -> list[ChainState]:
        """Generate `count` chains under `limits` as one engine request. `show`: stream them
        to the client as its choices while they generate. `resume`: continue that chain's
        thinking where its budget cut it."""
