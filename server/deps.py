"""Request dependencies, as Annotated aliases over what the lifespan put on app.state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from reasoning.errors import Unavailable
from reasoning.reasoner import Reasoner
from reasoning.storage import Store
from server import logs
from server.admission import Admission
from server.auth import Principal, authenticate
from server.metrics import Metrics
from server.runtime import Runtime
from server.settings import Settings


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


def get_metrics(runtime: RuntimeDep) -> Metrics:
    return runtime.metrics


def get_reasoner(runtime: RuntimeDep) -> Reasoner:
    if runtime.reasoner is None:
        raise Unavailable("the model is still loading; retry shortly")
    return runtime.reasoner


def get_store(runtime: RuntimeDep) -> Store:
    return runtime.store


def get_admission(runtime: RuntimeDep) -> Admission:
    return Admission.of(runtime)


def get_request_id(request: Request) -> str:
    return request.state.request_id


SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ReasonerDep = Annotated[Reasoner, Depends(get_reasoner)]


async def get_principal(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    if (access := logs.current()) is not None:
        access.key_id = principal.key_id  # the access log names the caller by key id, never by key
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
RequestIdDep = Annotated[str, Depends(get_request_id)]
StoreDep = Annotated[Store, Depends(get_store)]
AdmissionDep = Annotated[Admission, Depends(get_admission)]
