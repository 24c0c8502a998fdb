"""What the lifespan starts and every request shares, kept on app.state."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from reasoning.engine import Engine
from reasoning.reasoner import Reasoner
from reasoning.store import TraceStore
from reasoning.store.crypto import KeyRing
from server.metrics import Metrics
from server.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    store: TraceStore
    metrics: Metrics
    keyring: KeyRing  # one ring for traces at rest and encrypted_content, each with derived keys
    engine: Engine | None = None
    reasoner: Reasoner | None = None
    loading: asyncio.Task | None = field(default=None, repr=False)
