"""`reasoning-server keys …` (API keys) and `reasoning-server vault …` (the trace keys).

Both work on the store the server uses: the same settings (REASONING_* variables, or
--data-dir / --store-url), so they can run beside a live server.

    keys create --role user|admin [--budget-usd X [--period 30d]] [--rpm N] [--tpm N] [--name NAME]
    keys limit KEY_ID [--rpm N|none] [--tpm N|none]   change a key's rate limits at once
    keys list
    keys revoke KEY_ID
    vault status              which ring key wraps how many traces
    vault rotate              add a new newest key (key file) and re-wrap every trace under it
    vault new-key             print a fresh key for REASONING_TRACE_KEYS

`keys create` prints the new secret once, alone on the last line of standard output, so
a script can capture it with `tail -n 1`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import time
from collections.abc import Awaitable, Callable

from reasoning.accounts.api_keys import ROLES, ApiKey
from reasoning.durations import parse_duration
from reasoning.pricing import Money
from reasoning.storage import Store, open_store
from reasoning.vault.crypto import KeyFile, format_keys, new_key
from server.settings import Settings

STORE_FLAGS = {"--data-dir": "REASONING_DATA_DIR", "--store-url": "REASONING_STORE_URL"}


def add_commands(commands: argparse._SubParsersAction) -> None:
    keys = commands.add_parser("keys", help="create, list and revoke API keys")
    keys_do = keys.add_subparsers(dest="action", required=True)
    create = keys_do.add_parser("create", help="create a key; its secret is the last line of the output")
    create.add_argument("--role", choices=ROLES, required=True)
    create.add_argument("--name", default="")
    create.add_argument("--budget-usd", type=float, help="dollars the key may spend per period")
    create.add_argument("--period", default="30d", help="the budget's period: 30d, 12h, 90m, seconds (default 30d)")
    limit = keys_do.add_parser("limit", help="set a key's requests and tokens per minute")
    limit.add_argument("key_id")
    for parser, unset in ((create, "unlimited"), (limit, "unchanged; none: unlimited")):
        parser.add_argument("--rpm", type=_rate, help=f"requests per minute (default {unset})")
        parser.add_argument("--tpm", type=_rate, help=f"tokens per minute, prompt and generated (default {unset})")
    keys_do.add_parser("list", help="every key, its role, budget, rate limits and spend this period")
    revoke = keys_do.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id")
    vault = commands.add_parser("vault", help="the keys that encrypt stored reasoning")
    vault_do = vault.add_subparsers(dest="action", required=True)
    vault_do.add_parser("status", help="how many traces each key wraps")
    rotate = vault_do.add_parser("rotate", help="re-wrap every trace under the newest key")
    rotate.add_argument("--no-new-key", action="store_true", help="rotate to the newest key already configured")
    vault_do.add_parser("new-key", help="print a new key to append to REASONING_TRACE_KEYS")
    for parser in (create, limit, keys_do.choices["list"], revoke, *vault_do.choices.values()):
        for flag, variable in STORE_FLAGS.items():
            parser.add_argument(flag, help=f"overrides {variable}")


def main(args: argparse.Namespace) -> int:
    overrides = {name: getattr(args, name) for name in ("data_dir", "store_url") if getattr(args, name, None)}
    settings = Settings(**overrides)
    command = COMMANDS[(args.command, args.action)]
    try:
        return asyncio.run(command(settings, args))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


async def _with_store(settings: Settings, work: Callable[[Store], Awaitable[int]]) -> int:
    store = await open_store(
        settings.resolved_store_url, settings.trace_key_source(), retention_seconds=settings.trace_retention_seconds
    )
    try:
        return await work(store)
    finally:
        await store.close()


async def create(settings: Settings, args: argparse.Namespace) -> int:
    budget = Money.at_least(args.budget_usd).nanos if args.budget_usd is not None else None
    period = int(parse_duration(args.period)) if budget is not None else None

    async def work(store: Store) -> int:
        rpm, tpm = (None if v == NO_LIMIT else v for v in (args.rpm, args.tpm))
        key, secret = await store.api_keys.create(args.role, args.name, budget, period, rpm, tpm)
        shown = f", budget {_budget(key)}" if key.budgeted else ""
        shown += f", {_rates(key)}" if key.rpm or key.tpm else ""
        print(f"created {key.id}: role {key.role}{shown}{f', name {key.name!r}' if key.name else ''}")
        print("the secret follows, shown this once; the server keeps only its hash:")
        print(secret)
        return 0

    return await _with_store(settings, work)


async def list_keys(settings: Settings, args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        print(f"{'id':<22} {'role':<6} {'status':<8} {'budget':<26} {'rate limits':<26} {'spent this period':<18} name")
        for key in await store.api_keys.all():
            spent = "-"
            if key.budgeted:
                spent = f"{Money((await store.ledger.standing(key)).spent_nanos)} USD"
            status = "revoked" if key.revoked_at else "active"
            print(f"{key.id:<22} {key.role:<6} {status:<8} {_budget(key):<26} {_rates(key):<26} {spent:<18} {key.name}")
        return 0

    return await _with_store(settings, work)


async def set_limits(settings: Settings, args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        key = await store.api_keys.get(args.key_id)
        if key is None or key.revoked_at is not None:
            print(f"error: no active key {args.key_id}", file=sys.stderr)
            return 1
        rpm, tpm = (None if new == NO_LIMIT else old if new is None else new for new, old in
                    ((args.rpm, key.rpm), (args.tpm, key.tpm)))  # fmt: skip
        await store.api_keys.set_rates(key.id, rpm, tpm)
        print(f"{key.id}: {_rates(dataclasses.replace(key, rpm=rpm, tpm=tpm))}, from its next request")
        return 0

    return await _with_store(settings, work)


async def revoke(settings: Settings, args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        if not await store.api_keys.revoke(args.key_id):
            print(f"error: no active key {args.key_id}", file=sys.stderr)
            return 1
        print(f"revoked {args.key_id}")
        return 0

    return await _with_store(settings, work)


async def vault_status(settings: Settings, args: argparse.Namespace) -> int:
    ring = settings.trace_key_source()()

    async def work(store: Store) -> int:
        usage = await store.traces.key_usage()
        for key_id in dict.fromkeys([*ring.keys, *usage]):
            mark = " (newest)" if key_id == ring.current else "" if key_id in ring.keys else " (NOT IN THE RING)"
            print(f"{key_id}{mark}: {usage.get(key_id, 0)} traces")
        return 0

    return await _with_store(settings, work)


async def rotate(settings: Settings, args: argparse.Namespace) -> int:
    if settings.trace_keys:
        print("REASONING_TRACE_KEYS is set: rotating to its last key (add new keys there, then restart the servers)")
    elif not args.no_new_key:
        key_id = KeyFile(settings.data_dir / "trace-keys").add_key()
        print(f"added key {key_id} to {settings.data_dir / 'trace-keys'}; servers use it for new traces at once")

    async def work(store: Store) -> int:
        started = time.monotonic()
        done = await store.traces.rotate()
        took = time.monotonic() - started
        print(f"re-wrapped {done.rewrapped} traces under {store.traces.sealer.ring.current} in {took:.1f} s")
        if done.unreadable:
            print(f"error: {done.unreadable} traces open under no configured key; left as they are", file=sys.stderr)
            return 1
        return 0

    return await _with_store(settings, work)


async def print_new_key(settings: Settings, args: argparse.Namespace) -> int:
    print("append this to REASONING_TRACE_KEYS (comma-separated, newest last):")
    print(format_keys(dict([new_key()])))
    return 0


def _budget(key: ApiKey) -> str:
    if not key.budgeted:
        return "-"
    return f"{Money(key.budget_nanos or 0)} USD per {_period(key.period_seconds or 0)}"


NO_LIMIT = 0  # what `--rpm none` parses to


def _rate(text: str) -> int:
    if text.lower() == "none":
        return NO_LIMIT
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("a rate limit is at least 1 per minute, or none")
    return value


def _rates(key: ApiKey) -> str:
    if not key.rpm and not key.tpm:
        return "-"
    return " ".join(f"{v} {unit}" for v, unit in ((key.rpm, "rpm"), (key.tpm, "tpm")) if v)


def _period(seconds: int) -> str:
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


COMMANDS: dict[tuple[str, str], Callable[[Settings, argparse.Namespace], Awaitable[int]]] = {
    ("keys", "create"): create,
    ("keys", "list"): list_keys,
    ("keys", "limit"): set_limits,
    ("keys", "revoke"): revoke,
    ("vault", "status"): vault_status,
    ("vault", "rotate"): rotate,
    ("vault", "new-key"): print_new_key,
}
