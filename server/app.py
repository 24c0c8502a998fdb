"""create_app(settings): the FastAPI application, its lifespan and its routes."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI

from reasoning.engine import Engine, EngineConfig
from reasoning.profiles import profile_for
from reasoning.reasoner import Reasoner, ReasonerConfig
from reasoning.storage import open_store
from reasoning.summarize import ExtractiveSummarizer, ModelSummarizer
from reasoning.vault.crypto import PurposeKeys
from reasoning.vault.encrypted_content import PURPOSE
from server import errors
from server.background import BackgroundRunner
from server.capacity import Capacity
from server.chat.router import router as chat_router
from server.messages.router import router as messages_router
from server.models.router import router as models_router
from server.ops import health
from server.ops.metrics import Metrics
from server.ops.middleware import RequestContext
from server.ops.shutdown import Drain, DrainGate
from server.responses.router import router as responses_router
from server.services import Services
from server.serving import Serving
from server.settings import Settings
from server.traces.router import router as traces_router

log = logging.getLogger(__name__)

EngineFactory = Callable[[EngineConfig], Awaitable[Engine]]


async def start_vllm(config: EngineConfig) -> Engine:
    from reasoning.vllm_engine import start_engine  # imported late: loading vLLM takes seconds

    return await start_engine(config)


def create_app(settings: Settings, engine_factory: EngineFactory = start_vllm) -> FastAPI:
    metrics = Metrics(settings.model_name)
    drain = Drain(settings.shutdown_grace_seconds)  # driven by ops.shutdown.DrainingServer on SIGTERM

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        keys = settings.trace_key_source()  # one ring for traces at rest and encrypted_content
        store = await open_store(
            settings.resolved_store_url,
            keys,
            retention_seconds=settings.trace_retention_seconds,
            on_error=metrics.count_store_error,
        )
        services = Services(settings=settings, store=store, metrics=metrics, drain=drain)
        services.background = BackgroundRunner(
            store.responses, metrics, settings.max_background, settings.background_lease_seconds
        )
        app.state.services = services
        # The engine loads in the background: /health answers at once, /ready once it is up.
        services.loading = asyncio.create_task(_load_engine(services, engine_factory, PurposeKeys(keys, PURPOSE)))
        # Retention: expired traces purged, lapsed budget reservations dropped, periodically.
        maintenance = asyncio.create_task(store.maintain_forever(settings.maintenance_interval_seconds))
        # Background responses: leases renewed, cancels from other replicas heeded, lost ones failed.
        upkeep = asyncio.create_task(services.background.maintain_forever())
        try:
            yield
        finally:
            maintenance.cancel()
            upkeep.cancel()
            await services.background.stop()
            services.loading.cancel()
            with suppress(asyncio.CancelledError):
                await services.loading
            if services.engine is not None:
                await services.engine.close()
            await store.close()

    app = FastAPI(title="reasoning-server", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.drain = drain
    errors.install(app)
    app.add_middleware(DrainGate, drain=drain)  # inside RequestContext: refusals get ids, counts, access lines
    app.add_middleware(RequestContext, metrics=metrics, max_body_bytes=settings.max_request_bytes)
    for router in (chat_router, responses_router, messages_router, traces_router, models_router, health.router):
        app.include_router(router)
    return app


async def _load_engine(services: Services, factory: EngineFactory, content_keys: PurposeKeys) -> None:
    settings = services.settings
    try:
        engine = await factory(settings.engine_config())
    except Exception:
        log.exception("the engine failed to start; stopping the server")
        services.engine_failed = True
        os.kill(os.getpid(), signal.SIGTERM)
        return
    services.engine = engine
    summarizer = (
        ModelSummarizer(engine) if settings.summarizer == "model" else ExtractiveSummarizer(engine.count_tokens)
    )
    config = ReasonerConfig(
        policy=settings.budget_policy(),
        prices=settings.price_table(),
        keepalive_seconds=settings.keepalive_seconds,
        default_samples=settings.default_samples,
        adaptive_confidence=settings.adaptive_confidence,
        profile=profile_for(settings.model_profile, settings.model_name),
    )
    reasoner = Reasoner(engine, services.store.traces, summarizer, content_keys, config)
    limits = settings.capacity_limits(engine.max_sequences, engine.kv_cache_tokens)
    capacity = Capacity(limits, services.metrics.count_shed)
    services.metrics.watch_queue(lambda: capacity.queued)
    services.serving = Serving(
        reasoner,
        services.store.ledger,
        services.store.rates,
        services.metrics,
        settings.reservation_ttl_seconds,
        capacity,
    )
    services.reasoner = reasoner
    log.info("ready to serve %s", settings.model_name)
