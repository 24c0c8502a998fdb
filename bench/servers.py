"""Starting and stopping the servers a benchmark measures, on free 127.0.0.1 ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "tiny-reasoner"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(kind: str, model: str, port: int) -> list[str]:
    if kind == "ours":
        return [sys.executable, "-m", "server.cli", "serve", "--model", model, "--port", str(port)]
    return [
        sys.executable, str(ROOT / "bench" / "vllm_peer.py"), "serve", model, "--port", str(port),
        "--host", "127.0.0.1", "--served-model-name", "tiny-reasoner", "--dtype", "float32", "--enforce-eager",
    ]  # fmt: skip


@contextmanager
def running(kind: str, workdir: Path, model: str = str(MODEL), timeout: float = 300, **env: str):
    """A server of `kind` ("ours" or "vllm") until the block ends; yields (url, seconds to ready)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    environment = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1"),
                   "REASONING_DATA_DIR": str(workdir / "data"), **env}  # fmt: skip
    with (workdir / f"{kind}.log").open("wb") as log:
        process = subprocess.Popen(
            command(kind, model, port), cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        yield url, _wait_ready(f"{url}/ready" if kind == "ours" else f"{url}/health", process, timeout)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _wait_ready(url: str, process: subprocess.Popen, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise TimeoutError(url)
