"""Each strategy driven directly, without HTTP: a Reasoner over the scripted engine."""

from __future__ import annotations

from dataclasses import replace

from reasoning.chain import ChainState
from reasoning.sampling import ChainSampler
from reasoning.search import Decision, Search, consistency
from reasoning.search.sampler import Sampler
from reasoning.types import AnswerDelta, BudgetSpec, Done, Message, ReasoningRequest, ThinkingDone
from tests.unit.doubles import KeptTraces, ScriptedEngine, scripted_reasoner

RIGHT = "347*29\n7*9=63\n=10063\n</think>\nThe answer is 10063."
WRONG = "347*29\n7*9=63\n=10073\n</think>\nThe answer is 10073."
QUESTION = ReasoningRequest("tiny-reasoner", (Message("user", "What is 347 * 29?"),), BudgetSpec(effort="high"))


async def run(engine: ScriptedEngine, request: ReasoningRequest = QUESTION, vault: KeptTraces | None = None):
    reasoner = scripted_reasoner(engine, vault)
    events = [event async for event in reasoner.run(reasoner.prepare(request))]
    done = events[-1]
    assert isinstance(done, Done)
    return events[:-1], done.outcome


def asking(**fields) -> ReasoningRequest:
    return replace(QUESTION, **fields)


async def test_single_streams_every_choice_as_it_is_generated():
    events, outcome = await run(ScriptedEngine(script=RIGHT), asking(n=2))
    assert [c.answer for c in outcome.choices] == ["The answer is 10063."] * 2
    answered = "".join(e.text for e in events if isinstance(e, AnswerDelta) and e.index == 1)
    assert answered == "The answer is 10063."
    assert [e.index for e in events if isinstance(e, ThinkingDone)] == [0, 1]
    assert outcome.votes is None and outcome.chains == 2


async def test_self_consistency_answers_with_the_majority_and_one_batched_request():
    engine = ScriptedEngine(scripts=[WRONG, RIGHT, RIGHT], logprobs=[-0.01, -0.5, -0.5])
    vault = KeptTraces()
    events, outcome = await run(engine, asking(strategy="self_consistency", samples=3), vault)
    assert outcome.choices[0].answer == "The answer is 10063."
    assert outcome.votes == {"10063": 2, "10073": 1}
    assert [call.n for call in engine.calls] == [3]
    assert [e.text for e in events if isinstance(e, AnswerDelta)] == ["The answer is 10063."]  # shown once decided
    assert len(vault.traces[0].chains) == 3


async def test_adaptive_samples_until_the_vote_settles():
    engine = ScriptedEngine(scripts=[RIGHT, WRONG, RIGHT, RIGHT, RIGHT, RIGHT])
    _, outcome = await run(engine, asking(strategy="adaptive", samples=9))
    assert [call.n for call in engine.calls] == [3, 1, 1, 1]
    assert outcome.votes == {"10063": 5, "10073": 1} and not outcome.budget_exhausted


async def test_a_search_stops_when_its_tokens_run_out_and_still_answers():
    engine = ScriptedEngine(scripts=[RIGHT, WRONG])  # a vote that never settles
    spec = BudgetSpec(effort="low", max_completion_tokens=200)  # each whole chain is 64 + 32 tokens
    _, outcome = await run(engine, asking(strategy="adaptive", samples=9, budget=spec))
    assert outcome.usage.completion_tokens <= 200
    assert outcome.choices[0].answer == "The answer is 10063."
    assert outcome.budget_exhausted  # stopped by the budget, not by the vote


async def test_auto_keeps_the_probe_when_its_thinking_ends_within_the_low_budget():
    engine = ScriptedEngine(script=RIGHT)
    _, outcome = await run(engine, asking(budget=BudgetSpec(effort="auto")))
    assert [call.reasoning_tokens for call in engine.calls] == [64]
    assert outcome.chains == 1 and outcome.choices[0].answer == "The answer is 10063."


async def test_auto_resumes_a_cut_probe_and_thinks_nothing_twice():
    hard = "\n".join(f"step {i}: {i}*7={i * 7}" for i in range(20))
    engine = ScriptedEngine(script=f"{hard}\n</think>\nThe answer is 42.", logprobs=[-1.0])
    vault = KeptTraces()
    _, outcome = await run(engine, asking(budget=BudgetSpec(effort="auto")), vault)
    assert [call.reasoning_tokens for call in engine.calls] == [64, 512 - 64]
    assert outcome.chains == 2 and outcome.usage.reasoning_tokens == len(hard)
    assert vault.traces[0].chains[1].reasoning == hard  # the resumed chain reads whole


class CountingSampler:
    """The real Sampler, counting the rounds a strategy asks it for."""

    def __init__(self, sampler: Sampler) -> None:
        self.inner = sampler
        self.rounds: list[int] = []

    @property
    def budget(self):
        return self.inner.budget

    @property
    def spent(self) -> int:
        return self.inner.spent

    async def sample(self, count, limits, *, show=False, resume=None) -> list[ChainState]:
        self.rounds.append(count)
        return await self.inner.sample(count, limits, show=show, resume=resume)


async def test_a_strategy_only_decides_through_its_sampler():
    engine = ScriptedEngine(script=RIGHT)
    reasoner = scripted_reasoner(engine)
    plan = reasoner.prepare(asking(strategy="adaptive", samples=9))
    inner = ChainSampler(
        engine, plan.request, plan.prompt, plan.budget, plan.trace_id, reasoner.summarizer, reasoner.content_keys, 60
    )
    sampler = CountingSampler(inner)
    decision = await consistency.adaptive(sampler, Search("adaptive", samples=9))
    assert isinstance(decision, Decision) and sampler.rounds == [3]
    assert decision.answers[0].answer_text == "The answer is 10063." and decision.votes == {"10063": 3}
