"""Reading a stored trace straight from a data directory's SQLite file, decrypted with that
directory's key file (the way an operator with the keys could)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from pathlib import Path

from reasoning.vault.crypto import KeyFile
from reasoning.vault.sealing import TraceSealer


def trace_row(data_dir: Path, trace_id: str) -> dict | None:
    """The trace's row, its `chains` decrypted back to JSON bytes; None if there is none."""
    with sqlite3.connect(data_dir / "reasoning.db") as db:
        db.row_factory = sqlite3.Row
        row = db.execute(
            "SELECT t.*, k.wrapped FROM traces t JOIN trace_keys k ON k.trace_id = t.id WHERE t.id = ?", (trace_id,)
        ).fetchone()
    if row is None:
        return None
    sealer = TraceSealer(KeyFile(data_dir / "trace-keys").ring)
    chains = sealer.open(row["id"], row["owner"], row["chains"], row["wrapped"])
    return {**dict(row), "chains": json.dumps([asdict(c) for c in chains]).encode()}
