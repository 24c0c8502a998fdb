"""Budget resolution: every combination of inputs gives exact per-chain limits."""

import pytest

from reasoning.budget import Budget, BudgetPolicy
from reasoning.errors import BudgetTooSmall, ContextTooLong, InvalidRequest
from reasoning.pricing import Price
from reasoning.types import BudgetSpec

POLICY = BudgetPolicy(
    effort_tokens={"none": 0, "minimal": 16, "low": 64, "medium": 192, "high": 512, "xhigh": 1024, "max": None},
    default_effort="medium",
    answer_reserve=32,
)
PRICE = Price(input_per_million=1.0, output_per_million=10.0)  # $0.000001 in, $0.00001 out per token


def limits(prompt_tokens=100, context=4096, chains=1, **spec):
    return Budget(
        BudgetSpec(**spec),
        policy=POLICY,
        price=PRICE,
        prompt_tokens=prompt_tokens,
        context_length=context,
        chains=chains,
    ).limits


@pytest.mark.parametrize(
    ("spec", "reasoning", "max_tokens", "limited_by"),
    [
        # nothing asked: the default effort, the rest of the context for everything
        ({}, 192, 3996, "effort"),
        ({"effort": "none"}, 0, 3996, "effort"),
        ({"effort": "minimal"}, 16, 3996, "effort"),
        ({"effort": "low"}, 64, 3996, "effort"),
        ({"effort": "high"}, 512, 3996, "effort"),
        ({"effort": "xhigh"}, 1024, 3996, "effort"),
        # max: as much as the context leaves after the answer's reserve
        ({"effort": "max"}, 3964, 3996, "context"),
        # an explicit cap replaces the default effort, and is itself capped by the context
        ({"max_reasoning_tokens": 1000}, 1000, 3996, "reasoning.max_tokens"),
        ({"max_reasoning_tokens": 0}, 0, 3996, "reasoning.max_tokens"),
        ({"max_reasoning_tokens": 1}, 1, 3996, "reasoning.max_tokens"),
        ({"max_reasoning_tokens": 9000}, 3964, 3996, "context"),
        # effort and explicit cap together: the stricter wins; ties go to the explicit cap
        ({"effort": "high", "max_reasoning_tokens": 100}, 100, 3996, "reasoning.max_tokens"),
        ({"effort": "low", "max_reasoning_tokens": 100}, 64, 3996, "effort"),
        ({"effort": "low", "max_reasoning_tokens": 64}, 64, 3996, "reasoning.max_tokens"),
        # max_completion_tokens caps reasoning + answer, keeping the answer's reserve
        ({"max_completion_tokens": 100}, 68, 100, "max_completion_tokens"),
        ({"max_completion_tokens": 300}, 192, 300, "effort"),
        ({"max_completion_tokens": 20}, 0, 20, "max_completion_tokens"),
        ({"max_completion_tokens": 32}, 0, 32, "max_completion_tokens"),
        ({"max_completion_tokens": 100, "max_reasoning_tokens": 50}, 50, 100, "reasoning.max_tokens"),
        # budget_usd: (0.0021 - 100 * 0.000001) / 0.00001 = 200 tokens in all
        ({"budget_usd": 0.0021}, 168, 200, "budget_usd"),
        ({"budget_usd": 0.0021, "effort": "low"}, 64, 200, "effort"),
        ({"budget_usd": 0.0021, "max_completion_tokens": 150}, 118, 150, "max_completion_tokens"),
        ({"budget_usd": 1.0}, 192, 3996, "effort"),
        # a floor lifts the default effort but never an explicit cap
        ({"min_reasoning_tokens": 300}, 300, 3996, "effort"),
        ({"min_reasoning_tokens": 100}, 192, 3996, "effort"),
        ({"min_reasoning_tokens": 300, "effort": "low"}, 64, 3996, "effort"),
    ],
)
def test_resolution_table(spec, reasoning, max_tokens, limited_by):
    got = limits(**spec)
    assert (got.reasoning_tokens, got.max_tokens, got.limited_by) == (reasoning, max_tokens, limited_by)
    assert got.reasoning_tokens <= max(0, got.max_tokens - POLICY.answer_reserve) or got.reasoning_tokens == 0


def test_min_tokens_is_exact_and_clamped_to_the_cap():
    assert limits(min_reasoning_tokens=50).min_reasoning_tokens == 50
    assert limits(min_reasoning_tokens=300, effort="low").min_reasoning_tokens == 64
    assert limits().min_reasoning_tokens == 0


def test_min_above_max_in_the_same_object_is_rejected():
    with pytest.raises(InvalidRequest) as err:
        limits(min_reasoning_tokens=10, max_reasoning_tokens=5)
    assert err.value.param == "reasoning.min_tokens"


def test_unknown_effort_is_rejected():
    with pytest.raises(InvalidRequest) as err:
        limits(effort="extreme")
    assert err.value.param == "reasoning_effort"


def test_dollar_budget_below_the_prompt_cost_is_too_small():
    with pytest.raises(BudgetTooSmall) as err:
        limits(budget_usd=0.000099)  # the prompt alone costs 0.0001
    assert err.value.code == "budget_too_small" and err.value.param == "reasoning.budget_usd"


def test_dollar_budget_that_cannot_pay_a_minimal_answer_is_too_small():
    with pytest.raises(BudgetTooSmall):
        limits(budget_usd=0.0001 + 31 * 0.00001)  # 31 tokens < the 32-token answer reserve
    assert limits(budget_usd=0.0001 + 32 * 0.00001).max_tokens == 32


def test_dollar_budget_is_shared_by_all_chains():
    got = limits(budget_usd=0.0021, chains=4)  # 200 tokens for 4 chains
    assert got.max_tokens == 50 and got.reasoning_tokens == 18
    with pytest.raises(BudgetTooSmall):
        limits(budget_usd=0.0021, chains=7)  # 28 tokens each: no room for an answer


def test_prompt_that_fills_the_context_is_rejected():
    with pytest.raises(ContextTooLong) as err:
        limits(prompt_tokens=4096, context=4096)
    assert err.value.param == "messages"
    assert limits(prompt_tokens=4090, context=4096).max_tokens == 6
