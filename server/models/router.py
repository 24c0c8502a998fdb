"""GET /v1/models: the one model this server serves."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends

from reasoning.errors import NotFound
from server.auth import authenticate
from server.deps import SettingsDep

router = APIRouter(dependencies=[Depends(authenticate)])  # keys, when configured, guard this too
_STARTED = int(time.time())


@router.get("/v1/models")
async def list_models(settings: SettingsDep) -> dict:
    return {"object": "list", "data": [_model(settings.model_name)]}


@router.get("/v1/models/{model}")
async def get_model(model: str, settings: SettingsDep) -> dict:
    if model != settings.model_name:
        raise NotFound(f"the model '{model}' does not exist", param="model", code="model_not_found")
    return _model(model)


def _model(name: str) -> dict:
    return {"id": name, "object": "model", "created": _STARTED, "owned_by": "reasoning-server"}
