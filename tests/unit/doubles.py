"""Test doubles for unit tests only: a scripted Engine that speaks the Engine protocol
with character tokens. The end-to-end tests use the real vLLM engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from reasoning.engine import ChainDelta, EngineConfig, GenerationParams, Prompt
from reasoning.think import ThinkMarkers
from reasoning.types import Message

START, END = 1000, 1001
MARKERS = ThinkMarkers("<think>", "</think>", START, END, start_suffix=(ord("\n"),), end_prefix=(ord("\n"),))


def char_tokens(text: str) -> list[tuple[int, str]]:
    out, i = [], 0
    while i < len(text):
        if text.startswith("</think>", i):
            out.append((END, "</think>"))
            i += 8
        else:
            out.append((ord(text[i]), text[i]))
            i += 1
    return out


@dataclass
class ScriptedEngine:
    """Replays `script` (reasoning, then "\\n</think>\\n", then the answer) for every chain,
    honouring the reasoning cap by cutting the reasoning and forcing the end marker."""

    script: str = "1+1=2\n</think>\nThe answer is 2."
    delay: float = 0.0
    model_name: str = "tiny-reasoner"
    context_length: int = 1024
    markers: ThinkMarkers = MARKERS
    calls: list[GenerationParams] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)
    rendered: list[Sequence[Message]] = field(default_factory=list)
    running: int = 0

    def render(self, messages: Sequence[Message], *, thinking: bool) -> Prompt:
        self.rendered.append(messages)
        text = "".join(f"<|{m.role}|>{m.content}" for m in messages) + ("<think>\n" if thinking else "")
        return Prompt(tuple(ord(c) for c in text), in_reasoning=thinking)

    def count_tokens(self, text: str) -> int:
        return len(char_tokens(text))

    async def generate(
        self, prompt: Prompt, params: GenerationParams, request_id: str
    ) -> AsyncIterator[list[ChainDelta]]:
        self.calls.append(params)
        reasoning, _, answer = self.script.partition("\n</think>\n")
        text = reasoning[: params.reasoning_tokens] + "\n</think>\n" + answer
        tokens = char_tokens(text)[: params.max_tokens]
        self.running += 1
        finished = False
        try:
            for position, (token, piece) in enumerate(tokens, start=1):
                await asyncio.sleep(self.delay)
                last = position == len(tokens)
                reason = ("length" if len(tokens) == params.max_tokens else "stop") if last else None
                yield [ChainDelta(i, (token,), piece, reason) for i in range(params.n)]
            finished = True
        finally:
            self.running -= 1
            if not finished:
                self.aborted.append(request_id)

    async def abort(self, request_id: str) -> None:
        self.aborted.append(request_id)

    def unfinished_requests(self) -> int:
        return self.running

    async def close(self) -> None:
        return None


def scripted_factory(engine: ScriptedEngine):
    async def start(_: EngineConfig) -> ScriptedEngine:
        return engine

    return start
