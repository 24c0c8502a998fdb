"""Where the deploy files are, and how the deploy tests run external tools.

A missing tool fails its tests with the command that installs it: a skipped check
would look like a passing one.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def require_tool(name: str, install: str) -> str:
    # The venv's bin is not on PATH when pytest runs as .venv/bin/pytest.
    path = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        pytest.fail(f"`{name}` is not installed: {install}", pytrace=False)
    return path


def require_module(name: str, install: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError:
        pytest.fail(f"the Python module `{name}` is not installed: {install}", pytrace=False)


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False)


def load_yaml(path: Path) -> dict:
    with path.open() as f:
        return yaml.safe_load(f)
