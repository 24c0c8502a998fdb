"""Budget resolution: effort, token caps, dollars and context -> exact per-chain token limits.

The strictest input wins. The answer keeps its own reserve: reasoning may use only what is
left of a chain's total after `answer_reserve` tokens, so a budget that runs out during
thinking still leaves room for the model to answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reasoning.errors import BudgetTooSmall, ContextTooLong, InvalidRequest
from reasoning.pricing import Price
from reasoning.types import AUTO, EFFORTS, BudgetSpec


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


def resolve(
    spec: BudgetSpec,
    *,
    policy: BudgetPolicy,
    price: Price,
    prompt_tokens: int,
    context_length: int,
    chains: int = 1,
    spent: int = 0,
    shared: bool = False,
) -> Limits:
    """The exact limits each of `chains` generations runs under.

    `spent` tokens were already generated for this request. `shared`: the chains are one
    search, so max_completion_tokens caps their sum (as budget_usd always does) rather
    than each of them, as it does for the `n` choices of a chat completion.
    """
    validate(spec)
    room = context_length - prompt_tokens
    if room < 1:
        raise ContextTooLong(
            f"the prompt has {prompt_tokens} tokens; the model's context is {context_length}", param="messages"
        )
    totals = {"context": room}
    if spec.max_completion_tokens is not None:
        cap = spec.max_completion_tokens
        totals["max_completion_tokens"] = max(0, cap - spent) // chains if shared else cap
    if spec.budget_usd is not None:
        totals["budget_usd"] = _affordable_per_chain(spec.budget_usd, price, prompt_tokens, chains, spent, policy)
    max_tokens = min(totals.values())

    caps = {name: max(0, total - policy.answer_reserve) for name, total in totals.items()}
    if spec.max_reasoning_tokens is not None:
        caps["reasoning.max_tokens"] = spec.max_reasoning_tokens
    effort_cap = _effort_cap(spec, policy)
    if effort_cap is not None:
        caps["effort"] = effort_cap
    # Ties go to the input the client set most precisely.
    order = ("reasoning.max_tokens", "budget_usd", "max_completion_tokens", "effort", "context")
    limited_by = min(caps, key=lambda name: (caps[name], order.index(name)))
    reasoning = caps[limited_by]
    return Limits(
        reasoning_tokens=reasoning,
        min_reasoning_tokens=min(spec.min_reasoning_tokens or 0, reasoning),
        max_tokens=max_tokens,
        limited_by=limited_by,
    )


def _effort_cap(spec: BudgetSpec, policy: BudgetPolicy) -> int | None:
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


def _affordable_per_chain(
    budget_usd: float, price: Price, prompt_tokens: int, chains: int, spent: int, policy: BudgetPolicy
) -> int:
    affordable = price.affordable_completion_tokens(budget_usd, prompt_tokens)
    if affordable < 0:
        raise BudgetTooSmall(
            f"budget_usd {budget_usd} is less than the prompt's own cost "
            f"({price.cost(prompt_tokens, 0):.10f} USD for {prompt_tokens} tokens)",
            param="reasoning.budget_usd",
        )
    per_chain = (affordable - spent) // chains
    if per_chain < policy.answer_reserve:
        needed = price.cost(prompt_tokens, policy.answer_reserve * chains)
        raise BudgetTooSmall(
            f"budget_usd {budget_usd} covers the prompt but not a minimal answer "
            f"({policy.answer_reserve} tokens per chain; at least {needed:.10f} USD)",
            param="reasoning.budget_usd",
        )
    return per_chain
