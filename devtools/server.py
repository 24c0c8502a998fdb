"""A real reasoning-server in a child process: the CLI on a free local port, the real vLLM
engine, the embedded tiny model, its own data directory and a log file the caller can read."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from devtools import vault
from devtools.processes import free_port, stop_group, wait_ready

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "tiny-reasoner"
START_TIMEOUT = 240
KEEPALIVE_SECONDS = 0.2


@dataclass
class Server:
    url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen

    @property
    def api(self) -> str:
        return f"{self.url}/v1"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def trace_row(self, trace_id: str) -> dict | None:
        """The stored row, its sealed `chains` decrypted with the data directory's key file."""
        return vault.trace_row(self.data_dir, trace_id)

    def metric(self, name: str, **labels: str) -> float:
        return metric(self.url, name, **labels)


def metric(url: str, name: str, **labels: str) -> float:
    """Sum of a metric's samples whose labels include `labels`, from a live scrape of `url`."""
    total = 0.0
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        series, value = line.rsplit(" ", 1)
        head = series.split("{", 1)[0]
        if head == name and all(f'{k}="{v}"' in series for k, v in labels.items()):
            total += float(value)
    return total


def start_server(tmp: Path, **env: str) -> Server:
    """A server that is ready to serve, or RuntimeError with its log's tail."""
    server = launch_server(tmp, MODEL, **env)
    try:
        wait_ready(server.process, f"{server.url}/ready", START_TIMEOUT, server.log, "the server")
    except RuntimeError:
        stop_server(server)
        raise
    return server


def launch_server(tmp: Path, model: Path, **env: str) -> Server:
    """The server's process, started and not waited for."""
    port = free_port()
    log_path = tmp / "server.log"
    environment = {
        **os.environ,
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "REASONING_DATA_DIR": str(tmp / "data"),
        "REASONING_KEEPALIVE_SECONDS": str(KEEPALIVE_SECONDS),
        **env,
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--model", str(model)],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(f"http://127.0.0.1:{port}", tmp / "data", log_path, process)


def stop_server(server: Server) -> None:
    stop_group(server.process)
