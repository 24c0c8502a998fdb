"""One generated chain as it streams, and the engine stream with silence made visible."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field

from reasoning.certainty import Confidence
from reasoning.engine import ChainDelta
from reasoning.think import ThinkSplitter
from reasoning.types import Chain, Probe, ThinkingDone


@dataclass
class ChainState:
    """A chain's splitter, its reasoning and answer so far, and what the client saw of it."""

    splitter: ThinkSplitter
    prefix: str = ""  # reasoning carried over from the chain this one resumes
    reasoning: list[str] = field(default_factory=list)
    answer: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    cumulative_logprob: float = 0.0
    logprob_at_close: float | None = None  # cumulative log-probability when thinking ended
    done: ThinkingDone | None = None
    summary_tokens: int = 0
    shown: bool = False  # its thinking-done and answer streamed to the client as they came
    confidence: Confidence = field(default_factory=Confidence)  # from its tokens' log-probabilities
    probes: list[Probe] = field(default_factory=list)  # early-exit probes forked from its thinking
    ended_by: str | None = None  # early_exit | low_confidence: the sampler ended it, not the model

    def take(self, delta: ChainDelta) -> str:
        """Absorb a delta; return the new visible answer text."""
        was_closed = self.splitter.closed
        piece = self.splitter.feed(delta.token_ids, delta.text)
        self.confidence.add(delta.logprobs)
        if delta.cumulative_logprob is not None:
            self.cumulative_logprob = delta.cumulative_logprob
        if self.splitter.closed and not was_closed:
            self.logprob_at_close = self.cumulative_logprob
        if delta.finish_reason is not None:
            self.finish_reason = delta.finish_reason
            tail = self.splitter.finish()
            piece.reasoning += tail.reasoning
            piece.answer += tail.answer
        self.reasoning.append(piece.reasoning)
        self.answer.append(piece.answer)
        return piece.answer

    def end_early(self, reason: str, answer: str = "") -> None:
        """The sampler ended this chain's generation: by early exit, with the answer its last
        probe read, or for low confidence, with none."""
        tail = self.splitter.finish()
        self.reasoning.append(tail.reasoning)
        self.answer = [answer]
        self.finish_reason, self.ended_by = "stop", reason

    @property
    def probe_tokens(self) -> int:
        return sum(p.completion_tokens for p in self.probes)

    @property
    def completion_tokens(self) -> int:
        """Everything generated for this chain, its probes included."""
        return self.splitter.completion_tokens + self.probe_tokens

    @property
    def reasoning_tokens(self) -> int:
        """Its thinking, and its probes: hidden work the caller pays for."""
        return self.splitter.reasoning_tokens + self.probe_tokens

    @property
    def thought(self) -> bool:
        """The thinking is over: closed by its marker, or the chain has finished."""
        return self.splitter.closed or self.finish_reason is not None

    @property
    def thinking_ids(self) -> tuple[int, ...]:
        """Its tokens up to the end of its first thinking span: what resumes that thinking."""
        return self.splitter.thinking_ids

    @property
    def raw_reasoning(self) -> str:
        return (self.prefix + "".join(self.reasoning)).strip()

    @property
    def answer_text(self) -> str:
        return "".join(self.answer)

    @property
    def mean_logprob(self) -> float:
        return self.cumulative_logprob / max(1, self.splitter.completion_tokens)

    @property
    def answer_mean_logprob(self) -> float | None:
        """Mean log-probability of the tokens after the thinking: how sure the answer is."""
        if self.logprob_at_close is None:
            return None
        answer_tokens = self.splitter.completion_tokens - self.splitter.reasoning_tokens
        return (self.cumulative_logprob - self.logprob_at_close) / max(1, answer_tokens)

    def exhausted(self, cap: int) -> bool:
        """Its thinking was ended by the budget rather than by the model (or an early exit)."""
        if self.ended_by == "early_exit":
            return False
        return cap > 0 and (self.splitter.reasoning_tokens >= cap or not self.splitter.closed)

    def record(self, index: int) -> Chain:
        return Chain(
            index=index,
            reasoning=self.raw_reasoning,
            answer=self.answer_text,
            reasoning_tokens=self.splitter.reasoning_tokens,
            completion_tokens=self.splitter.completion_tokens,
            finish_reason="length" if self.finish_reason == "length" else "stop",
            confidence=round(self.confidence.value, 4),
            ended_by=self.ended_by,
            probes=tuple(self.probes),
        )


async def ticking(source: AsyncIterator[list[ChainDelta]], interval: float) -> AsyncIterator[list[ChainDelta]]:
    """The source's items, and an empty item whenever `interval` seconds pass without one
    (an engine queue can be silent for long). Leaving early closes the source, which aborts
    the engine request.

    One task reads the source into a queue and one timer ticks, rearmed only when it fires:
    waiting on each item with its own task and timeout cost a sixth of the serving process's
    time at 64 streams (bench/profile_serve.py)."""
    loop = asyncio.get_running_loop()
    items: asyncio.Queue[list[ChainDelta] | BaseException | None] = asyncio.Queue()
    last = loop.time()

    async def read() -> None:
        nonlocal last
        try:
            async with aclosing(source):
                async for item in source:
                    last = loop.time()
                    items.put_nowait(item)
        except Exception as error:  # raised again by the reader, in the caller's task
            items.put_nowait(error)
        else:
            items.put_nowait(None)

    def tick() -> None:
        nonlocal last, timer
        now = loop.time()
        if now - last >= interval:
            last = now
            items.put_nowait([])
        timer = loop.call_at(last + interval, tick)

    reader = asyncio.ensure_future(read())
    timer = loop.call_at(last + interval, tick)
    try:
        while (item := await items.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        timer.cancel()
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
