"""Child processes the end-to-end tests and benchmarks start: a free local port, waiting
until one answers ready (or dies), stopping its whole process group."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(process: subprocess.Popen, url: str, timeout: float, log: Callable[[], str], what: str) -> float:
    """Seconds until `url` answers 200; RuntimeError with the log's tail if the process exits
    or `timeout` passes first."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{what} was not ready after {timeout} s:\n{log()[-3000:]}")


def stop_group(process: subprocess.Popen, timeout: float = 60) -> None:
    """SIGTERM to the process group, SIGKILL if it lingers; returns when every process of the
    group is gone, not only the leader: an engine process left spinning would take the CPU
    from whatever runs next (the next test's server, or the peer a benchmark measures)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while _group_alive(process.pid) and time.monotonic() < deadline + 10:
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        time.sleep(0.1)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
