"""Test doubles for unit tests only: a scripted Engine that speaks the Engine protocol
with character tokens, a vault that keeps traces in a list, and a Reasoner over both. The
end-to-end tests use the real vLLM engine and store."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from reasoning.budget import BudgetPolicy
from reasoning.engine import ChainDelta, EngineConfig, GenerationParams, Prompt
from reasoning.pricing import Price, PriceTable
from reasoning.profiles import GENERIC, ModelProfile
from reasoning.reasoner import Reasoner, ReasonerConfig
from reasoning.summarize import ExtractiveSummarizer
from reasoning.think import ThinkMarkers
from reasoning.types import Message, Trace
from reasoning.vault.crypto import KeyRing, PurposeKeys, new_key
from reasoning.vault.encrypted_content import PURPOSE

START, END = 1000, 1001
POLICY = BudgetPolicy(
    effort_tokens={"none": 0, "minimal": 16, "low": 64, "medium": 192, "high": 512, "xhigh": 1024, "max": None},
    default_effort="medium",
    answer_reserve=32,
)
PRICES = PriceTable({"tiny-reasoner": Price(0.10, 0.40)}, default=Price(1.0, 4.0))  # the server's defaults
MARKERS = ThinkMarkers(
    "<think>", "</think>", START, END, start_suffix=(ord("\n"),), end_prefix=(ord("\n"),), end_suffix=(ord("\n"),)
)


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
    """Replays scripts ("reasoning\\n</think>\\nanswer"), one per chain in turn, honouring the
    reasoning cap by cutting the reasoning and forcing the end marker, and resuming a cut
    chain from the thinking its prompt already holds. `logprobs` gives each script's
    per-token log-probability."""

    script: str = "1+1=2\n</think>\nThe answer is 2."
    scripts: list[str] = field(default_factory=list)  # overrides `script`, cycled per chain
    logprobs: list[float] = field(default_factory=list)
    probe_answers: list[str] = field(default_factory=list)
    probes: list[Prompt] = field(default_factory=list)
    delay: float = 0.0
    model_name: str = "tiny-reasoner"
    context_length: int = 1024
    markers: ThinkMarkers = MARKERS
    max_sequences: int = 256
    kv_cache_tokens: int | None = None
    calls: list[GenerationParams] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)
    rendered: list[Sequence[Message]] = field(default_factory=list)
    running: int = 0
    _chain: itertools.count = field(default_factory=itertools.count)

    def render(self, messages: Sequence[Message], *, thinking: bool) -> Prompt:
        self.rendered.append(messages)
        text = "".join(f"<|{m.role}|>{m.content}" for m in messages) + ("<think>\n" if thinking else "")
        return Prompt(tuple(ord(c) for c in text), in_reasoning=thinking)

    def count_tokens(self, text: str) -> int:
        return len(char_tokens(text))

    def encode(self, text: str) -> tuple[int, ...]:
        return tuple(token for token, _ in char_tokens(text))

    def decode(self, token_ids: Sequence[int]) -> str:
        return "".join("</think>" if t == END else chr(t) for t in token_ids)

    def _chain_tokens(self, prompt: Prompt, params: GenerationParams) -> tuple[list[tuple[int, str]], float]:
        number = next(self._chain)
        scripts = self.scripts or [self.script]
        script = scripts[number % len(scripts)]
        logprob = self.logprobs[number % len(self.logprobs)] if self.logprobs else -0.1
        reasoning, _, answer = script.partition("\n</think>\n")
        start = prompt.thinking_tokens
        text = reasoning[start : start + params.reasoning_tokens] + "\n</think>\n" + answer
        return char_tokens(text)[: params.max_tokens], logprob

    def _probe_tokens(self, prompt: Prompt) -> tuple[list[tuple[int, str]], float]:
        if self.probe_answers:
            answer = self.probe_answers[(len(self.probes) - 1) % len(self.probe_answers)]
        else:
            answer = (self.scripts or [self.script])[0].partition("\n</think>\n")[2]
        held = self.decode(prompt.token_ids[prompt.token_ids.index(END) + 2 :])  # after "</think>\n"
        return char_tokens(answer.removeprefix(held)), -0.01

    async def generate(
        self, prompt: Prompt, params: GenerationParams, request_id: str
    ) -> AsyncIterator[list[ChainDelta]]:
        if END in prompt.token_ids and not prompt.in_reasoning and params.reasoning_tokens == 0:
            self.probes.append(prompt)
            chains = [self._probe_tokens(prompt)]
        else:
            self.calls.append(params)
            chains = [self._chain_tokens(prompt, params) for _ in range(params.n)]
        self.running += 1
        finished = False
        try:
            for step in range(max(len(tokens) for tokens, _ in chains)):
                await asyncio.sleep(self.delay)
                batch = []
                for index, (tokens, logprob) in enumerate(chains):
                    if step < len(tokens):
                        last = step == len(tokens) - 1
                        reason = ("length" if len(tokens) == params.max_tokens else "stop") if last else None
                        token, piece = tokens[step]
                        logprobs = (logprob,) if params.logprobs else ()
                        batch.append(ChainDelta(index, (token,), piece, reason, logprob * (step + 1), logprobs))
                yield batch
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


@dataclass
class KeptTraces:
    """A vault that keeps every trace put into it, in order."""

    traces: list[Trace] = field(default_factory=list)

    async def put(self, trace: Trace) -> None:
        self.traces.append(trace)


def scripted_reasoner(
    engine: ScriptedEngine, vault: KeptTraces | None = None, profile: ModelProfile = GENERIC
) -> Reasoner:
    """A Reasoner over the scripted engine with the server's default budgets and prices."""
    ring = KeyRing(dict([new_key()]))
    config = ReasonerConfig(policy=POLICY, prices=PRICES, keepalive_seconds=60.0, profile=profile)
    keys = PurposeKeys(lambda: ring, PURPOSE)
    return Reasoner(engine, vault or KeptTraces(), ExtractiveSummarizer(engine.count_tokens), keys, config)
