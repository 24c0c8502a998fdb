"""Each strategy driven directly, without HTTP: a Reasoner over the scripted engine."""

from __future__ import annotations

from dataclasses import replace

from reasoning.chain import ChainState
from reasoning.profiles import GENERIC, ModelProfile
from reasoning.profiles import TINY_REASONER as TINY
from reasoning.sampling import ChainSampler
from reasoning.search import Decision, Search, consistency
from reasoning.search.sampler import Sampler
from reasoning.types import AnswerDelta, BudgetSpec, Done, Message, ReasoningRequest, Sampling, ThinkingDone
from tests.unit.doubles import KeptTraces, ScriptedEngine, scripted_reasoner

RIGHT = "347*29\n7*9=63\n=10063\n</think>\nThe answer is 10063."
WRONG = "347*29\n7*9=63\n=10073\n</think>\nThe answer is 10073."
QUESTION = ReasoningRequest("tiny-reasoner", (Message("user", "What is 347 * 29?"),), BudgetSpec(effort="high"))


async def run(
    engine: ScriptedEngine,
    request: ReasoningRequest = QUESTION,
    vault: KeptTraces | None = None,
    profile: ModelProfile = GENERIC,
):
    reasoner = scripted_reasoner(engine, vault, profile)
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


def thinking(steps: int, result: int, check: str = "1=1 ok") -> str:
    lines = [f"step {i}: {i}*7={i * 7}" for i in range(steps)]
    return "\n".join([*lines, f"={result}", "check", check])


async def test_auto_exits_early_once_its_probes_agree_and_bills_them():
    long = thinking(40, 42)
    engine = ScriptedEngine(script=f"{long}\n</think>\nThe answer is 42.", probe_answers=["42."])
    vault = KeptTraces()
    _, outcome = await run(engine, asking(budget=BudgetSpec(effort="auto")), vault, profile=TINY)
    [chain] = vault.traces[0].chains
    assert outcome.chains == 1 and outcome.choices[0].answer == "The answer is 42."
    assert chain.ended_by == "early_exit" and len(chain.probes) >= 2
    assert chain.reasoning_tokens < len(long)  # thinking stopped short of its end
    assert outcome.probe_tokens == sum(p.completion_tokens for p in chain.probes) > 0
    assert outcome.usage.completion_tokens == chain.completion_tokens + outcome.probe_tokens
    assert outcome.usage.reasoning_tokens == chain.reasoning_tokens + outcome.probe_tokens
    assert not outcome.budget_exhausted


async def test_auto_thinks_with_more_chains_when_its_first_failed_its_own_check():
    failed = f"{thinking(3, 43, '1=7 wrong')}\n</think>\nThe answer is 43."
    passed = f"{thinking(3, 42)}\n</think>\nThe answer is 42."
    engine = ScriptedEngine(scripts=[failed, passed, passed, passed], probe_answers=["4", "3", "2", "1"])
    _, outcome = await run(
        engine, replace(asking(budget=BudgetSpec(effort="auto")), sampling=Sampling(0)), profile=TINY
    )
    assert outcome.chains > 1 and outcome.choices[0].answer == "The answer is 42."
    assert {call.temperature for call in engine.calls[1:]} == {0.8}  # greedy chains would all be the same


async def test_a_vote_weighs_what_the_model_s_own_checks_said():
    failed = f"{thinking(3, 43, '1=7 wrong')}\n</think>\nThe answer is 43."
    passed = f"{thinking(3, 42)}\n</think>\nThe answer is 42."
    engine = ScriptedEngine(scripts=[failed, failed, passed])
    _, outcome = await run(engine, asking(strategy="self_consistency", samples=3), profile=TINY)
    assert outcome.votes == {"43": 2, "42": 1} and outcome.choices[0].answer == "The answer is 42."


async def test_adaptive_ends_a_chain_less_confident_than_its_first_round_and_drops_its_vote():
    def said(answer: int) -> str:
        return f"{thinking(30, answer)}\n</think>\nThe answer is {answer}."

    engine = ScriptedEngine(scripts=[said(42), said(42), said(43), said(41), said(42)])
    engine.logprobs = [-0.05, -0.05, -0.05, -2.0, -0.05]  # the first round disagrees; the 4th chain is unsure
    vault = KeptTraces()
    _, outcome = await run(engine, asking(strategy="adaptive", samples=5), vault)
    stopped = [c for c in vault.traces[0].chains if c.ended_by == "low_confidence"]
    assert len(stopped) == 1 and stopped[0].completion_tokens < len(said(41))  # its tokens unspent
    assert outcome.votes == {"42": 3, "43": 1}  # it does not vote
    assert outcome.choices[0].answer == "The answer is 42."


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

    @property
    def profile(self):
        return self.inner.profile

    async def sample(self, count, limits, *, show=False, watch=None) -> list[ChainState]:
        self.rounds.append(count)
        return await self.inner.sample(count, limits, show=show, watch=watch)


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
