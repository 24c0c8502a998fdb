"""Who is calling: `Authorization: Bearer <key>` (or Anthropic's `x-api-key: <key>`) ->
Principal(key_id, role, key).

With no API key configured the server is open to local use: every caller is the same
"local" user, whatever it sends, and every admin route answers 403. Once a key exists
(`reasoning-server keys create`), every request needs a live key, or gets 401.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fastapi import Request

from reasoning.accounts.api_keys import ApiKey, ApiKeys
from reasoning.errors import Unauthenticated
from server.ops.middleware import BUDGET_REMAINING
from server.services import Services

Role = Literal["user", "admin"]


@dataclass(frozen=True)
class Principal:
    key_id: str
    role: Role
    key: ApiKey | None = None  # None in open local mode

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def open_mode(self) -> bool:
        return self.key is None


LOCAL = Principal(key_id="local", role="user")


async def identify(keys: ApiKeys, authorization: str | None) -> Principal:
    """The principal an Authorization header names; LOCAL while no key is configured."""
    if not await keys.configured():
        return LOCAL
    scheme, _, secret = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated(
            "this server needs an API key: send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'"
        )
    key = await keys.find(secret.strip())
    if key is None:
        raise Unauthenticated("the API key is not valid or was revoked")
    return Principal(key_id=key.id, role="admin" if key.role == "admin" else "user", key=key)


async def authenticate(request: Request) -> Principal:
    """The request's principal. For a budgeted key, its standing is looked up once, so that
    every response to it can say how much is left (ops/middleware.py)."""
    services: Services = request.app.state.services
    principal = await identify(services.store.api_keys, _authorization(request))
    if principal.key is not None and principal.key.budgeted:
        standing = await services.store.ledger.standing(principal.key)
        services.metrics.set_key_spend(principal.key_id, standing.spent_ratio)
        setattr(request.state, BUDGET_REMAINING, standing.remaining)
    return principal


def _authorization(request: Request) -> str | None:
    """The Authorization header, or Anthropic's x-api-key as one (the SDKs send that instead)."""
    if "authorization" in request.headers:
        return request.headers["authorization"]
    api_key = request.headers.get("x-api-key")
    return None if api_key is None else f"Bearer {api_key}"
