"""Every Prometheus collector of the server, declared once, recorded from one observer.

Labels are bounded: the served model name, the endpoint, a status class, a token kind,
a role. Never user text, never a key. vLLM's own `vllm:*` engine metrics live in the
process-wide registry and are exposed beside ours on /metrics.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from reasoning.types import AnswerDelta, Done, Event, Outcome

TOKEN_BUCKETS = (0, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536)
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320, 640)


def status_class(status: int) -> str:
    return f"{status // 100}xx"


class Metrics:
    def __init__(self, model: str, registry: CollectorRegistry | None = None) -> None:
        self.model = model
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "reasoning_requests", "Requests by endpoint and status class.", ["model", "endpoint", "status"], registry=r
        )
        self.tokens = Counter(
            "reasoning_tokens", "Tokens by kind: prompt, reasoning, answer, summary.", ["model", "kind"], registry=r
        )
        self.reasoning_tokens = Histogram(
            "reasoning_reasoning_tokens",
            "Hidden reasoning tokens per request.",
            ["model"],
            buckets=TOKEN_BUCKETS,
            registry=r,
        )
        self.budget_exhausted = Counter(
            "reasoning_budget_exhausted", "Requests whose reasoning was ended by their budget.", ["model"], registry=r
        )
        self.cost = Counter("reasoning_cost_usd", "Dollars charged for requests.", ["model"], registry=r)
        self.duration = Histogram(
            "reasoning_request_duration_seconds",
            "Request latency, to the last byte.",
            ["model", "endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.first_answer = Histogram(
            "reasoning_time_to_first_answer_token_seconds",
            "Time until the first visible answer text.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge("reasoning_requests_in_flight", "Requests being generated now.", registry=r)
        self.trace_reads = Counter("reasoning_trace_reads", "Raw reasoning reads by role.", ["role"], registry=r)

    def count_request(self, endpoint: str, status: int) -> None:
        self.requests.labels(self.model, endpoint, status_class(status)).inc()

    async def observed(self, events: AsyncIterator[Event], endpoint: str) -> AsyncIterator[Event]:
        """Pass a request's events through, recording its latency, first answer and outcome."""
        started = time.monotonic()
        answered = False
        self.in_flight.inc()
        try:
            async for event in events:
                if isinstance(event, AnswerDelta) and not answered:
                    answered = True
                    self.first_answer.labels(self.model).observe(time.monotonic() - started)
                elif isinstance(event, Done):
                    self._record(event.outcome)
                yield event
        finally:
            self.in_flight.dec()
            self.duration.labels(self.model, endpoint).observe(time.monotonic() - started)

    def _record(self, outcome: Outcome) -> None:
        usage, model = outcome.usage, self.model
        self.tokens.labels(model, "prompt").inc(usage.prompt_tokens)
        self.tokens.labels(model, "reasoning").inc(usage.reasoning_tokens)
        self.tokens.labels(model, "answer").inc(usage.answer_tokens)
        self.tokens.labels(model, "summary").inc(usage.summary_tokens)
        self.reasoning_tokens.labels(model).observe(usage.reasoning_tokens)
        self.cost.labels(model).inc(outcome.cost_usd)
        if outcome.budget_exhausted:
            self.budget_exhausted.labels(model).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry) + generate_latest(REGISTRY)
