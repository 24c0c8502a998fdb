"""Response headers that tell a caller where its key stands: the remaining budget (ours) and
the rate limits (OpenAI's x-ratelimit-* names)."""

from __future__ import annotations

from reasoning.accounts.rate_limits import RateState
from reasoning.pricing import Money

BUDGET_HEADER = "x-reasoning-budget-remaining-usd"


def budget_header(remaining: Money | None) -> dict[str, str]:
    """The remaining-budget header, exact to the nano-dollar; none without a budget."""
    return {} if remaining is None else {BUDGET_HEADER: str(remaining)}


def rate_headers(state: RateState | None) -> dict[str, str]:
    """OpenAI's x-ratelimit-* headers for a key's buckets; none for a key without limits."""
    headers: dict[str, str] = {}
    for kind, bucket in (("requests", state.requests), ("tokens", state.tokens)) if state else ():
        if bucket is not None:
            headers[f"x-ratelimit-limit-{kind}"] = str(bucket.limit)
            headers[f"x-ratelimit-remaining-{kind}"] = str(bucket.remaining)
            headers[f"x-ratelimit-reset-{kind}"] = _duration(bucket.reset_seconds)
    return headers


def _duration(seconds: float) -> str:
    """OpenAI's way of writing a reset time: 1s, 6m0s, 59.5s."""
    minutes, rest = divmod(round(seconds, 3), 60)
    text = f"{rest:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{int(minutes)}m{text}" if minutes else text
