"""Budget: the one owner of every number of a request.

Effort, token caps, dollars and the model's context become exact per-chain limits (the
strictest input wins); a search asks it, after each round, what room is left; admission asks
it for the worst case to reserve; the outcome asks it for the cost. Money is `Money`.

The answer keeps its own reserve: reasoning may use only what is left of a chain's total
after `answer_reserve` tokens, so a budget that runs out during thinking still leaves room
for the model to answer. reasoning.max_tokens caps each chain, while budget_usd (always) and
max_completion_tokens (for the chains of one search) cap their sum.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from reasoning.certainty import ExitRule
from reasoning.errors import BudgetTooSmall, ContextTooLong, InvalidRequest
from reasoning.pricing import Money, Price
from reasoning.types import AUTO, EFFORTS, BudgetSpec

# Ties go to the input the client set most precisely.
_PRECEDENCE = ("reasoning.max_tokens", "budget_usd", "max_completion_tokens", "effort", "context")


@dataclass(frozen=True)
class BudgetPolicy:
    effort_tokens: Mapping[str, int | None]  # None: as much as the context allows
    default_effort: str
    answer_reserve: int


@dataclass(frozen=True)
class Limits:
    reasoning_tokens: int  # hard cap on each chain's thinking
    min_reasoning_tokens: int  # end-of-thinking is suppressed until this many
    max_tokens: int  # cap on everything each chain generates
    limited_by: str  # which input set reasoning_tokens

    @property
    def thinking(self) -> bool:
        return self.reasoning_tokens > 0


@dataclass(frozen=True)
class Round:
    """A round of a search: how many chains, each under these limits."""

    chains: int
    limits: Limits


def validate(spec: BudgetSpec) -> None:
    """Reject contradictions the wire schema cannot see on its own."""
    if spec.effort is not None and spec.effort not in (*EFFORTS, AUTO):
        raise InvalidRequest(f"reasoning effort must be one of {', '.join(EFFORTS)}, auto", param="reasoning_effort")
    if (
        spec.min_reasoning_tokens is not None
        and spec.max_reasoning_tokens is not None
        and spec.min_reasoning_tokens > spec.max_reasoning_tokens
    ):
        raise InvalidRequest("reasoning.min_tokens exceeds reasoning.max_tokens", param="reasoning.min_tokens")


@dataclass(frozen=True)
class Budget:
    """One request's budget over its prompt. `chains`: how many its first round runs (the n
    choices of `single`); `shared`: its chains are one search, so max_completion_tokens caps
    their sum rather than each of them."""

    spec: BudgetSpec
    policy: BudgetPolicy
    price: Price
    prompt_tokens: int
    context_length: int
    chains: int = 1
    shared: bool = False

    @cached_property
    def limits(self) -> Limits:
        """Each first-round chain's limits, before anything is spent; raises on a budget that
        cannot be served (every 4xx of a budget is raised here)."""
        return self._resolve(self.chains, spent=0)

    def room(self, chains: int, spent: int, extra_prompt_tokens: int = 0) -> Limits | None:
        """Per-chain limits for a further round of `chains` once `spent` tokens were
        generated, or None when what is left cannot pay each of them a minimal answer."""
        try:
            limits = self._resolve(chains, spent, extra_prompt_tokens)
        except BudgetTooSmall:
            return None
        return limits if limits.max_tokens >= self.policy.answer_reserve else None

    def first_round(self, wanted: int) -> Round:
        """A search's first round: whole chains as `next_round` buys them, or else one chain
        with what there is, as the request was admitted."""
        return self.next_round(wanted, spent=0) or Round(1, self.limits)

    def next_round(self, wanted: int, spent: int) -> Round | None:
        """The most chains, up to `wanted`, that the rest of the budget pays for whole: each
        may think to its full cap and still answer (a budget buys complete chains rather
        than many cut short); None if not one."""
        whole = self._whole_chain_cap
        for count in range(wanted, 0, -1):
            limits = self.room(count, spent)
            if limits is not None and limits.reasoning_tokens >= whole:
                return Round(count, limits)
        return None

    @staticmethod
    def probing(limits: Limits, rule: ExitRule) -> Limits:
        """The limits of a chain that forks early-exit probes: the most its probes may generate
        comes out of its reasoning cap and its total, so chain and probes together stay within
        `limits` (and within what was reserved for them)."""
        reasoning = limits.reasoning_tokens * rule.interval // (rule.interval + rule.probe_tokens)
        while reasoning > 0 and reasoning + rule.allowance(reasoning) > limits.reasoning_tokens:
            reasoning -= 1
        return dataclasses.replace(
            limits,
            reasoning_tokens=reasoning,
            min_reasoning_tokens=min(limits.min_reasoning_tokens, reasoning),
            max_tokens=limits.max_tokens - rule.allowance(reasoning),
        )

    def worst_case_tokens(self, most_chains: int) -> int:
        """The most tokens the request may generate: every chain to its first-round cap (a
        search's later rounds only get less)."""
        return most_chains * self.limits.max_tokens

    def worst_case(self, most_chains: int) -> Money:
        """What a per-key budget must hold before anything runs: the prompt and its worst
        case of tokens, and never more than the request's own budget_usd."""
        worst = self.cost(self.worst_case_tokens(most_chains))
        if self.spec.budget_usd is not None:
            worst = min(worst, Money.at_most(self.spec.budget_usd))
        return worst

    def cost(self, completion_tokens: int) -> Money:
        """What the prompt and `completion_tokens` generated for it cost."""
        return self.price.cost(self.prompt_tokens, completion_tokens)

    @cached_property
    def _whole_chain_cap(self) -> int:
        """A chain's reasoning cap when dollars and completion totals do not bind."""
        unbound = dataclasses.replace(self.spec, budget_usd=None, max_completion_tokens=None)
        return dataclasses.replace(self, spec=unbound, chains=1).limits.reasoning_tokens

    def _resolve(self, chains: int, spent: int, extra_prompt_tokens: int = 0) -> Limits:
        validate(self.spec)
        prompt_tokens = self.prompt_tokens + extra_prompt_tokens
        room = self.context_length - prompt_tokens
        if room < 1:
            raise ContextTooLong(
                f"the prompt has {prompt_tokens} tokens; the model's context is {self.context_length}", param="messages"
            )
        totals = {"context": room}
        if (cap := self.spec.max_completion_tokens) is not None:
            totals["max_completion_tokens"] = max(0, cap - spent) // chains if self.shared else cap
        if self.spec.budget_usd is not None:
            totals["budget_usd"] = self._affordable_per_chain(prompt_tokens, chains, spent)
        caps = {name: max(0, total - self.policy.answer_reserve) for name, total in totals.items()}
        if self.spec.max_reasoning_tokens is not None:
            caps["reasoning.max_tokens"] = self.spec.max_reasoning_tokens
        if (effort_cap := self._effort_cap()) is not None:
            caps["effort"] = effort_cap
        limited_by = min(caps, key=lambda name: (caps[name], _PRECEDENCE.index(name)))
        reasoning = caps[limited_by]
        return Limits(
            reasoning_tokens=reasoning,
            min_reasoning_tokens=min(self.spec.min_reasoning_tokens or 0, reasoning),
            max_tokens=min(totals.values()),
            limited_by=limited_by,
        )

    def _effort_cap(self) -> int | None:
        spec, policy = self.spec, self.policy
        if spec.effort == AUTO:
            return policy.effort_tokens["high"]  # the ceiling; the auto strategy starts lower
        if spec.effort is not None:
            return policy.effort_tokens[spec.effort]
        if spec.max_reasoning_tokens is not None:
            return None  # an explicit cap replaces the default effort
        default = policy.effort_tokens[policy.default_effort]
        if default is not None and spec.min_reasoning_tokens is not None:
            return max(default, spec.min_reasoning_tokens)  # an explicit floor lifts the default
        return default

    def _affordable_per_chain(self, prompt_tokens: int, chains: int, spent: int) -> int:
        budget = Money.at_most(self.spec.budget_usd or 0)
        affordable = self.price.affordable_completion_tokens(budget, prompt_tokens)
        if affordable < 0:
            raise BudgetTooSmall(
                f"budget_usd {self.spec.budget_usd} is less than the prompt's own cost "
                f"({self.price.cost(prompt_tokens, 0)} USD for {prompt_tokens} tokens)",
                param="reasoning.budget_usd",
            )
        per_chain = (affordable - spent) // chains
        if per_chain < self.policy.answer_reserve:
            needed = self.price.cost(prompt_tokens, self.policy.answer_reserve * chains)
            raise BudgetTooSmall(
                f"budget_usd {self.spec.budget_usd} covers the prompt but not a minimal answer "
                f"({self.policy.answer_reserve} tokens per chain; at least {needed} USD)",
                param="reasoning.budget_usd",
            )
        return per_chain
