"""What the lifespan starts and every request shares, kept on app.state."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from reasoning.engine import Engine
from reasoning.reasoner import Reasoner
from reasoning.store import TraceStore
from server.metrics import Metrics
from server.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    store: TraceStore
    metrics: Metrics
    engine: Engine | None = None
    reasoner: Reasoner | None = None
    loading: asyncio.Task | None = field(default=None, repr=False)
