"""The Sampler a strategy runs its chains through: the engine, with what the client may see.

Each chain's reasoning is split from its answer as tokens arrive (`ChainState`) and never
leaves here except into its ChainState (which the Reasoner stores) or, when asked, sealed as
encrypted_content. A shown chain streams its thinking-done and answer deltas as they come;
hidden thinking shows the client a keep-alive every interval instead.

`run` drives the strategy and yields these events while it decides, then its Decision.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable

from reasoning.budget import Budget, Limits
from reasoning.chain import ChainState, ticking
from reasoning.engine import Engine, GenerationParams, Prompt
from reasoning.search import Decision
from reasoning.summarize import Summarizer
from reasoning.think import ThinkSplitter
from reasoning.types import AnswerDelta, Event, KeepAlive, ReasoningRequest, ThinkingDone
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
    ) -> None:
        self.budget = budget
        self.chains: list[ChainState] = []  # every chain generated for the request, in order
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
        return sum(c.splitter.completion_tokens for c in self.chains)

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
        self, count: int, limits: Limits, *, show: bool = False, resume: ChainState | None = None
    ) -> list[ChainState]:
        prompt, prefix = self._prompt_for(resume)
        markers = self._engine.markers
        states = [ChainState(ThinkSplitter(markers, prompt.in_reasoning), prefix, shown=show) for _ in range(count)]
        self.chains += states
        sampling = self._request.sampling
        params = GenerationParams(
            max_tokens=limits.max_tokens,
            reasoning_tokens=limits.reasoning_tokens,
            min_reasoning_tokens=limits.min_reasoning_tokens,
            n=count,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            seed=sampling.seed,
            stop=sampling.stop,
            logprobs=not show,  # hidden chains are voted on, and ties go to the most confident
        )
        request_id = f"{self._request.request_id or self._trace_id}-{uuid.uuid4().hex[:8]}"
        async for batch in ticking(self._engine.generate(prompt, params, request_id), self._keepalive_seconds):
            for delta in batch:
                chain = states[delta.index]
                text = chain.take(delta)
                if show and chain.done is None and chain.thought:
                    self._show(await self.thinking_done(delta.index, chain))
                if show and text:
                    self._show(AnswerDelta(delta.index, text))
            self._heartbeat()
        return states

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

    def _prompt_for(self, resume: ChainState | None) -> tuple[Prompt, str]:
        """The prompt a round continues from, and the reasoning its chains carry over."""
        if resume is None:
            return self._prompt, ""
        thought = resume.thinking_ids
        opened = self._prompt.thinking_tokens + len(thought)
        prompt = Prompt(self._prompt.token_ids + thought, in_reasoning=True, thinking_tokens=opened)
        return prompt, self._engine.decode(thought)

    def _show(self, event: Event) -> None:
        self._last_shown = time.monotonic()
        self._outbox.put_nowait(event)

    def _heartbeat(self) -> None:
        """Hidden thinking shows the client nothing: say we are alive every interval."""
        if time.monotonic() - self._last_shown >= self._keepalive_seconds:
            self._show(KeepAlive())
