"""What the lifespan starts and every request shares, kept on app.state.services."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from reasoning.engine import Engine
from reasoning.reasoner import Reasoner
from reasoning.storage import Store
from server.background import BackgroundRunner
from server.ops.metrics import Metrics
from server.ops.shutdown import Drain
from server.serving import Serving
from server.settings import Settings


@dataclass
class Services:
    settings: Settings
    store: Store
    metrics: Metrics
    drain: Drain = field(default_factory=Drain)  # admission and graceful shutdown
    engine: Engine | None = None
    reasoner: Reasoner | None = None
    serving: Serving | None = None  # the generating pipeline, once the engine is up
    loading: asyncio.Task | None = field(default=None, repr=False)
    background: BackgroundRunner | None = None  # the background responses this replica runs
    engine_failed: bool = False  # the engine could not start: the server stops and exits non-zero
