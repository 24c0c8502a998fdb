"""Wire models shared by the endpoints: the base model and our `reasoning` extension object."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from reasoning.types import BudgetSpec

Effort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max", "auto"]
SummaryMode = Literal["none", "auto", "concise", "detailed"]


class WireModel(BaseModel):
    """Strict about the types of what we read (a string is not a number), tolerant of
    fields we do not use, as OpenAI clients send many."""

    model_config = ConfigDict(strict=True, extra="ignore")


class ReasoningOptions(WireModel):
    """The `reasoning` extension object, the same on every endpoint."""

    model_config = ConfigDict(strict=True, extra="forbid")

    effort: Effort | None = None
    max_tokens: int | None = Field(None, ge=0, le=10_000_000)
    min_tokens: int | None = Field(None, ge=0, le=10_000_000)
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
