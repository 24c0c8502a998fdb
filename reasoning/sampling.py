"""The Sampler a strategy runs its chains through: the engine, with what the client may see.

Each chain's reasoning is split from its answer as tokens arrive (`ChainState`) and never
leaves here except into its ChainState (which the Reasoner stores) or, when asked, sealed as
encrypted_content. A shown chain streams its thinking-done and answer deltas as they come;
hidden thinking shows the client a keep-alive every interval instead.

`run` drives the strategy and yields these events while it decides, then its Decision.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import aclosing

from reasoning.budget import Budget, Limits
from reasoning.certainty import Certainty, ExitRule
from reasoning.chain import ChainState, ticking
from reasoning.engine import ChainDelta, Engine, GenerationParams, Prompt
from reasoning.profiles import GENERIC, ModelProfile
from reasoning.search import Decision
from reasoning.search.sampler import Watch
from reasoning.search.voting import final_number
from reasoning.summarize import Summarizer
from reasoning.think import ThinkSplitter
from reasoning.types import AnswerDelta, Event, KeepAlive, Probe, ReasoningRequest, ThinkingDone
from reasoning.vault import encrypted_content
from reasoning.vault.crypto import PurposeKeys

_DECIDED = object()  # the strategy has returned: no more events will come


class ChainSampler:
    def __init__(
        self,
        engine: Engine,
        request: ReasoningRequest,
        prompt: Prompt,
        budget: Budget,
        trace_id: str,
        summarizer: Summarizer,
        content_keys: PurposeKeys,
        keepalive_seconds: float,
        profile: ModelProfile = GENERIC,
        chains: list[ChainState] | None = None,
    ) -> None:
        self.budget = budget
        self.profile = profile
        # Every chain generated for the request, in order: the plan's list, so that a run cut
        # short is still charged for what it generated.
        self.chains: list[ChainState] = [] if chains is None else chains
        self._engine = engine
        self._request = request
        self._prompt = prompt
        self._trace_id = trace_id
        self._summarizer = summarizer
        self._content_keys = content_keys
        self._keepalive_seconds = keepalive_seconds
        self._outbox: asyncio.Queue[Event | object] = asyncio.Queue()
        self._last_shown = time.monotonic()

    @property
    def spent(self) -> int:
        return sum(c.completion_tokens for c in self.chains)

    async def run(self, deciding: Awaitable[Decision]) -> AsyncIterator[Event | Decision]:
        """Run a strategy, yielding what the client may see as it happens, then its Decision.
        Leaving early cancels the strategy, which aborts its engine requests."""
        task = asyncio.ensure_future(deciding)
        task.add_done_callback(lambda _: self._outbox.put_nowait(_DECIDED))
        try:
            while (event := await self._outbox.get()) is not _DECIDED:
                yield event  # type: ignore[misc]
            yield task.result()
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def sample(
        self,
        count: int,
        limits: Limits,
        *,
        show: bool = False,
        watch: Watch | None = None,
    ) -> list[ChainState]:
        prompt, markers = self._prompt, self._engine.markers
        states = [ChainState(ThinkSplitter(markers, prompt.in_reasoning), shown=show) for _ in range(count)]
        self.chains += states
        params = self._params(limits, count, show, watch)
        if watch is None:  # one engine request for all of them
            await self._generate(prompt, params, states, show)
        else:  # one engine request each, so that each can be ended alone
            seeds = [None if params.seed is None else params.seed + i for i in range(count)]
            await asyncio.gather(
                *(
                    self._watched(prompt, dataclasses.replace(params, n=1, seed=seed), state, i, show, watch)
                    for i, (state, seed) in enumerate(zip(states, seeds, strict=True))
                )
            )
        return states

    def _params(self, limits: Limits, count: int, show: bool, watch: Watch | None) -> GenerationParams:
        sampling = self._request.sampling
        temperature = sampling.temperature
        if watch is not None and watch.temperature is not None:
            temperature = watch.temperature
        return GenerationParams(
            max_tokens=limits.max_tokens,
            reasoning_tokens=limits.reasoning_tokens,
            min_reasoning_tokens=limits.min_reasoning_tokens,
            n=count,
            temperature=temperature,
            top_p=sampling.top_p,
            seed=sampling.seed,
            stop=sampling.stop,
            # hidden chains are voted on, and ties go to the most confident; watched ones are
            # weighed by their confidence
            logprobs=not show or watch is not None,
        )

    async def _generate(
        self, prompt: Prompt, params: GenerationParams, states: list[ChainState], show: bool, offset: int = 0
    ) -> None:
        async for batch in ticking(self._engine.generate(prompt, params, self._request_id()), self._keepalive_seconds):
            for delta in batch:
                await self._take(offset + delta.index, states[delta.index], delta, show)
            self._heartbeat()

    async def _take(self, index: int, chain: ChainState, delta: ChainDelta, show: bool) -> None:
        text = chain.take(delta)
        if show and chain.done is None and chain.thought:
            self._show(await self.thinking_done(index, chain))
        if show and text:
            self._show(AnswerDelta(index, text))

    async def _watched(
        self, prompt: Prompt, params: GenerationParams, chain: ChainState, index: int, show: bool, watch: Watch
    ) -> None:
        """One chain, ended early when its probes settle its answer (early exit) or when its
        confidence falls below the search's threshold; every probe it forks is awaited and kept."""
        request_id = self._request_id()
        watcher = _Watcher(self, prompt, chain, watch, request_id, params.min_reasoning_tokens)
        stream = ticking(self._engine.generate(prompt, params, request_id), self._keepalive_seconds)
        async with aclosing(stream):
            async for batch in stream:
                for delta in batch:
                    await self._take(index, chain, delta, show)
                self._heartbeat()
                if not chain.thought and watcher.ends_it():
                    break
        await watcher.finish()
        if show and chain.ended_by == "early_exit":
            self._show(await self.thinking_done(index, chain))
            self._show(AnswerDelta(index, chain.answer_text))

    async def probe(self, prompt: Prompt, chain: ChainState, rule: ExitRule, request_id: str) -> Probe:
        """End the chain's thinking where it stands, in a fork (the engine's prefix cache holds
        the prompt and the thinking), and read the answer the model would give now."""
        thought = chain.thinking_ids
        lead = self.profile.answer_prefix
        ids = prompt.token_ids + thought + self._engine.markers.end_sequence + self._engine.encode(lead)
        params = GenerationParams(max_tokens=rule.probe_tokens, reasoning_tokens=0, temperature=0.0, logprobs=True)
        text, tokens, logprob = "", 0, 0.0
        probe_id = f"{request_id}-probe{len(chain.probes)}"
        async for batch in self._engine.generate(Prompt(ids, in_reasoning=False), params, probe_id):
            for delta in batch:
                text, tokens, logprob = text + delta.text, tokens + len(delta.token_ids), logprob + sum(delta.logprobs)
        return Probe(len(thought), (lead + text).strip(), tokens, logprob / max(1, tokens))

    def _request_id(self) -> str:
        return f"{self._request.request_id or self._trace_id}-{uuid.uuid4().hex[:8]}"

    async def reveal(self, decision: Decision) -> list[Event]:
        """The chosen chains that were not streamed as they came, shown now as the choices."""
        events: list[Event] = []
        for index, chain in enumerate(decision.answers):
            if not chain.shown:
                events.append(await self.thinking_done(index, chain))
                if chain.answer_text:
                    events.append(AnswerDelta(index, chain.answer_text))
        return events

    async def thinking_done(self, index: int, chain: ChainState) -> ThinkingDone:
        """What the client may see of a chain's finished thinking: summary, sealed reasoning."""
        summary = sealed = None
        if self._request.summary != "none":
            made = await self._summarizer.summarize(chain.raw_reasoning, self._request.summary)
            summary, chain.summary_tokens = made.text, made.tokens
        if self._request.seal_reasoning:
            ring, owner = self._content_keys.ring, self._request.owner
            sealed = encrypted_content.seal(ring, self._trace_id, owner, chain.raw_reasoning)
        chain.done = ThinkingDone(index, summary, sealed)
        return chain.done

    def _show(self, event: Event) -> None:
        self._last_shown = time.monotonic()
        self._outbox.put_nowait(event)

    def _heartbeat(self) -> None:
        """Hidden thinking shows the client nothing: say we are alive every interval."""
        if time.monotonic() - self._last_shown >= self._keepalive_seconds:
            self._show(KeepAlive())


class _Watcher:
    """What a watched chain's sampler checks after each step: its confidence, and its probes."""

    def __init__(
        self, sampler: ChainSampler, prompt: Prompt, chain: ChainState, watch: Watch, request_id: str, floor: int
    ) -> None:
        self.sampler, self.prompt, self.chain, self.watch, self.request_id = sampler, prompt, chain, watch, request_id
        self.certainty = Certainty(watch.exit_rule) if watch.exit_rule else None
        self.floor = floor  # reasoning.min_tokens: no early exit before the client's minimum
        self.probing: asyncio.Task[Probe] | None = None

    def ends_it(self) -> bool:
        chain, watch = self.chain, self.watch
        if watch.stop_below is not None and (chain.confidence.lowest or 0.0) < watch.stop_below:
            chain.end_early("low_confidence")
            return True
        if self.certainty is None:
            return False
        if self.probing is not None and self.probing.done():
            probe, self.probing = self.probing.result(), None
            chain.probes.append(probe)
            if self.certainty.add(final_number(probe.answer), probe.mean_logprob):
                chain.end_early("early_exit", probe.answer)
                return True
        thought = len(chain.thinking_ids)
        if self.probing is None and thought >= self.floor and thought >= self.certainty.next_probe_at():
            rule = self.certainty.rule
            self.probing = asyncio.ensure_future(self.sampler.probe(self.prompt, chain, rule, self.request_id))
        return False

    async def finish(self) -> None:
        """A probe still running when the chain ended was spent all the same: keep it."""
        if self.probing is not None:
            self.chain.probes.append(await self.probing)
            self.probing = None
