"""Who may do what with stored traces: the authorization matrix, in one place.

    route                        open mode   admin   owner (user)              other user
    GET  /traces/{id}  (raw)     403         policy  policy "owner" only, else  404 under "owner", else 403
    GET  /traces       (list)    403         any     own traces only            403 for another owner
    DELETE /traces/{id}          403         yes     yes                        404
    GET  /traces/{id}/audit      403         yes     yes                        404

REASONING_RAW_ACCESS: "admin" (default) lets admins read raw reasoning; "owner" lets
owners read their own too; "none" lets nobody. Another user's trace answers 404, as if
it did not exist, so ids cannot be probed.
"""

from __future__ import annotations

from reasoning.errors import Forbidden, NotFound
from server.auth import Principal

OPEN_MODE = (
    "trace routes need an API key; this server has none configured and runs in open local mode "
    "(create one with `reasoning-server keys create --role admin`)"
)


def require_key(principal: Principal) -> None:
    if principal.open_mode:
        raise Forbidden(OPEN_MODE)


def not_found(trace_id: str) -> NotFound:
    return NotFound(f"no trace '{trace_id}'", param="trace_id", code="trace_not_found")


def check_raw_policy(principal: Principal, policy: str) -> None:
    """Before looking the trace up: may this caller read raw reasoning at all?"""
    require_key(principal)
    if policy == "none":
        raise Forbidden("raw reasoning is not readable on this server (REASONING_RAW_ACCESS=none)")
    if policy == "admin" and not principal.is_admin:
        raise Forbidden("only admin keys may read raw reasoning on this server (REASONING_RAW_ACCESS=admin)")


def check_owner(principal: Principal, trace_id: str, owner: str) -> None:
    """An admin, or the trace's owner; anyone else is told there is no such trace."""
    if not principal.is_admin and principal.key_id != owner:
        raise not_found(trace_id)


def list_owner(principal: Principal, owner: str | None) -> str | None:
    """The owner filter a listing runs with: any for admins, only their own for users."""
    require_key(principal)
    if principal.is_admin:
        return owner
    if owner is not None and owner != principal.key_id:
        raise Forbidden("a user key may list only its own traces", param="owner")
    return principal.key_id
