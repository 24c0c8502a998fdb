"""Per-request plumbing below the routes: a request id, a body size cap, request counts, the
access log, and the remaining-budget header on every response to a budgeted key.

A generating route sets that header itself, from its reservation (streams) or settlement;
every other response to a budgeted key carries the standing its authentication found."""

from __future__ import annotations

import re
import uuid

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.headers import BUDGET_HEADER, budget_header
from server.ops import logs
from server.ops.metrics import Metrics

REQUEST_ID_HEADER = b"x-request-id"
BUDGET_REMAINING = "budget_remaining"  # request.state: the Money a budgeted key had at authentication
_CLIENT_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")
# Counted endpoints, by path prefix: bounded label values, never the raw path.
ENDPOINTS = (
    ("/v1/chat/completions", "chat"),
    ("/v1/responses", "responses"),
    ("/v1/messages", "messages"),  # and /v1/messages/count_tokens
    ("/v1/reasoning/traces", "traces"),
)


class RequestContext:
    def __init__(self, app: ASGIApp, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(REQUEST_ID_HEADER, b"")
        request_id = given.decode() if _CLIENT_ID.match(given) else f"req_{uuid.uuid4().hex}"
        scope.setdefault("state", {})["request_id"] = request_id
        endpoint = next((name for prefix, name in ENDPOINTS if scope["path"].startswith(prefix)), None)
        access = logs.open_access(request_id, scope, endpoint)  # API requests only
        status, stream = 500, False

        async def send_with_id(message: Message) -> None:
            nonlocal status, stream
            if message["type"] == "http.response.start":
                status = message["status"]
                stream = _is_event_stream(message.get("headers", []))
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER, request_id.encode())]
                message["headers"] += _budget_header_unless_set(message["headers"], scope["state"])
            await send(message)

        try:
            await self.app(scope, self._capped(receive, headers), send_with_id)
        finally:
            if endpoint is not None:
                self.metrics.count_request(endpoint, status)
            if access is not None:
                logs.close_access(access, status, stream)

    def _capped(self, receive: Receive, headers: dict[bytes, bytes]) -> Receive:
        limit = self.max_body_bytes
        declared = headers.get(b"content-length", b"0")
        received = 0

        async def receive_capped() -> Message:
            nonlocal received
            if declared.isdigit() and int(declared) > limit:
                raise HTTPException(413, f"the request body exceeds {limit} bytes")
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(413, f"the request body exceeds {limit} bytes")
            return message

        return receive_capped


def _budget_header_unless_set(headers: list[tuple[bytes, bytes]], state: dict) -> list[tuple[bytes, bytes]]:
    if any(k.lower() == BUDGET_HEADER.encode() for k, _ in headers):
        return []
    return [(k.encode(), v.encode()) for k, v in budget_header(state.get(BUDGET_REMAINING)).items()]


def _is_event_stream(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(k.lower() == b"content-type" and v.startswith(b"text/event-stream") for k, v in headers)
