"""The one place errors become HTTP: the right status, never a stack trace, in OpenAI's shape,
or in Anthropic's on the Messages API's routes (its clients read no other)."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from reasoning.errors import (
    EngineFailure,
    Forbidden,
    InvalidRequest,
    NotFound,
    Overloaded,
    QuotaExceeded,
    RateLimited,
    ReasoningError,
    StoreFailure,
    Unauthenticated,
    Unavailable,
)
from server.headers import rate_headers

log = logging.getLogger(__name__)


class ClientGone(Exception):
    """The client disconnected before its response was sent; there is no one to answer."""


STATUS = {
    InvalidRequest: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    QuotaExceeded: 429,
    Overloaded: 429,
    RateLimited: 429,
    Unavailable: 503,
    EngineFailure: 500,
    StoreFailure: 500,
}
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "insufficient_quota",
    500: "server_error",
    503: "service_unavailable",
}

ANTHROPIC_PATH = "/v1/messages"  # this route and those below it answer errors in Anthropic's shape
ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",  # Anthropic sends it as 529; ours stays 503, which its SDK retries alike
}


def error_body(status: int, message: str, param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": ERROR_TYPES.get(status, "api_error"), "param": param, "code": code}}


def anthropic_error_body(status: int, message: str, param: str | None = None, code: str | None = None) -> dict:
    """Anthropic's {"type": "error", "error": {type, message}}; `param` and `code` are our
    extensions inside `error`, which Anthropic's clients tolerate."""
    kind = ANTHROPIC_ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message, "param": param, "code": code}}


def error_response(
    status: int, message: str, param: str | None = None, code: str | None = None, path: str = ""
) -> JSONResponse:
    """The error in the shape the route at `path` speaks."""
    shape = anthropic_error_body if _is_anthropic(path) else error_body
    return JSONResponse(shape(status, message, param, code), status_code=status)


def _is_anthropic(path: str) -> bool:
    return path == ANTHROPIC_PATH or path.startswith(f"{ANTHROPIC_PATH}/")


def status_of(exc: ReasoningError) -> int:
    return next((status for kind, status in STATUS.items() if isinstance(exc, kind)), 500)


# pydantic names the branch of a union it tried inside `loc`; those are not fields
_UNION_BRANCH = re.compile(r"^(str|int|float|bool|none|list\[.*\]|dict\[.*\]|[a-z-]+\[.*\]|function-.*|[A-Z]\w*)$")


def _param(loc: tuple) -> str | None:
    """('body', 'messages', 0, 'role') -> 'messages[0].role'"""
    text = ""
    for part in loc[1:] if loc and loc[0] == "body" else loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not _UNION_BRANCH.match(str(part)):
            text += f".{part}" if text else str(part)
    return text or None


async def _on_domain_error(request: Request, exc: ReasoningError) -> JSONResponse:
    response = error_response(status_of(exc), exc.message, exc.param, exc.code, request.url.path)
    if (retry_after := getattr(exc, "retry_after", None)) is not None:
        response.headers["retry-after"] = str(retry_after)
    if isinstance(exc, RateLimited):
        response.headers.update(rate_headers(exc.state))
    return response


async def _on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    first, path = exc.errors()[0], request.url.path
    if first.get("type") == "json_invalid":
        return error_response(400, "the request body is not valid JSON", None, "invalid_json", path)
    param = _param(tuple(first.get("loc", ())))
    # pydantic's message never includes the offending value, so no user text is echoed.
    message = f"{param}: {first.get('msg')}" if param else str(first.get("msg"))
    return error_response(400, message, param, "invalid_value", path)


async def _on_http_error(request: Request, exc: HTTPException) -> JSONResponse:
    return error_response(exc.status_code, str(exc.detail), None, None, request.url.path)


async def _on_client_gone(_: Request, __: ClientGone) -> Response:
    return Response(status_code=499)  # nginx's "client closed request"; nobody reads it


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc, extra={"request_id": getattr(request.state, "request_id", None)})
    return error_response(500, "internal server error", None, "internal_error", request.url.path)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ReasoningError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(ClientGone, _on_client_gone)
    app.add_exception_handler(Exception, _on_unexpected)
