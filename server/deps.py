"""Request dependencies, as Annotated aliases over what the lifespan put on app.state.

Every one is `async def`, though none awaits: FastAPI runs a plain `def` dependency in its thread
pool, a thread hop (and a seat among 40) per dependency per request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from reasoning.errors import Unavailable
from reasoning.storage import Store
from server.auth import Principal, authenticate
from server.background import BackgroundRunner
from server.ops import logs
from server.ops.metrics import Metrics
from server.services import Services
from server.serving import Serving
from server.settings import Settings


async def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_settings(services: ServicesDep) -> Settings:
    return services.settings


async def get_metrics(services: ServicesDep) -> Metrics:
    return services.metrics


async def get_serving(services: ServicesDep) -> Serving:
    if services.serving is None:
        raise Unavailable("the model is still loading; retry shortly")
    return services.serving


async def get_store(services: ServicesDep) -> Store:
    return services.store


async def get_background(services: ServicesDep) -> BackgroundRunner:
    if services.background is None:
        raise Unavailable("the server is still starting; retry shortly")
    return services.background


async def get_request_id(request: Request) -> str:
    return request.state.request_id


async def get_principal(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    if (access := logs.current()) is not None:
        access.key_id = principal.key_id  # the access log names the caller by key id, never by key
    return principal


SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ServingDep = Annotated[Serving, Depends(get_serving)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
RequestIdDep = Annotated[str, Depends(get_request_id)]
StoreDep = Annotated[Store, Depends(get_store)]
BackgroundDep = Annotated[BackgroundRunner, Depends(get_background)]


@dataclass(frozen=True)
class Caller:
    """Who asks, under which request id, on which connection (watched for a disconnect)."""

    principal: Principal
    request_id: str
    request: Request


async def get_caller(principal: PrincipalDep, request_id: RequestIdDep, request: Request) -> Caller:
    return Caller(principal, request_id, request)


CallerDep = Annotated[Caller, Depends(get_caller)]
