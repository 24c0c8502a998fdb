"""A real Prometheus for the tests and for the dashboard preview (deploy/grafana/render_preview.py).

Debian's `prometheus` binary (scripts/install-system-deps.sh installs it) on a free 127.0.0.1
port, scraping one reasoning-server every second as job `reasoning-server` (the job name the
alerts and dashboard expect), with its data in a directory of the caller's. It talks to nothing
but the server it scrapes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx

from devtools.processes import free_port, wait_ready

PROMETHEUS_ERROR = "`{}` is not installed: run scripts/install-system-deps.sh (Debian package `prometheus`)"
START_TIMEOUT = 30
JOB = "reasoning-server"


class MissingTool(RuntimeError):
    """A binary the tests need is not installed; the message says how to install it."""


@dataclass
class Prometheus:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def require(name: str) -> str:
    """The path of Debian's `prometheus` or `promtool`; MissingTool when absent."""
    path = shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/local/bin")
    if path is None:
        raise MissingTool(PROMETHEUS_ERROR.format(name))
    return path


def scrape_config(target_url: str, interval: str = "1s") -> dict:
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [
            {
                "job_name": JOB,
                "scrape_interval": interval,
                "scrape_timeout": interval,
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [target_url.removeprefix("http://").rstrip("/")]}],
            }
        ],
    }


def start_prometheus(workdir: Path, target_url: str, interval: str = "1s") -> Prometheus:
    binary = require("prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text(json.dumps(scrape_config(target_url, interval), indent=2))  # JSON is YAML
    address = f"127.0.0.1:{free_port()}"
    log_path = workdir / "prometheus.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address={address}",
                "--storage.tsdb.retention.time=1d",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    prometheus = Prometheus(f"http://{address}", process, log_path)
    try:
        wait_ready(process, f"{prometheus.url}/-/ready", START_TIMEOUT, prometheus.log, "prometheus")
    except RuntimeError:
        stop_prometheus(prometheus)
        raise
    return prometheus


def stop_prometheus(prometheus: Prometheus) -> None:
    if prometheus.process.poll() is None:
        prometheus.process.terminate()
        try:
            prometheus.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            prometheus.process.kill()
            prometheus.process.wait(timeout=5)


def _api(prometheus: Prometheus, path: str, params: dict) -> list[dict]:
    response = httpx.get(f"{prometheus.url}/api/v1/{path}", params=params, timeout=10)
    body = response.json()
    if body.get("status") != "success":
        raise RuntimeError(f"Prometheus refused {params.get('query')!r}: {body.get('error')}")
    return body["data"]["result"]


def query(prometheus: Prometheus, promql: str) -> list[dict]:
    """An instant query through Prometheus's HTTP API: [{"metric": {...}, "value": [t, "v"]}]."""
    return _api(prometheus, "query", {"query": promql})


def query_range(prometheus: Prometheus, promql: str, start: float, end: float, step: float) -> list[dict]:
    """A range query: [{"metric": {...}, "values": [[t, "v"], ...]}]."""
    return _api(prometheus, "query_range", {"query": promql, "start": start, "end": end, "step": step})


def scalar(result: list[dict]) -> float | None:
    """The one value of an instant query's result; None when it has no series."""
    if not result:
        return None
    if len(result) != 1:
        raise ValueError(f"expected one series, got {len(result)}")
    return float(result[0]["value"][1])
