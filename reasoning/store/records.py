"""What the store keeps besides traces: audit records, API keys, spending. Money is kept in
integer nano-dollars, so sums are exact and a budget is never overrun by rounding."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal

NANOS_PER_USD = 10**9
DAY = 86_400


def usd_to_nanos(usd: Decimal | float | str) -> int:
    """Dollars to nano-dollars, rounded up: a charge or a reservation never falls short."""
    return math.ceil(Decimal(str(usd)) * NANOS_PER_USD)


def nanos_to_usd(nanos: int) -> str:
    """Nano-dollars as a plain decimal string, exact: 1500 -> '0.0000015'."""
    text = format(Decimal(nanos) / NANOS_PER_USD, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": DAY, "w": 7 * DAY}


def parse_duration(text: str) -> float:
    """'30d', '12h', '90m', '45s', '2w' or plain seconds -> seconds (positive)."""
    match = _DURATION.match(str(text))
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration like 30d, 12h, 90m, 45s or a number of seconds")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]


@dataclass(frozen=True)
class Access:
    """Who touches a raw trace, as its audit record names them."""

    actor: str  # the API key's public id
    role: str
    request_id: str
    reason: str | None = None  # the x-reasoning-access-reason header, when given


@dataclass(frozen=True)
class AuditRecord:
    id: int
    trace_id: str
    trace_owner: str
    action: str  # read | delete
    actor: str
    role: str
    at: float
    request_id: str
    reason: str | None


@dataclass(frozen=True)
class ApiKey:
    """A stored API key. The secret itself is never stored, only its SHA-256."""

    id: str  # public, safe to log and to label metrics with
    name: str
    role: str  # user | admin
    created_at: float
    revoked_at: float | None = None
    budget_nanos: int | None = None  # dollars per period, None: unlimited
    period_seconds: int | None = None

    @property
    def budgeted(self) -> bool:
        return self.budget_nanos is not None

    def period(self, now: float) -> int:
        """Which budget period `now` falls in, counted from the key's creation."""
        return max(0, int((now - self.created_at) // (self.period_seconds or 1)))

    def period_end(self, now: float) -> float:
        return self.created_at + (self.period(now) + 1) * (self.period_seconds or 1)


@dataclass(frozen=True)
class Standing:
    """A budgeted key's account in its current period."""

    key_id: str
    limit_nanos: int
    spent_nanos: int  # settled charges
    held_nanos: int  # reservations of requests still running
    period_end: float

    @property
    def remaining_nanos(self) -> int:
        return max(0, self.limit_nanos - self.spent_nanos - self.held_nanos)

    @property
    def spent_ratio(self) -> float:
        return self.spent_nanos / self.limit_nanos if self.limit_nanos else 1.0


@dataclass(frozen=True)
class Reservation:
    id: str
    key_id: str
    period: int
    amount_nanos: int
