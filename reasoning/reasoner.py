"""One request's life, top to bottom.

    resolve the budget -> render the chat template -> generate with the reasoning cap enforced
    inside the engine -> split reasoning from answer as tokens arrive (reasoning never leaves
    here except into the trace store) -> store the trace -> Outcome with usage and cost.

`Reasoner.run` yields `AnswerDelta`s as the answer streams, `KeepAlive`s while the model
thinks in silence, and one final `Done(outcome)` once the trace is durable.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field

from reasoning import budget, encrypted_content
from reasoning.budget import BudgetPolicy, Limits
from reasoning.engine import ChainDelta, Engine, GenerationParams, Prompt
from reasoning.errors import NotFound
from reasoning.pricing import PriceTable
from reasoning.store import TraceStore
from reasoning.store.crypto import KeyRing
from reasoning.summarize import Summarizer
from reasoning.think import ThinkSplitter
from reasoning.types import (
    AnswerDelta,
    Chain,
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


@dataclass
class ChainState:
    """One chain as it streams: its splitter, the reasoning and answer so far, its summary."""

    splitter: ThinkSplitter
    reasoning: list[str] = field(default_factory=list)
    answer: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    done: ThinkingDone | None = None
    summary_tokens: int = 0

    def take(self, delta: ChainDelta) -> str:
        """Absorb a delta; return the new visible answer text."""
        piece = self.splitter.feed(delta.token_ids, delta.text)
        if delta.finish_reason is not None:
            self.finish_reason = delta.finish_reason
            tail = self.splitter.finish()
            piece.reasoning += tail.reasoning
            piece.answer += tail.answer
        self.reasoning.append(piece.reasoning)
        self.answer.append(piece.answer)
        return piece.answer

    @property
    def thought(self) -> bool:
        """The thinking is over: closed by its marker, or the chain has finished."""
        return self.splitter.closed or self.finish_reason is not None

    @property
    def raw_reasoning(self) -> str:
        return "".join(self.reasoning).strip()


@dataclass(frozen=True)
class Plan:
    """A checked request, priced and rendered, ready to run."""

    request: ReasoningRequest
    prompt: Prompt
    limits: Limits
    trace_id: str = field(default_factory=lambda: f"rs_{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))


@dataclass(frozen=True)
class ReasonerConfig:
    policy: BudgetPolicy
    prices: PriceTable
    keepalive_seconds: float


class Reasoner:
    def __init__(
        self, engine: Engine, store: TraceStore, summarizer: Summarizer, sealer: KeyRing, config: ReasonerConfig
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
        prompt = self.engine.render(request.messages, thinking=True)
        limits = self._limits(request, prompt)
        if not limits.thinking:
            prompt = self.engine.render(request.messages, thinking=False)
            limits = self._limits(request, prompt)
        return Plan(request, prompt, limits)

    def _limits(self, request: ReasoningRequest, prompt: Prompt) -> Limits:
        return budget.resolve(
            request.budget,
            policy=self.config.policy,
            price=self.config.prices.for_model(request.model),
            prompt_tokens=len(prompt.token_ids),
            context_length=self.engine.context_length,
            chains=request.n,
        )

    async def run(self, plan: Plan) -> AsyncIterator[Event]:
        request, prompt, limits = plan.request, plan.prompt, plan.limits
        trace_id = plan.trace_id
        chains = [
            ChainState(ThinkSplitter(self.engine.markers, in_reasoning=prompt.in_reasoning)) for _ in range(request.n)
        ]
        params = GenerationParams(
            max_tokens=limits.max_tokens,
            reasoning_tokens=limits.reasoning_tokens,
            min_reasoning_tokens=limits.min_reasoning_tokens,
            n=request.n,
            temperature=request.sampling.temperature,
            top_p=request.sampling.top_p,
            seed=request.sampling.seed,
            stop=request.sampling.stop,
        )
        deltas = self.engine.generate(prompt, params, f"{request.request_id or trace_id}-{trace_id}")
        interval = self.config.keepalive_seconds
        last_shown = time.monotonic()
        async for batch in _ticking(deltas, interval):
            for delta in batch:
                chain = chains[delta.index]
                text = chain.take(delta)
                if chain.done is None and chain.thought:
                    chain.done = await self._thinking_done(plan, delta.index, chain)
                    yield chain.done
                if text:
                    yield AnswerDelta(delta.index, text)
                    last_shown = time.monotonic()
            # Hidden thinking shows the client nothing: say we are alive every `interval`.
            if time.monotonic() - last_shown >= interval:
                yield KeepAlive()
                last_shown = time.monotonic()
        outcome = self._outcome(plan, trace_id, chains)
        if request.store:
            await self.store.put(self._trace(request, outcome, chains))
        yield Done(outcome)

    async def _thinking_done(self, plan: Plan, index: int, chain: ChainState) -> ThinkingDone:
        """What the client may see of a chain's finished thinking: summary, sealed reasoning."""
        request, summary = plan.request, None
        if request.summary != "none":
            made = await self.summarizer.summarize(chain.raw_reasoning, request.summary)
            summary, chain.summary_tokens = made.text, made.tokens
        sealed = None
        if request.seal_reasoning:
            sealed = encrypted_content.seal(self.sealer, plan.trace_id, request.owner, chain.raw_reasoning)
        return ThinkingDone(index, summary, sealed)

    def _outcome(self, plan: Plan, trace_id: str, chains: list[ChainState]) -> Outcome:
        request, limits = plan.request, plan.limits
        choices = tuple(
            Choice(
                index=i,
                answer="".join(c.answer),
                finish_reason="length" if c.finish_reason == "length" else "stop",
                reasoning_tokens=c.splitter.reasoning_tokens,
                completion_tokens=c.splitter.completion_tokens,
                budget_exhausted=limits.thinking
                and (c.splitter.reasoning_tokens >= limits.reasoning_tokens or not c.splitter.closed),
                summary=c.done.summary if c.done else None,
                encrypted_content=c.done.encrypted_content if c.done else None,
            )
            for i, c in enumerate(chains)
        )
        usage = Usage(
            prompt_tokens=len(plan.prompt.token_ids),
            completion_tokens=sum(c.completion_tokens for c in choices),
            reasoning_tokens=sum(c.reasoning_tokens for c in choices),
            summary_tokens=sum(c.summary_tokens for c in chains),
        )
        price = self.config.prices.for_model(request.model)
        return Outcome(
            trace_id=trace_id,
            request_id=request.request_id,
            model=request.model,
            created=plan.created,
            choices=choices,
            usage=usage,
            cost_usd=price.cost(usage.prompt_tokens, usage.completion_tokens),
            budget_tokens=limits.reasoning_tokens,
            budget_exhausted=any(c.budget_exhausted for c in choices),
            stored=request.store,
        )

    @staticmethod
    def _trace(request: ReasoningRequest, outcome: Outcome, chains: list[ChainState]) -> Trace:
        return Trace(
            id=outcome.trace_id,
            owner=request.owner,
            model=outcome.model,
            request_id=request.request_id,
            created_at=time.time(),
            prompt_tokens=outcome.usage.prompt_tokens,
            completion_tokens=outcome.usage.completion_tokens,
            reasoning_tokens=outcome.usage.reasoning_tokens,
            cost_usd=outcome.cost_usd,
            budget_tokens=outcome.budget_tokens,
            chains=tuple(
                Chain(
                    index=choice.index,
                    reasoning=state.raw_reasoning,
                    answer=choice.answer,
                    reasoning_tokens=choice.reasoning_tokens,
                    completion_tokens=choice.completion_tokens,
                    finish_reason=choice.finish_reason,
                )
                for choice, state in zip(outcome.choices, chains, strict=True)
            ),
        )


async def _ticking(source: AsyncIterator[list[ChainDelta]], interval: float) -> AsyncIterator[list[ChainDelta]]:
    """The source's items, and an empty item whenever `interval` seconds pass without one
    (an engine queue can be silent for long). Leaving early closes the source, which aborts
    the engine request."""
    async with aclosing(source):
        pending: asyncio.Task | None = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(anext(source))
                done, _ = await asyncio.wait({pending}, timeout=interval)
                if not done:
                    yield []
                    continue
                pending = None
                try:
                    item = done.pop().result()
                except StopAsyncIteration:
                    return
                yield item
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
                await asyncio.gather(pending, return_exceptions=True)
