"""Server settings: environment variables with the REASONING_ prefix, or CLI flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from reasoning.budget import BudgetPolicy
from reasoning.durations import parse_duration
from reasoning.engine import EngineConfig
from reasoning.pricing import Price, PriceTable
from reasoning.types import EFFORTS
from reasoning.vault.crypto import KeyFile, KeyRing, KeySource, parse_keys
from server.capacity import Limits as CapacityLimits

EMBEDDED_MODEL = Path(__file__).resolve().parents[1] / "models" / "tiny-reasoner"


class PriceSetting(BaseModel):
    input_per_million: float = Field(ge=0)
    output_per_million: float = Field(ge=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REASONING_", env_nested_delimiter="__", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000

    # The engine. The defaults serve the embedded model on a CPU; for production models
    # set dtype to auto (or bfloat16) and the parallelism your GPUs allow.
    model: str = str(EMBEDDED_MODEL)
    served_model_name: str | None = None  # default: the model directory's name
    max_model_len: int | None = None  # default: the model's own
    dtype: str = "float32"
    tensor_parallel_size: int = Field(1, ge=1)
    pipeline_parallel_size: int = Field(1, ge=1)
    enforce_eager: bool = True  # CUDA graphs / compilation cost start-up time; turn off on GPUs for speed
    engine_args: dict[str, Any] = Field(default_factory=dict)  # any other vLLM engine argument, as JSON
    # The model's opening of thinking: one token. vLLM's thinking budget miscounts a
    # multi-token start string (it assumes one token, and lets chains think a token long).
    reasoning_start: str = "<think>"
    reasoning_end: str = "\n</think>\n"  # forced when a chain's reasoning budget is spent

    # Budgets and prices.
    effort_tokens: dict[str, int | None] = Field(
        default_factory=lambda: {
            "none": 0,
            "minimal": 16,
            "low": 64,
            "medium": 192,
            "high": 512,
            "xhigh": 1024,
            "max": None,
        }
    )
    default_effort: str = "medium"
    answer_reserve_tokens: int = Field(32, ge=1)
    prices: dict[str, PriceSetting] = Field(
        default_factory=lambda: {"tiny-reasoner": PriceSetting(input_per_million=0.10, output_per_million=0.40)}
    )
    default_price: PriceSetting = PriceSetting(input_per_million=1.0, output_per_million=4.0)

    # Test-time search: chains a search samples when a request names no `samples`, and the
    # probability that the leading answer is ahead at which adaptive sampling stops.
    default_samples: int = Field(5, ge=1, le=64)
    adaptive_confidence: float = Field(0.9, gt=0.5, lt=1)
    # What the model writes, for early exit and voting (reasoning/profiles.py): "auto" picks the
    # served model's own profile when there is one (tiny-reasoner), else "generic".
    model_profile: Literal["auto", "generic", "tiny-reasoner"] = "auto"

    # Summaries: "extractive" picks the steps that carry the argument (any model);
    # "model" asks the served model to summarize (for capable production models).
    summarizer: Literal["extractive", "model"] = "extractive"
    # Whether a reasoning item passed back in a Responses `input` puts its reasoning into the
    # next turn's context (as `reasoning_content`, for templates that keep it). Off, as the
    # chat templates of today's reasoning models drop earlier reasoning.
    replay_reasoning: bool = False

    # Serving.
    keepalive_seconds: float = Field(5.0, gt=0)
    max_request_bytes: int = Field(1_000_000, ge=1024)
    max_n: int = Field(16, ge=1)
    # Backpressure (server/capacity.py): requests generating at once, and the tokens they may
    # still generate (each one's worst case from its budget); default the engine's max_num_seqs
    # and its KV cache's capacity. Beyond them up to `max_queued` wait, each at most
    # `queue_timeout_seconds`; the rest get 429 with Retry-After at once.
    max_in_flight: int | None = Field(None, ge=1)
    max_tokens_in_flight: int | None = Field(None, ge=1)
    max_queued: int | None = Field(None, ge=0)  # default: max_in_flight
    queue_timeout_seconds: float = Field(30.0, gt=0)
    # Background responses (`background: true`) unfinished at once across the store; beyond it, 429.
    max_background: int = Field(16, ge=0)
    # How long a background response's runner holds it between renewals (every third of it): a
    # response whose runner died is marked failed about this long after.
    background_lease_seconds: float = Field(30.0, gt=0)

    # Operation. On SIGTERM new requests get 503 at once and those in flight get this long to
    # finish before they are aborted; keep the orchestrator's kill timeout above it (Kubernetes:
    # terminationGracePeriodSeconds > preStop sleep + this + ~20 s for the abort and engine stop).
    shutdown_grace_seconds: float = Field(30.0, ge=0)
    # The log on stdout: "json", one object per line for log collectors, or "text" for people.
    # Either way the access log has one line per API request, and never prompt or answer text.
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    # Storage.
    data_dir: Path = Path("data")
    store_url: str | None = None  # default: sqlite:///<data_dir>/reasoning.db
    # AES-256 keys for stored reasoning and encrypted_content, `id:base64[,id:base64...]`, newest
    # last; default: a key file generated in the data directory on first start (mode 0600).
    trace_keys: str | None = None

    # The trace vault and API keys.
    raw_access: Literal["admin", "owner", "none"] = "admin"  # who may read raw reasoning: admins, + owners, nobody
    trace_retention: str = "30d"  # traces (and their audit records) expire after this: 30d, 12h, 90m, seconds
    maintenance_interval_seconds: float = Field(3600.0, gt=0)  # how often expired traces are purged
    reservation_ttl_seconds: float = Field(3600.0, gt=0)  # a budget reservation whose request died lapses after this

    def capacity_limits(self, max_sequences: int, kv_cache_tokens: int | None) -> CapacityLimits:
        """The backpressure bounds: as set, or sized from the engine's own."""
        in_flight = self.max_in_flight or max_sequences
        return CapacityLimits(
            max_in_flight=in_flight,
            max_queued=in_flight if self.max_queued is None else self.max_queued,
            queue_timeout=self.queue_timeout_seconds,
            max_tokens_in_flight=self.max_tokens_in_flight or kv_cache_tokens,
        )

    @field_validator("effort_tokens")
    @classmethod
    def _every_effort(cls, value: dict[str, int | None]) -> dict[str, int | None]:
        missing = set(EFFORTS) - set(value)
        if missing:
            raise ValueError(f"effort_tokens lacks {sorted(missing)}")
        return value

    @field_validator("trace_retention")
    @classmethod
    def _a_duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @model_validator(mode="after")
    def _known_default_effort(self) -> Settings:
        if self.default_effort not in self.effort_tokens:
            raise ValueError(f"default_effort {self.default_effort!r} is not an effort level")
        return self

    @property
    def model_name(self) -> str:
        return self.served_model_name or Path(self.model.rstrip("/")).name

    @property
    def resolved_store_url(self) -> str:
        return self.store_url or f"sqlite:///{self.data_dir / 'reasoning.db'}"

    @property
    def trace_retention_seconds(self) -> float:
        return parse_duration(self.trace_retention)

    def trace_key_source(self) -> KeySource:
        """Where the store gets its key ring: REASONING_TRACE_KEYS as given, or the data
        directory's key file, read again when `vault rotate` adds a key to it."""
        if self.trace_keys:
            ring = KeyRing(parse_keys(self.trace_keys))
            return lambda: ring
        return KeyFile(self.data_dir / "trace-keys").ring

    def engine_config(self) -> EngineConfig:
        return EngineConfig(
            model=self.model,
            served_model_name=self.model_name,
            max_model_len=self.max_model_len,
            dtype=self.dtype,
            tensor_parallel_size=self.tensor_parallel_size,
            pipeline_parallel_size=self.pipeline_parallel_size,
            enforce_eager=self.enforce_eager,
            reasoning_start=self.reasoning_start,
            reasoning_end=self.reasoning_end,
            extra_args=dict(self.engine_args),
        )

    def budget_policy(self) -> BudgetPolicy:
        return BudgetPolicy(
            effort_tokens=self.effort_tokens,
            default_effort=self.default_effort,
            answer_reserve=self.answer_reserve_tokens,
        )

    def price_table(self) -> PriceTable:
        return PriceTable(
            prices={name: Price(p.input_per_million, p.output_per_million) for name, p in self.prices.items()},
            default=Price(self.default_price.input_per_million, self.default_price.output_per_million),
        )
