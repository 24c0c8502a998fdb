"""Wire models shared by the endpoints: the base model and our `reasoning` extension object."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reasoning.types import BudgetSpec

Effort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max", "auto"]
SummaryMode = Literal["none", "auto", "concise", "detailed"]
# What vLLM's samplers take as a seed (a 64-bit generator seed); a search adds the sample's
# index to it, so leave room for that.
MAX_SEED = 2**63 - 1 - 128
MAX_TOKENS = 10_000_000  # far beyond any context; larger numbers are a mistake, not a budget

# Characters no tokenizer should be handed: NUL, lone UTF-16 surrogates (valid JSON escapes
# such as "\ud800", but not text: the tokenizer fails on them) and Unicode's non-characters.
_NONCHARACTERS = "".join(rf"\U{plane:04x}fffe\U{plane:04x}ffff" for plane in range(17))
_UNREADABLE = re.compile(rf"[\x00\ud800-\udfff\ufdd0-\ufdef{_NONCHARACTERS}]")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        return [s for pair in value.items() for s in _strings(list(pair))]
    return []  # numbers, and nested wire models, which check their own fields


class WireModel(BaseModel):
    """Strict about the types of what we read (a string is not a number), tolerant of
    fields we do not use, as OpenAI clients send many. Every string is checked to be text a
    tokenizer can read, so bad characters are a 400 naming the field, not a tokenizer's 500."""

    model_config = ConfigDict(strict=True, extra="ignore")

    @field_validator("*", mode="after")
    @classmethod
    def _readable_text(cls, value: Any) -> Any:
        if any(_UNREADABLE.search(text) for text in _strings(value)):
            raise ValueError("text may not hold NUL characters, lone surrogates or Unicode non-characters")
        return value


class ReasoningOptions(WireModel):
    """The `reasoning` extension object, the same on every endpoint."""

    model_config = ConfigDict(strict=True, extra="forbid")

    effort: Effort | None = None
    max_tokens: int | None = Field(None, ge=0, le=MAX_TOKENS)
    min_tokens: int | None = Field(None, ge=0, le=MAX_TOKENS)
    budget_usd: float | None = Field(None, ge=0, le=1_000_000)
    summary: SummaryMode | None = None
    strategy: Literal["single", "self_consistency", "adaptive"] = "single"
    samples: int | None = Field(None, ge=1, le=64)
    early_exit: bool = False  # probe each chain's answer as it thinks; stop once it is settled
    confidence: bool = True  # searches weigh, filter and stop chains by their confidence


def search_fields(options: ReasoningOptions | None) -> dict:
    """The ReasoningRequest fields of how to search, from the extension object."""
    options = options or ReasoningOptions()
    return {
        "strategy": options.strategy,
        "samples": options.samples,
        "early_exit": options.early_exit,
        "confidence": options.confidence,
    }


def budget_spec(options: ReasoningOptions | None, effort: str | None, max_completion_tokens: int | None) -> BudgetSpec:
    """One BudgetSpec from the top-level fields and the extension object."""
    options = options or ReasoningOptions()
    return BudgetSpec(
        effort=options.effort or effort,
        max_reasoning_tokens=options.max_tokens,
        min_reasoning_tokens=options.min_tokens,
        budget_usd=options.budget_usd,
        max_completion_tokens=max_completion_tokens,
    )
