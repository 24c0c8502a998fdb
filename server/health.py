"""Liveness, readiness and the Prometheus scrape."""

from __future__ import annotations

from fastapi import APIRouter, Response

from server.deps import MetricsDep, RuntimeDep
from server.errors import error_response

router = APIRouter()


@router.get("/health")
async def health() -> dict:
    """The process is up (it may still be loading the model)."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(runtime: RuntimeDep):
    """The engine is loaded and the server admits requests."""
    if runtime.drain.draining:
        return error_response(503, "the server is shutting down", None, "shutting_down")
    if runtime.reasoner is None:
        return error_response(503, "the model is still loading", None, "not_ready")
    return {"status": "ready", "model": runtime.settings.model_name}


@router.get("/metrics")
async def metrics(metrics: MetricsDep) -> Response:
    return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
