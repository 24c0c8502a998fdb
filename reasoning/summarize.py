"""Summaries of hidden reasoning: what a client may see of how the model thought.

The default summarizer is extractive and model-agnostic: it keeps the framing step and
the steps that state results (an `=` line, a "so"/"therefore" sentence), pairing a bare
`=value` line with the statement it concludes, and drops the working in between. A
concise summary is the framing and the conclusion; a detailed one adds the intermediate
results. Both stay under a fixed fraction of the raw reasoning, so a summary is never the
trace itself. The model-backed summarizer asks the served model to summarize, for
production models capable of it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from reasoning.engine import Engine, GenerationParams
from reasoning.think import ThinkSplitter
from reasoning.types import Message

MAX_SHARE = 0.5  # a summary is at most this share of the raw reasoning's characters
_CONCLUSION = re.compile(r"\b(so|therefore|thus|hence|answer|result|total|altogether|in sum)\b", re.I)
_RESULT_LINE = re.compile(r"^\s*=\s*(\S.*)$")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Summary:
    text: str
    tokens: int


class Summarizer(Protocol):
    async def summarize(self, reasoning: str, mode: str) -> Summary: ...


def _steps(reasoning: str) -> list[str]:
    lines = [line.strip() for line in reasoning.splitlines() if line.strip()]
    if len(lines) <= 2:  # prose: a paragraph or two, so split into sentences
        lines = [s.strip() for line in lines for s in _SENTENCE.split(line) if s.strip()]
    return lines


def key_steps(reasoning: str) -> tuple[str | None, list[str]]:
    """The framing step, and the steps that state results, in order."""
    steps = _steps(reasoning)
    if not steps:
        return None, []
    results, statement = [], steps[0]
    for step in steps[1:]:
        found = _RESULT_LINE.match(step)
        if found:
            results.append(f"{statement} = {found.group(1)}")
        elif _CONCLUSION.search(step):
            results.append(step)
        elif "=" not in step:
            statement = step  # a statement a later "=value" line may conclude
    return steps[0], results


def _render(framing: str | None, results: list[str]) -> str:
    if framing is None:
        return "; ".join(results)
    if not results:
        return framing
    return framing + (" " if framing[-1] in ".!?:" else ": ") + "; ".join(results)


def _bounded(framing: str, results: list[str], limit: int) -> str:
    """Fit under `limit` characters: drop intermediate results, then the framing, then cut
    at a word; the conclusion goes last."""
    if results and results[-1].startswith(framing):
        framing = None  # "4821+77 = 4898" already frames itself
    results = list(results)
    while len(results) > 1 and len(_render(framing, results)) > limit:
        del results[-2]
    if framing is not None and results and len(_render(framing, results)) > limit:
        framing = None
    text = _render(framing, results)
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rsplit(" ", 1)[0].rstrip(" ;:") + "…"


class ExtractiveSummarizer:
    def __init__(self, count_tokens: Callable[[str], int]) -> None:
        self._count = count_tokens

    async def summarize(self, reasoning: str, mode: str) -> Summary:
        framing, results = key_steps(reasoning)
        if framing is None:
            return Summary("", 0)
        chosen = results[-1:] if mode in ("concise", "auto") else results
        text = _bounded(framing, chosen, int(MAX_SHARE * len(reasoning)))
        return Summary(text, self._count(text))


_PROMPT = {
    "concise": "Summarize the reasoning below in one sentence: what was worked out and the conclusion.",
    "auto": "Summarize the reasoning below in one sentence: what was worked out and the conclusion.",
    "detailed": "Summarize the reasoning below in a few short sentences: the approach, the key intermediate "
    "results, and the conclusion.",
}


class ModelSummarizer:
    """Asks the served model, with thinking off, to summarize the reasoning."""

    def __init__(self, engine: Engine, max_tokens: int = 256) -> None:
        self._engine = engine
        self._max_tokens = max_tokens

    async def summarize(self, reasoning: str, mode: str) -> Summary:
        prompt = self._engine.render(
            (Message("user", f"{_PROMPT[mode]} Do not repeat it verbatim.\n\n<reasoning>\n{reasoning}\n</reasoning>"),),
            thinking=False,
        )
        limit = min(self._max_tokens, max(16, int(MAX_SHARE * self._engine.count_tokens(reasoning))))
        params = GenerationParams(max_tokens=limit, reasoning_tokens=0, temperature=0.0)
        # Should the model think anyway, only what follows its thinking is the summary.
        splitter = ThinkSplitter(self._engine.markers, in_reasoning=prompt.in_reasoning)
        text = ""
        async for batch in self._engine.generate(prompt, params, f"summary-{uuid.uuid4().hex}"):
            for delta in batch:
                text += splitter.feed(delta.token_ids, delta.text).answer
        text += splitter.finish().answer
        return Summary(text.strip(), splitter.completion_tokens)
