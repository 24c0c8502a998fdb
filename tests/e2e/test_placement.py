"""Where the engine runs on CPU: vLLM's processes on all cores but the last, which is left to
the API server and everything else on the machine (reasoning/vllm_engine.py says why)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CORES = sorted(os.sched_getaffinity(0))

pytestmark = pytest.mark.skipif(len(CORES) < 2, reason="one core: nothing to place")


def thread_cpus(group: int) -> dict[str, set[frozenset[int]]]:
    """For each process in the process group, by name ("server" for its leader), the CPU sets
    its threads may run on."""
    placed: dict[str, set[frozenset[int]]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.getpgid(int(proc.name)) != group:
                continue
            name = "server" if int(proc.name) == group else (proc / "comm").read_text().strip()
            for task in (proc / "task").iterdir():
                placed.setdefault(name, set()).add(frozenset(os.sched_getaffinity(int(task.name))))
        except (ProcessLookupError, FileNotFoundError):
            continue
    return placed


def test_the_engine_leaves_the_last_core_to_serving(server):
    placed = thread_cpus(server.process.pid)
    engine = {name: cpus for name, cpus in placed.items() if name.startswith("VLLM::")}
    assert any(name.startswith("VLLM::EngineCor") for name in engine), placed
    assert any(name.startswith("VLLM::Worker") for name in engine), placed
    for name, cpu_sets in engine.items():
        assert all(CORES[-1] not in cpus for cpus in cpu_sets), (name, cpu_sets)
    assert placed["server"] == {frozenset(CORES)}, placed["server"]  # the engine client's threads too
