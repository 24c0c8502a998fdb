"""One request's life, top to bottom.

    prepare: check the model, render the chat template, resolve the budget (every 4xx here)
    run:     the strategy generates chains through the engine, the reasoning cap enforced
             inside it; each chain's reasoning is split from its answer as tokens arrive and
             never leaves here except into the trace store (or sealed, when asked)
             -> store the trace, durably -> Done(Outcome) with exact usage and cost

`Reasoner.run` yields `ThinkingDone` when thinking ends (with a summary or sealed reasoning
when asked), `AnswerDelta`s as the answer streams, `KeepAlive`s while the model thinks in
silence, and one final `Done`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from reasoning import budget, encrypted_content, strategies
from reasoning.budget import BudgetPolicy, Limits
from reasoning.chain import ChainState, ticking
from reasoning.engine import Engine, GenerationParams, Prompt
from reasoning.errors import BudgetTooSmall, InvalidRequest, NotFound
from reasoning.pricing import PriceTable
from reasoning.store import TraceStore
from reasoning.store.crypto import PurposeKeys
from reasoning.summarize import Summarizer
from reasoning.think import ThinkSplitter
from reasoning.types import (
    AUTO,
    AnswerDelta,
    Choice,
    Done,
    Event,
    KeepAlive,
    Outcome,
    ReasoningRequest,
    ThinkingDone,
    Trace,
    Usage,
)


@dataclass(frozen=True)
class Plan:
    """A checked request, rendered and priced, ready to run."""

    request: ReasoningRequest
    prompt: Prompt
    limits: Limits  # for one chain, before anything is spent
    most_chains: int = 1  # the most chains its strategy may generate
    trace_id: str = field(default_factory=lambda: f"rs_{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def strategy(self) -> str:
        return strategy_of(self.request)

    @property
    def most_completion_tokens(self) -> int:
        """The worst case: every chain it may run, each to the per-chain cap (a search's later
        rounds only get less), so a per-key budget can hold it before anything runs."""
        return self.most_chains * self.limits.max_tokens


def strategy_of(request: ReasoningRequest) -> str:
    return "auto" if request.budget.effort == AUTO else request.strategy


@dataclass(frozen=True)
class ReasonerConfig:
    policy: BudgetPolicy
    prices: PriceTable
    keepalive_seconds: float
    default_samples: int = 5  # for search strategies that name no `samples`
    adaptive_confidence: float = 0.9  # stop sampling once the leader is this likely ahead


class Reasoner:
    def __init__(
        self, engine: Engine, store: TraceStore, summarizer: Summarizer, sealer: PurposeKeys, config: ReasonerConfig
    ) -> None:
        self.engine = engine
        self.store = store
        self.summarizer = summarizer
        self.sealer = sealer  # keys for encrypted_content
        self.config = config

    def prepare(self, request: ReasoningRequest) -> Plan:
        """Check, render and price the request before any engine work; raises on bad input."""
        if request.model != self.engine.model_name:
            raise NotFound(f"the model '{request.model}' does not exist", param="model", code="model_not_found")
        if request.n > 1 and strategy_of(request) != "single":
            raise InvalidRequest("n > 1 works with the single strategy only; search returns one answer", param="n")
        prompt = self.engine.render(request.messages, thinking=True)
        limits = self.limits(request, prompt, chains=request.n)
        if not limits.thinking:
            prompt = self.engine.render(request.messages, thinking=False)
            limits = self.limits(request, prompt, chains=request.n)
        return Plan(request, prompt, limits, strategies.most_chains(request, strategy_of(request), self.config))

    def limits(self, request: ReasoningRequest, prompt: Prompt, chains: int, spent: int = 0) -> Limits:
        return budget.resolve(
            request.budget,
            policy=self.config.policy,
            price=self.config.prices.for_model(request.model),
            prompt_tokens=len(prompt.token_ids),
            context_length=self.engine.context_length,
            chains=chains,
            spent=spent,
            shared=strategy_of(request) != "single",  # chains of one search share the caps
        )

    async def run(self, plan: Plan) -> AsyncIterator[Event]:
        session = Session(self, plan)
        async for event in strategies.STRATEGIES[plan.strategy](session):
            yield event
        outcome = session.outcome()
        if plan.request.store:
            await self.store.put(session.trace(outcome))
        yield Done(outcome)


class Session:
    """One request in flight: every chain generated for it, its spend, its heartbeat."""

    def __init__(self, reasoner: Reasoner, plan: Plan) -> None:
        self.reasoner = reasoner
        self.plan = plan
        self.request = plan.request
        self.chains: list[ChainState] = []
        self.choices: list[int] = []  # indexes into chains of what the client gets
        self.votes: dict[str, int] | None = None
        self.stopped_by_budget = False
        self._last_shown = time.monotonic()

    @property
    def spent(self) -> int:
        return sum(c.splitter.completion_tokens for c in self.chains)

    def limits(self, chains: int, prompt: Prompt | None = None) -> Limits | None:
        """Per-chain limits for a further round of `chains`, or None when what is left of
        the budget cannot pay each of them a minimal answer."""
        try:
            limits = self.reasoner.limits(self.request, prompt or self.plan.prompt, chains, self.spent)
        except BudgetTooSmall:
            return None
        return limits if limits.max_tokens >= self.reasoner.config.policy.answer_reserve else None

    async def generate(
        self, prompt: Prompt, limits: Limits, count: int, *, show: bool, prefix: str = ""
    ) -> AsyncIterator[Event]:
        """One engine request of `count` chains, added to the session. With `show`, each
        chain's thinking-done and answer stream out as its choice; otherwise they stay here
        until a strategy picks a winner."""
        markers = self.reasoner.engine.markers
        states = [ChainState(ThinkSplitter(markers, in_reasoning=prompt.in_reasoning), prefix) for _ in range(count)]
        self.chains += states
        sampling = self.request.sampling
        params = GenerationParams(
            max_tokens=limits.max_tokens,
            reasoning_tokens=limits.reasoning_tokens,
            min_reasoning_tokens=limits.min_reasoning_tokens,
            n=count,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            seed=sampling.seed,
            stop=sampling.stop,
            logprobs=not show,
        )
        request_id = f"{self.request.request_id or self.plan.trace_id}-{uuid.uuid4().hex[:8]}"
        deltas = self.reasoner.engine.generate(prompt, params, request_id)
        async for batch in ticking(deltas, self.reasoner.config.keepalive_seconds):
            for delta in batch:
                chain = states[delta.index]
                text = chain.take(delta)
                if show and chain.done is None and chain.thought:
                    yield await self.thinking_done(delta.index, chain)
                if show and text:
                    yield self.shown(AnswerDelta(delta.index, text))
            if alive := self.heartbeat():
                yield alive

    def shown(self, event: Event) -> Event:
        self._last_shown = time.monotonic()
        return event

    def heartbeat(self) -> KeepAlive | None:
        """Hidden thinking shows the client nothing: say we are alive every interval."""
        if time.monotonic() - self._last_shown < self.reasoner.config.keepalive_seconds:
            return None
        return self.shown(KeepAlive())

    async def thinking_done(self, index: int, chain: ChainState) -> ThinkingDone:
        """What the client may see of a chain's finished thinking: summary, sealed reasoning."""
        summary = sealed = None
        if self.request.summary != "none":
            made = await self.reasoner.summarizer.summarize(chain.raw_reasoning, self.request.summary)
            summary, chain.summary_tokens = made.text, made.tokens
        if self.request.seal_reasoning:
            ring, owner = self.reasoner.sealer.ring, self.request.owner
            sealed = encrypted_content.seal(ring, self.plan.trace_id, owner, chain.raw_reasoning)
        chain.done = ThinkingDone(index, summary, sealed)
        return chain.done

    async def reveal(self, winner: int) -> AsyncIterator[Event]:
        """Show one chain, chosen after the fact, as the only choice."""
        self.choices = [winner]
        chain = self.chains[winner]
        yield await self.thinking_done(0, chain)
        if chain.answer_text:
            yield self.shown(AnswerDelta(0, chain.answer_text))

    def outcome(self) -> Outcome:
        cap = self.plan.limits.reasoning_tokens
        choices = tuple(self._choice(i, self.chains[c], cap) for i, c in enumerate(self.choices))
        usage = Usage(
            prompt_tokens=len(self.plan.prompt.token_ids),
            completion_tokens=self.spent,
            reasoning_tokens=sum(c.splitter.reasoning_tokens for c in self.chains),
            summary_tokens=sum(c.summary_tokens for c in self.chains),
        )
        price = self.reasoner.config.prices.for_model(self.request.model)
        return Outcome(
            trace_id=self.plan.trace_id,
            request_id=self.request.request_id,
            model=self.request.model,
            created=self.plan.created,
            choices=choices,
            usage=usage,
            cost_usd=price.cost(usage.prompt_tokens, usage.completion_tokens),
            budget_tokens=cap,
            budget_exhausted=self.stopped_by_budget or any(c.budget_exhausted for c in choices),
            stored=self.request.store,
            chains=len(self.chains),
            votes=self.votes,
        )

    @staticmethod
    def _choice(index: int, chain: ChainState, cap: int) -> Choice:
        done = chain.done or ThinkingDone(index)
        return Choice(
            index=index,
            answer=chain.answer_text,
            finish_reason="length" if chain.finish_reason == "length" else "stop",
            reasoning_tokens=chain.splitter.reasoning_tokens,
            completion_tokens=chain.splitter.completion_tokens,
            budget_exhausted=chain.exhausted(cap),
            summary=done.summary,
            encrypted_content=done.encrypted_content,
        )

    def trace(self, outcome: Outcome) -> Trace:
        return Trace(
            id=outcome.trace_id,
            owner=self.request.owner,
            model=outcome.model,
            request_id=self.request.request_id,
            created_at=time.time(),
            prompt_tokens=outcome.usage.prompt_tokens,
            completion_tokens=outcome.usage.completion_tokens,
            reasoning_tokens=outcome.usage.reasoning_tokens,
            cost_usd=outcome.cost_usd,
            budget_tokens=outcome.budget_tokens,
            chains=tuple(chain.record(i) for i, chain in enumerate(self.chains)),
        )
