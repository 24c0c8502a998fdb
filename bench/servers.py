"""Starting and stopping the servers a benchmark measures, on free 127.0.0.1 ports."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

from devtools.processes import free_port, stop_group, wait_ready
from devtools.server import metric

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "tiny-reasoner"


def command(kind: str, model: str, port: int, extra: tuple[str, ...] = ()) -> list[str]:
    if kind == "ours":
        return [sys.executable, "-m", "server.cli", "serve", "--model", model, "--port", str(port), *extra]
    return [
        sys.executable, str(ROOT / "bench" / "vllm_peer.py"), "serve", model, "--port", str(port),
        "--host", "127.0.0.1", "--served-model-name", "tiny-reasoner", "--dtype", "float32", "--enforce-eager", *extra,
    ]  # fmt: skip


@contextmanager
def running(
    kind: str, workdir: Path, model: str = str(MODEL), timeout: float = 300, extra: tuple[str, ...] = (), **env: str
):
    """A server of `kind` ("ours" or "vllm") until the block ends, `extra` added to its command
    line; yields (url, seconds to ready, its process id)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    environment = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1"),
                   "REASONING_DATA_DIR": str(workdir / "data"), **env}  # fmt: skip
    with (workdir / f"{kind}.log").open("wb") as log:
        process = subprocess.Popen(
            command(kind, model, port, extra), cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    log = (workdir / f"{kind}.log").read_text
    try:
        ready = wait_ready(process, f"{url}/ready" if kind == "ours" else f"{url}/health", timeout, log, kind)
        yield url, ready, process.pid
    finally:
        stop_group(process)


@contextmanager
def engine_occupancy(url: str, every: float = 0.1) -> Iterator[list[float]]:
    """`vllm:num_requests_running`, sampled every `every` seconds while the block runs: how full
    a front end keeps the engine (a slot idle between one request and the next shows here)."""
    samples: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(every):
            with suppress(httpx.HTTPError):
                samples.append(metric(url, "vllm:num_requests_running"))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield samples
    finally:
        done.set()
        sampler.join()
