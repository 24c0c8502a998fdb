"""Per-key dollar budgets around a request: reserve its worst-case cost before any engine
work, settle the exact cost when it completes, release the rest. Any route calls it so:

    plan = reasoner.prepare(wanted)
    ticket = await admission.reserve(principal, plan)   # 429 insufficient_quota: nothing runs
    events = ticket.metered(reasoner.run(plan))        # settles at Done; releases otherwise

`metered` works for streamed and whole responses alike: it settles when the outcome passes
through, and if the events end without one (the client left, the engine failed) it
releases the reservation without a charge. Keys without a budget, and open local mode, get
a ticket that does nothing. Every response to a budgeted key carries the dollars it has
left as `x-reasoning-budget-remaining-usd` (after settlement for whole responses, after the
reservation for streams, whose headers go out first).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from reasoning.accounts.ledger import Ledger, Reservation, Standing
from reasoning.errors import QuotaExceeded
from reasoning.pricing import Money, PriceTable
from reasoning.types import Done, Event, Outcome
from server.metrics import Metrics

if TYPE_CHECKING:
    from reasoning.reasoner import Plan
    from server.auth import Principal
    from server.runtime import Runtime

BUDGET_HEADER = b"x-reasoning-budget-remaining-usd"
_MILLION = Decimal(1_000_000)


@dataclass
class BudgetMeter:
    """A budgeted key's remaining dollars as this request last saw them: admission updates it,
    and the response carries it as the x-reasoning-budget-remaining-usd header."""

    remaining_nanos: int


def budget_header(state: Mapping[str, Any]) -> tuple[bytes, bytes] | None:
    """The remaining-budget header for a response, from what the request's state holds."""
    meter = state.get("budget_meter")
    return None if meter is None else (BUDGET_HEADER, str(Money(meter.remaining_nanos)).encode())


class Admission:
    def __init__(self, ledger: Ledger, prices: PriceTable, metrics: Metrics, ttl_seconds: float) -> None:
        self.ledger = ledger
        self.prices = prices
        self.metrics = metrics
        self.ttl_seconds = ttl_seconds

    @classmethod
    def of(cls, runtime: Runtime) -> Admission:
        settings = runtime.settings
        return cls(runtime.store.ledger, settings.price_table(), runtime.metrics, settings.reservation_ttl_seconds)

    async def metered(self, principal: Principal) -> Principal:
        """The principal of a budgeted key, with its current standing on its meter."""
        standing = await self.ledger.standing(principal.key)
        self.metrics.key_spend.labels(principal.key_id).set(standing.spent_ratio)
        return replace(principal, meter=BudgetMeter(standing.remaining_nanos))

    async def reserve(self, principal: Principal, plan: Plan) -> Ticket:
        """Hold the plan's worst case (its prompt and the most its chains may generate)
        against the key's budget; QuotaExceeded (429) if the budget cannot cover it."""
        key = principal.key
        if key is None or not key.budgeted:
            return Ticket(self, principal, None)
        try:
            reservation, standing = await self.ledger.reserve(key, plan.worst_case.nanos, self.ttl_seconds)
        except QuotaExceeded:
            self.show(principal, await self.ledger.standing(key))
            raise
        self.show(principal, standing)
        return Ticket(self, principal, reservation)

    def show(self, principal: Principal, standing: Standing) -> None:
        if principal.meter is not None:
            principal.meter.remaining_nanos = standing.remaining_nanos
        self.metrics.key_spend.labels(principal.key_id).set(standing.spent_ratio)


class Ticket:
    """One admitted request's hold on its key's budget."""

    def __init__(self, admission: Admission, principal: Principal, reservation: Reservation | None) -> None:
        self._admission = admission
        self._principal = principal
        self._reservation = reservation
        self.settled = reservation is None

    async def settle(self, outcome: Outcome) -> None:
        """Charge the outcome's exact cost and release the rest of the reservation."""
        if self.settled or self._reservation is None:
            return
        self.settled = True
        standing = await self._admission.ledger.settle(self._principal.key, self._reservation, outcome.cost.nanos)
        self._admission.show(self._principal, standing)

    async def release(self) -> None:
        """Give the whole reservation back, charging nothing: the request did not complete."""
        if self.settled or self._reservation is None:
            return
        self.settled = True
        await self._admission.ledger.release(self._reservation)

    async def metered(self, events: AsyncIterator[Event]) -> AsyncIterator[Event]:
        """The request's events, settled when its outcome passes (before the client sees it)."""
        try:
            async for event in events:
                if isinstance(event, Done):
                    await self.settle(event.outcome)
                yield event
        finally:
            await self.release()
