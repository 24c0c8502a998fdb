"""The few value types shared across the domain and with its callers."""

from __future__ import annotations

from dataclasses import dataclass, field

from reasoning.pricing import Money

EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")  # levels with a token budget each
AUTO = "auto"  # the server picks the budget per prompt, between low and high


@dataclass(frozen=True)
class Message:
    role: str  # system | developer | user | assistant
    content: str
    reasoning: str | None = None  # an earlier assistant turn's reasoning, restored from encrypted_content


@dataclass(frozen=True)
class BudgetSpec:
    """What the client asked to spend; every field optional, the strictest wins."""

    effort: str | None = None
    max_reasoning_tokens: int | None = None
    min_reasoning_tokens: int | None = None
    budget_usd: float | None = None
    max_completion_tokens: int | None = None


@dataclass(frozen=True)
class Sampling:
    temperature: float | None = None  # None: the model's default
    top_p: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReasoningRequest:
    model: str
    messages: tuple[Message, ...]
    budget: BudgetSpec = BudgetSpec()
    sampling: Sampling = Sampling()
    n: int = 1
    summary: str = "none"
    owner: str = "local"  # the principal's key id; "local" in open mode
    request_id: str = ""
    store: bool = True
    seal_reasoning: bool = False  # return the reasoning sealed, as a Responses encrypted_content
    strategy: str = "single"  # single | self_consistency | adaptive (effort "auto" picks auto)
    samples: int | None = None  # most chains a search strategy may sample
    early_exit: bool = False  # probe each chain's answer as it thinks; stop once it is settled
    confidence: bool = True  # searches weigh, filter and stop chains by their confidence


@dataclass(frozen=True)
class Usage:
    """Exact token accounting of one request, summed over every generated chain."""

    prompt_tokens: int
    completion_tokens: int  # everything generated: reasoning, end-of-thinking marker, answer
    reasoning_tokens: int  # the thinking itself, between the markers
    cached_tokens: int = 0
    summary_tokens: int = 0  # produced by the summarizer; counted, not billed as reasoning

    @property
    def answer_tokens(self) -> int:
        return self.completion_tokens - self.reasoning_tokens

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Choice:
    index: int
    answer: str
    finish_reason: str  # stop | length
    reasoning_tokens: int
    completion_tokens: int
    budget_exhausted: bool
    summary: str | None = None
    encrypted_content: str | None = None


@dataclass(frozen=True)
class Outcome:
    """Everything a client may learn about a finished request (never the raw reasoning)."""

    trace_id: str
    request_id: str
    model: str
    created: int
    choices: tuple[Choice, ...]
    usage: Usage
    cost: Money  # what the request is charged: Budget.cost of its usage
    budget_tokens: int  # the reasoning cap each chain ran under
    budget_exhausted: bool
    stored: bool = True
    chains: int = 1  # how many chains were generated
    votes: dict[str, int] | None = None  # for search strategies: answer -> chains that gave it
    probe_tokens: int = 0  # of completion and reasoning tokens, what early-exit probes generated


@dataclass(frozen=True)
class Probe:
    """An early-exit probe: the chain's thinking ended where it stood, the answer read there."""

    at_reasoning_token: int  # how far the chain had thought
    answer: str  # hidden like the reasoning: stored in the trace only
    completion_tokens: int
    mean_logprob: float


@dataclass(frozen=True)
class Chain:
    """One generated sequence as the trace store keeps it."""

    index: int
    reasoning: str  # raw reasoning: only ever written to the trace store
    answer: str
    reasoning_tokens: int
    completion_tokens: int
    finish_reason: str
    confidence: float = 0.0  # lowest mean token log-probability over a window (0 when not asked for)
    ended_by: str | None = None  # early_exit | low_confidence, when the sampler ended it
    probes: tuple[Probe, ...] = ()

    @classmethod
    def from_record(cls, record: dict) -> Chain:
        """A chain from its stored JSON; records written before a field existed get its default."""
        probes = tuple(Probe(**p) for p in record.get("probes", ()))
        return cls(**{**record, "probes": probes})


@dataclass(frozen=True)
class Trace:
    id: str
    owner: str
    model: str
    request_id: str
    created_at: float
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cost_usd: float
    budget_tokens: int
    chains: tuple[Chain, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class AnswerDelta:
    """New visible answer text for one choice."""

    index: int
    text: str


@dataclass(frozen=True)
class ThinkingDone:
    """A choice's thinking is over; its answer follows. Carries what a client may see of
    the reasoning: the summary and the sealed reasoning, when the request asked for them."""

    index: int
    summary: str | None = None
    encrypted_content: str | None = None


@dataclass(frozen=True)
class KeepAlive:
    """Nothing to show yet: the model is still thinking."""


@dataclass(frozen=True)
class Done:
    outcome: Outcome


Event = AnswerDelta | ThinkingDone | KeepAlive | Done
