"""The server's log: JSON lines (or text for people), and the access log, one line per API request.

The access line is written by the middleware when a response ends, from an `AccessRecord` the
middleware opens for each API request and keeps in a contextvar; code below it adds what only it
knows: the principal (deps), the outcome or the error that ended a stream (the observer,
in server/serving.py). The line holds ids, counts, cost and timing, never prompt, reasoning or
answer text.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from reasoning.types import Outcome

ACCESS = logging.getLogger("reasoning_server.access")
API_PREFIX = "/v1/"  # what gets an access line; probes and scrapes do not
LogFormat = Literal["json", "text"]

# Attributes every LogRecord has; anything else on a record came from `extra=` and is a field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# Extras that others' loggers add: uvicorn's coloured copy of the message (a repeat), vLLM's
# process name (written as "process").
_IGNORED = frozenset({"color_message", "vllm_process_name"})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the record's extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            # vLLM's engine processes log here too, named by vLLM (EngineCore, Worker…)
            "process": getattr(record, "vllm_process_name", None) or record.processName,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in _IGNORED and key not in line:
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def configure(log_format: LogFormat = "json", level: str = "info", data_dir: Path | None = None) -> None:
    """Route every logger that propagates (ours, uvicorn's) to one handler on stdout, and in
    JSON, vLLM's too (`route_vllm_logs`, which needs a directory for its config file).

    uvicorn is then started with `log_config=None` so that it adds no handler of its own, and
    with `access_log=False`: the access log is ours.
    """
    if log_format == "json" and data_dir is not None:
        route_vllm_logs(data_dir, level)
    handler = logging.StreamHandler(sys.stdout)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True


def route_vllm_logs(data_dir: Path, level: str) -> None:
    """vLLM configures its `vllm` logger itself, in this process and in each engine process,
    from the dictConfig file VLLM_LOGGING_CONFIG_PATH names: give it one with our JSON lines,
    unless the operator configured vLLM's logging already."""
    if "VLLM_LOGGING_CONFIG_PATH" in os.environ or os.environ.get("VLLM_CONFIGURE_LOGGING") == "0":
        return
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
        "loggers": {"vllm": {"handlers": ["json"], "level": level.upper(), "propagate": False}},
    }
    path = data_dir / "vllm-logging.json"
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2))
    os.environ["VLLM_LOGGING_CONFIG_PATH"] = str(path.resolve())


@dataclass
class AccessRecord:
    """What the access line of one API request says, filled in as the request goes."""

    request_id: str
    method: str
    path: str
    endpoint: str | None
    started: float = field(default_factory=time.monotonic)
    key_id: str | None = None
    outcome: Outcome | None = None
    error: str | None = None  # the code of an error that ended the request after its headers went
    _token: Token | None = field(default=None, repr=False)


_current: ContextVar[AccessRecord | None] = ContextVar("access_record", default=None)


def open_access(request_id: str, scope: dict[str, Any], endpoint: str | None) -> AccessRecord | None:
    """Start the access record of an API request (None for other paths) and make it current."""
    if not scope["path"].startswith(API_PREFIX):
        return None
    record = AccessRecord(request_id, scope["method"], scope["path"], endpoint)
    record._token = _current.set(record)
    return record


def current() -> AccessRecord | None:
    """The access record of the API request this code serves, if any."""
    return _current.get()


def close_access(record: AccessRecord, status: int, stream: bool) -> None:
    """Write the request's access line."""
    if record._token is not None:
        _current.reset(record._token)
    fields: dict[str, Any] = {
        "request_id": record.request_id,
        "key_id": record.key_id,
        "method": record.method,
        "path": record.path,
        "endpoint": record.endpoint,
        "status": status,
        "stream": stream,
        "latency_s": round(time.monotonic() - record.started, 4),
        "error": record.error,
        **_outcome_fields(record.outcome),
    }
    ACCESS.info("%s %s %d", record.method, record.path, status, extra=fields)


def _outcome_fields(outcome: Outcome | None) -> dict[str, Any]:
    if outcome is None:
        return {"model": None}
    usage = outcome.usage
    return {
        "model": outcome.model,
        "trace_id": outcome.trace_id if outcome.stored else None,
        "prompt_tokens": usage.prompt_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "answer_tokens": usage.answer_tokens,
        "summary_tokens": usage.summary_tokens,
        "completion_tokens": usage.completion_tokens,
        "cost_usd": outcome.cost.usd,
        "budget_exhausted": outcome.budget_exhausted,
        "chains": outcome.chains,
    }
