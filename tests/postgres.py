"""A real PostgreSQL server for the tests: Debian's `postgresql` package (installed by
scripts/install-system-deps.sh, which `make test` runs), a throwaway cluster in a temporary
directory, listening on a free 127.0.0.1 port, stopped at the end of the session.

It never skips: if PostgreSQL cannot be installed or started, the tests that need it fail.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from devtools.processes import free_port

ROOT = Path(__file__).resolve().parents[1]
INSTALLER = ROOT / "scripts" / "install-system-deps.sh"


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


@dataclass
class PostgresServer:
    bin_dir: Path
    home: Path  # the cluster's data directory and its socket live under here
    port: int

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def fresh_store_url(self, prefix: str = "t") -> str:
        """The URL of a new, empty schema (cheaper than a database: no files to copy and sync)."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.psql(f"CREATE SCHEMA {name}")
        return f"{self.url('postgres')}?options=-c%20search_path%3D{name}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        done = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database, "-Atqc", sql],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout

    def stop(self) -> None:
        _as_owner(self.home, [str(self.bin_dir / "pg_ctl"), "-D", str(self.home / "data"), "-m", "immediate", "stop"])
        shutil.rmtree(self.home, ignore_errors=True)


def _as_owner(home: Path, command: list[str]) -> subprocess.CompletedProcess:
    """initdb and postgres refuse to run as root: as root, run them as the `postgres` user."""
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, cwd=home, capture_output=True, text=True, timeout=120)


def ensure_installed() -> Path:
    bin_dir = _bin_dir()
    if bin_dir is None:
        subprocess.run(["bash", str(INSTALLER)], check=False, timeout=900)
        bin_dir = _bin_dir()
    if bin_dir is None:
        raise RuntimeError(
            f"PostgreSQL is not installed and {INSTALLER.relative_to(ROOT)} could not install it "
            "(it needs root or sudo and Debian's package repositories)"
        )
    return bin_dir


def start() -> PostgresServer:
    bin_dir = ensure_installed()
    home = Path(tempfile.mkdtemp(prefix="reasoning-pg-"))
    if os.geteuid() == 0:
        shutil.chown(home, "postgres", "postgres")
    data, port = home / "data", free_port()
    steps = (
        [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"],
        [
            str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(home / "log"), "-w", "-t", "60", "start", "-o",
            f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c max_connections=200",
        ],
    )  # fmt: skip
    for command in steps:
        done = _as_owner(home, command)
        if done.returncode != 0:
            log = (home / "log").read_text(errors="replace") if (home / "log").exists() else ""
            shutil.rmtree(home, ignore_errors=True)
            raise RuntimeError(f"{Path(command[0]).name} failed: {done.stdout}{done.stderr}{log}")
    return PostgresServer(bin_dir, home, port)
