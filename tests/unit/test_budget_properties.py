"""The one Budget, over random budgets, prompts and strategies: what a key reserves is never
below what the request is charged, the charge is the usage's cost_usd, and no chain thinks
past its reasoning cap."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reasoning.errors import InvalidRequest
from reasoning.pricing import Money
from reasoning.types import EFFORTS, BudgetSpec, Done, Message, ReasoningRequest
from server.chat.render import usage as rendered_usage
from tests.unit.doubles import PRICES, KeptTraces, ScriptedEngine, scripted_reasoner

STRATEGIES = ("single", "self_consistency", "adaptive", "auto")
scripts = st.builds(
    lambda thinking, answer: f"{thinking}\n</think>\nThe answer is {answer}.",
    st.text(alphabet="0123456789+-*= \n", max_size=700),
    st.integers(0, 99),
)
budgets = st.builds(
    BudgetSpec,
    effort=st.none() | st.sampled_from(EFFORTS),
    max_reasoning_tokens=st.none() | st.integers(0, 600),
    min_reasoning_tokens=st.none() | st.integers(0, 100),
    budget_usd=st.none() | st.integers(0, 800_000).map(lambda nanos: nanos / 10**9),
    max_completion_tokens=st.none() | st.integers(1, 900),
)


@st.composite
def cases(draw):
    strategy = draw(st.sampled_from(STRATEGIES))
    spec = draw(budgets)
    if strategy == "auto":
        spec = BudgetSpec(**{**spec.__dict__, "effort": "auto"})
    request = ReasoningRequest(
        model="tiny-reasoner",
        messages=(Message("user", draw(st.text(min_size=1, max_size=300))),),
        budget=spec,
        n=draw(st.integers(1, 3)) if strategy == "single" else 1,
        strategy="single" if strategy == "auto" else strategy,
        samples=draw(st.integers(1, 6)),
        early_exit=draw(st.booleans()),
    )
    engine = ScriptedEngine(
        scripts=draw(st.lists(scripts, min_size=1, max_size=4)),
        logprobs=draw(st.lists(st.floats(-3, 0), min_size=1, max_size=4)),
        context_length=draw(st.integers(64, 2048)),
        probe_answers=draw(st.lists(st.sampled_from(["The answer is 1.", "The answer is 2.", "2"]), max_size=3)),
    )
    return request, engine


async def outcome_of(request: ReasoningRequest, engine: ScriptedEngine, vault: KeptTraces):
    reasoner = scripted_reasoner(engine, vault)
    try:
        plan = reasoner.prepare(request)
    except InvalidRequest:  # a 400 before anything runs: nothing reserved, nothing charged
        return None, None
    events = [event async for event in reasoner.run(plan)]
    assert isinstance(events[-1], Done)
    return plan, events[-1].outcome


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_reservation_covers_the_charge_and_no_chain_passes_its_cap(case):
    request, engine = case
    vault = KeptTraces()
    plan, outcome = asyncio.run(outcome_of(request, engine, vault))
    if plan is None:
        event("refused before running")
        return
    event(f"ran {plan.search.strategy}")
    charged = outcome.cost  # what the serving pipeline settles against the key
    assert plan.worst_case >= charged  # what the pipeline reserved first
    assert rendered_usage(outcome)["cost_usd"] == charged.usd
    assert Money.at_least(charged.usd) == charged  # the rendered float is the charge, to the nano-dollar
    price = PRICES.for_model(request.model)
    assert charged == price.cost(outcome.usage.prompt_tokens, outcome.usage.completion_tokens)
    if request.budget.budget_usd is not None:
        assert charged <= Money.at_most(request.budget.budget_usd)
    caps = [call.reasoning_tokens for call in engine.calls for _ in range(call.n)]
    [trace] = vault.traces
    assert len(caps) == len(trace.chains)
    for chain, cap in zip(trace.chains, caps, strict=True):
        assert chain.reasoning_tokens <= cap <= plan.limits.reasoning_tokens
    probes = sum(p.completion_tokens for c in trace.chains for p in c.probes)
    assert outcome.usage.completion_tokens == sum(c.completion_tokens for c in trace.chains) + probes
