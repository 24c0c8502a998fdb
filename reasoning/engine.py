"""The Engine protocol the domain generates through, and the values that cross it.

The one implementation is `reasoning.vllm_engine.VllmEngine`; keeping the protocol apart
lets the domain and the server load (and be unit-tested) without importing vLLM.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from reasoning.think import ThinkMarkers
from reasoning.types import Message


@dataclass(frozen=True)
class Prompt:
    token_ids: tuple[int, ...]
    in_reasoning: bool  # the rendered prompt ends inside an open thinking block
    thinking_tokens: int = 0  # of that open block, how many tokens the prompt already holds


@dataclass(frozen=True)
class GenerationParams:
    max_tokens: int
    reasoning_tokens: int
    min_reasoning_tokens: int = 0
    n: int = 1
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    logprobs: bool = False


@dataclass(frozen=True)
class ChainDelta:
    index: int
    token_ids: tuple[int, ...]
    text: str
    finish_reason: str | None  # None while the chain runs; stop | length | abort when done
    cumulative_logprob: float | None = None
    logprobs: tuple[float, ...] = ()  # each new token's log-probability, when asked for


class Engine(Protocol):
    """What the domain needs from an inference engine."""

    model_name: str
    context_length: int
    markers: ThinkMarkers
    max_sequences: int  # how many sequences the engine runs at once
    kv_cache_tokens: int | None  # how many tokens its KV cache holds; None when it cannot tell

    def render(self, messages: Sequence[Message], *, thinking: bool) -> Prompt: ...

    def count_tokens(self, text: str) -> int: ...

    def encode(self, text: str) -> tuple[int, ...]: ...

    def decode(self, token_ids: Sequence[int]) -> str: ...

    def generate(
        self, prompt: Prompt, params: GenerationParams, request_id: str
    ) -> AsyncIterator[list[ChainDelta]]: ...

    async def abort(self, request_id: str) -> None: ...

    def unfinished_requests(self) -> int: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class EngineConfig:
    model: str
    served_model_name: str
    max_model_len: int | None = None
    dtype: str = "auto"
    tensor_parallel_size: int = 1
    pipeline_parallel_size: int = 1
    enforce_eager: bool = True
    gpu_memory_utilization: float = 0.9
    seed: int = 0
    reasoning_start: str = "<think>"
    reasoning_end: str = "\n</think>\n"
    think_start_token: str = "<think>"
    think_end_token: str = "</think>"
    extra_args: dict[str, Any] = field(default_factory=dict)  # any other vLLM engine argument
