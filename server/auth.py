"""Who is calling: API keys -> Principal. With no keys configured the server is open to
local use, every caller is the same "local" user, and admin routes are closed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["user", "admin"]


@dataclass(frozen=True)
class Principal:
    key_id: str
    role: Role


LOCAL = Principal(key_id="local", role="user")


async def authenticate() -> Principal:
    return LOCAL
