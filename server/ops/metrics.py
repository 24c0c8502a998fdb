"""Every Prometheus collector of the server, declared once, recorded only through its methods
(a generating request's from the serving pipeline's one observer, server/serving.py).

Labels are bounded: the served model name, the endpoint, a status class, a token kind,
a role. Never user text, never a key. vLLM's own `vllm:*` engine metrics live in the
process-wide registry and are exposed beside ours on /metrics.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from reasoning.types import Outcome

TOKEN_BUCKETS = (0, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536)
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320, 640)
# Every value a label may take, besides the served model name (one per server).
ENDPOINTS = ("chat", "responses", "messages", "traces")  # the names server/ops/middleware.py gives paths
GENERATING_ENDPOINTS = ("chat", "responses", "messages")
STATUS_CLASSES = ("2xx", "4xx", "5xx")  # 1xx and 3xx are never answered; 499 (client gone) is 4xx
TOKEN_KINDS = ("prompt", "reasoning", "answer", "summary")
ROLES = ("user", "admin")
BACKGROUND_STATES = ("queued", "in_progress")
BACKGROUND_ENDS = ("completed", "incomplete", "failed", "cancelled")


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
        self.first_answer_seconds = Histogram(
            "reasoning_time_to_first_answer_token_seconds",
            "Time until the first visible answer text.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge("reasoning_requests_in_flight", "Requests being generated now.", registry=r)
        self.queued = Gauge("reasoning_requests_queued", "Requests waiting for room in the engine.", registry=r)
        self.shed = Counter(
            "reasoning_requests_shed", "Requests refused with 429 because the server was at capacity.", registry=r
        )
        self.trace_reads = Counter("reasoning_trace_reads", "Raw reasoning reads by role.", ["role"], registry=r)
        self.store_errors = Counter(
            "reasoning_trace_store_errors", "Trace store failures by operation.", ["operation"], registry=r
        )
        # key_id is the key's public id (key_…), never its secret.
        self.key_spend = Gauge(
            "reasoning_key_spend_ratio",
            "Share of each budgeted key's budget spent this period.",
            ["key_id"],
            registry=r,
        )
        self.background = Gauge(
            "reasoning_background_responses",
            "Background responses this replica holds, by state.",
            ["state"],
            registry=r,
        )
        self.background_ended = Counter(
            "reasoning_background_finished", "Background responses ended, by final status.", ["status"], registry=r
        )
        self._start_at_zero()

    def _start_at_zero(self) -> None:
        """Create every series whose labels are known in advance, at 0: a counter whose series
        appears already at 1 hides that first increase from rate() and increase(), so the
        first error, or the first exhausted budget, would never show nor alert."""
        model = self.model
        for endpoint in ENDPOINTS:
            for status in STATUS_CLASSES:
                self.requests.labels(model, endpoint, status)
        for endpoint in GENERATING_ENDPOINTS:
            self.duration.labels(model, endpoint)
        for kind in TOKEN_KINDS:
            self.tokens.labels(model, kind)
        for collector in (self.reasoning_tokens, self.budget_exhausted, self.cost, self.first_answer_seconds):
            collector.labels(model)
        for role in ROLES:
            self.trace_reads.labels(role)
        for state in BACKGROUND_STATES:
            self.background.labels(state)
        for status in BACKGROUND_ENDS:
            self.background_ended.labels(status)

    def count_store_error(self, operation: str) -> None:
        self.store_errors.labels(operation).inc()

    def count_request(self, endpoint: str, status: int) -> None:
        self.requests.labels(self.model, endpoint, status_class(status)).inc()

    def count_shed(self) -> None:
        self.shed.inc()

    def watch_queue(self, length: Callable[[], int]) -> None:
        self.queued.set_function(length)

    def count_trace_read(self, role: str) -> None:
        self.trace_reads.labels(role).inc()

    def set_key_spend(self, key_id: str, spent_ratio: float) -> None:
        self.key_spend.labels(key_id).set(spent_ratio)

    def request_started(self) -> None:
        self.in_flight.inc()

    def first_answer(self, seconds: float) -> None:
        self.first_answer_seconds.labels(self.model).observe(seconds)

    def request_finished(self, endpoint: str, seconds: float) -> None:
        self.in_flight.dec()
        self.duration.labels(self.model, endpoint).observe(seconds)

    def outcome(self, outcome: Outcome) -> None:
        usage, model = outcome.usage, self.model
        self.tokens.labels(model, "prompt").inc(usage.prompt_tokens)
        self.tokens.labels(model, "reasoning").inc(usage.reasoning_tokens)
        self.tokens.labels(model, "answer").inc(usage.answer_tokens)
        self.tokens.labels(model, "summary").inc(usage.summary_tokens)
        self.reasoning_tokens.labels(model).observe(usage.reasoning_tokens)
        self.cost.labels(model).inc(outcome.cost.usd)
        if outcome.budget_exhausted:
            self.budget_exhausted.labels(model).inc()

    def background_moved(self, left: str | None, entered: str | None) -> None:
        """A background response left one state (None: it was new) for another (None: it ended)."""
        if left is not None:
            self.background.labels(left).dec()
        if entered is not None:
            self.background.labels(entered).inc()

    def background_finished(self, status: str) -> None:
        self.background_ended.labels(status).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry) + generate_latest(REGISTRY)
