"""Liveness, readiness and the Prometheus scrape.

These read app.state directly rather than through server/deps.py: operations sit below the
endpoints, and deps.py is the endpoints' view of the services."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from server.errors import error_response

router = APIRouter()


@router.get("/health")
async def health() -> dict:
    """The process is up (it may still be loading the model)."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(request: Request):
    """The engine is loaded and the server admits requests."""
    services = request.app.state.services
    if services.drain.draining:
        return error_response(503, "the server is shutting down", None, "shutting_down")
    if services.reasoner is None:
        return error_response(503, "the model is still loading", None, "not_ready")
    return {"status": "ready", "model": services.settings.model_name}


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    rendered = request.app.state.services.metrics.render()
    return Response(rendered, media_type="text/plain; version=0.0.4; charset=utf-8")
