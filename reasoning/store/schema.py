"""The store's schema, as numbered migrations applied in order on open, on every backend.

`schema_version` holds the number of the last migration applied. Each migration runs in
one transaction with its version bump, under the backend's migration lock, so replicas or
a CLI starting at once apply it exactly once. A migration is DDL in the dialect-neutral
form of `Dialect.ddl`, optionally followed by a data step in Python that the records' owner
supplies (the vault seals version 1's plaintext chains: `reasoning.vault.traces`).

    1  traces                    the trace metadata and its chains (plaintext until 2)
    2  vault                     chains sealed with a per-trace data key (trace_keys), the
                                 raw-read audit log, API keys, the spend ledger and its
                                 reservations; existing plaintext chains are sealed
    3  responses                 stored Responses API objects, for GET /v1/responses/{id}
    4  conversations             each response's context items (for previous_response_id and
                                 input_items), and the ids of `store: false` responses, so that
                                 continuing one says why it cannot be
    5  background                a background response's lease while it is queued or runs:
                                 renewed by the replica running it, NULL once it is final
    6  response_events           a streamed background response's numbered events, for
                                 `GET /v1/responses/{id}?stream=true&starting_after=N` on any replica
    7  rate_limits               each key's requests and tokens per minute, and their token
                                 buckets, shared by every replica
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from reasoning.store.db import Database, Tx

DataStep = Callable[[Tx], Awaitable[None]]  # rewrites rows after a migration's DDL, in its transaction


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS = (
    Migration(
        1,
        "traces",
        (
            """CREATE TABLE traces (
                id TEXT PRIMARY KEY,
                owner TEXT NOT NULL,
                model TEXT NOT NULL,
                request_id TEXT NOT NULL,
                created_at {real} NOT NULL,
                prompt_tokens INTEGER NOT NULL,
                completion_tokens INTEGER NOT NULL,
                reasoning_tokens INTEGER NOT NULL,
                cost_usd {real} NOT NULL,
                budget_tokens INTEGER NOT NULL,
                chains {blob} NOT NULL
            )""",
            "CREATE INDEX traces_owner_created ON traces (owner, created_at)",
        ),
    ),
    Migration(
        2,
        "vault",
        (
            "CREATE INDEX traces_created ON traces (created_at)",
            """CREATE TABLE trace_keys (
                trace_id TEXT PRIMARY KEY,
                key_id TEXT NOT NULL,
                wrapped {blob} NOT NULL
            )""",
            "CREATE INDEX trace_keys_key ON trace_keys (key_id, trace_id)",
            """CREATE TABLE trace_audit (
                id {serial_pk},
                trace_id TEXT NOT NULL,
                trace_owner TEXT NOT NULL,
                action TEXT NOT NULL,
                actor TEXT NOT NULL,
                role TEXT NOT NULL,
                at {real} NOT NULL,
                request_id TEXT NOT NULL,
                reason TEXT
            )""",
            "CREATE INDEX trace_audit_trace ON trace_audit (trace_id, id)",
            "CREATE INDEX trace_audit_at ON trace_audit (at)",
            """CREATE TABLE api_keys (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                role TEXT NOT NULL,
                secret_hash TEXT NOT NULL UNIQUE,
                created_at {real} NOT NULL,
                revoked_at {real},
                budget_nanos {bigint},
                period_seconds {bigint}
            )""",
            """CREATE TABLE spend (
                key_id TEXT NOT NULL,
                period {bigint} NOT NULL,
                spent_nanos {bigint} NOT NULL,
                PRIMARY KEY (key_id, period)
            )""",
            """CREATE TABLE reservations (
                id TEXT PRIMARY KEY,
                key_id TEXT NOT NULL,
                period {bigint} NOT NULL,
                amount_nanos {bigint} NOT NULL,
                expires_at {real} NOT NULL
            )""",
            "CREATE INDEX reservations_key ON reservations (key_id, period)",
        ),
    ),
    Migration(
        3,
        "responses",
        (
            """CREATE TABLE responses (
                id TEXT PRIMARY KEY,
                owner TEXT NOT NULL,
                created_at {real} NOT NULL,
                body {blob} NOT NULL
            )""",
            "CREATE INDEX responses_created ON responses (created_at)",
        ),
    ),
    Migration(
        4,
        "conversations",
        (
            "ALTER TABLE responses ADD COLUMN context {blob}",  # NULL: stored before version 4
            "ALTER TABLE responses ADD COLUMN kept INTEGER NOT NULL DEFAULT 1",  # 0: store false, no body
        ),
    ),
    Migration(
        5,
        "background",
        (
            "ALTER TABLE responses ADD COLUMN lease_until {real}",
            "CREATE INDEX responses_lease ON responses (lease_until)",
        ),
    ),
    Migration(
        6,
        "response_events",
        (
            """CREATE TABLE response_events (
                response_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                event {blob} NOT NULL,
                PRIMARY KEY (response_id, seq)
            )""",
        ),
    ),
    Migration(
        7,
        "rate_limits",
        (
            "ALTER TABLE api_keys ADD COLUMN rpm {bigint}",
            "ALTER TABLE api_keys ADD COLUMN tpm {bigint}",
            """CREATE TABLE rate_buckets (
                key_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                level {real} NOT NULL,
                updated_at {real} NOT NULL,
                PRIMARY KEY (key_id, kind)
            )""",
        ),
    ),
)
LATEST = MIGRATIONS[-1].version


async def migrate(db: Database, data_steps: Mapping[int, DataStep]) -> int:
    """Apply every migration the database lacks, each followed by its data step in
    `data_steps` (by version) if it has one; the version it is at afterwards."""
    version = 0
    for migration in MIGRATIONS:
        async with db.transaction() as tx:
            await db.migration_lock(tx)
            await tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = await tx.one("SELECT version FROM schema_version")
            version = row[0] if row else 0
            if version > LATEST:
                raise RuntimeError(f"the store's schema is version {version}, newer than this server's {LATEST}")
            if version >= migration.version:
                continue
            for statement in migration.statements:
                await tx.execute(db.dialect.ddl(statement))
            if (step := data_steps.get(migration.version)) is not None:
                await step(tx)
            await tx.execute("DELETE FROM schema_version")
            await tx.execute("INSERT INTO schema_version VALUES (?)", (migration.version,))
            version = migration.version
    return version
