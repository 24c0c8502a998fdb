"""The contract between a strategy and the request it decides for.

A strategy sees a `Sampler` (run k chains under these limits; what was spent; the budget,
which says what is left) and returns a `Decision`. It never touches the engine, the client's
events or the trace: `reasoning/sampling.py` implements the Sampler, `reasoning/reasoner.py`
acts on the Decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from reasoning.budget import Budget, Limits
from reasoning.certainty import ExitRule
from reasoning.chain import ChainState
from reasoning.profiles import ModelProfile


@dataclass(frozen=True)
class Search:
    """What a request asks of its search."""

    strategy: str  # single | self_consistency | adaptive | auto
    choices: int = 1  # the n choices of `single`
    samples: int = 5  # the most chains a search may sample
    confidence: float = 0.9  # adaptive stops once its leading answer is this likely ahead
    early_exit: bool = False  # every chain probes its answer as it thinks, and stops once settled
    weigh_confidence: bool = True  # votes weighed by chain confidence; the least confident dropped
    exit_rule: ExitRule = field(default_factory=ExitRule)
    vote_temperature: float | None = None  # auto's further chains sample at this, when set

    @property
    def most_chains(self) -> int:
        """The n choices of `single`, up to `samples` for the searches and auto."""
        return self.choices if self.strategy == "single" else self.samples

    def watch(self, stop_below: float | None = None, temperature: float | None = None) -> Watch | None:
        """How the sampler should watch this search's chains; None: no need to run them one by one."""
        if not self.early_exit and stop_below is None and temperature is None:
            return None
        return Watch(self.exit_rule if self.early_exit else None, stop_below, temperature)

    def limits(self, budget: Budget, limits: Limits) -> Limits:
        """A chain's limits, with room taken out for its probes when it exits early."""
        return budget.probing(limits, self.exit_rule) if self.early_exit else limits


@dataclass(frozen=True)
class Watch:
    """How the sampler watches chains it runs one engine request each."""

    exit_rule: ExitRule | None = None  # probe each chain's answer; end its thinking once settled
    stop_below: float | None = None  # end a chain whose running confidence falls below this
    temperature: float | None = None  # sample at this temperature instead of the request's


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
        """Tokens generated so far, over every chain and probe."""

    @property
    def profile(self) -> ModelProfile:
        """What the model writes: its answer's start, and what its own checks said."""

    async def sample(
        self,
        count: int,
        limits: Limits,
        *,
        show: bool = False,
        watch: Watch | None = None,
    ) -> list[ChainState]:
        """Generate `count` chains under `limits`. `show`: stream them to the client as its
        choices while they generate. `watch`: run them one engine request each, ended early
        as it says."""
