"""AES-256-GCM with a key ring: sealing raw reasoning at rest and in `encrypted_content`.

A sealed blob names the key that sealed it, so keys can rotate: new seals use the newest
key, older blobs stay readable while their key is in the ring. The caller binds the blob
to its context (the trace id, the owner) as associated data; a blob opened in another
context, altered in any byte, or sealed by a key the ring lacks fails to open. Nothing
is ever returned that did not authenticate.

    blob = b"r1" | len(key id) | key id | 12-byte nonce | ciphertext | 16-byte tag
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"r1"
NONCE_BYTES = 12
KEY_BYTES = 32


class SealBroken(Exception):
    """A blob did not authenticate: tampered, truncated, foreign, or its key is gone."""


@dataclass(frozen=True)
class KeyRing:
    keys: dict[str, bytes]  # key id -> 32-byte key, in age order: the last is the newest
    purpose: str = ""

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a key ring needs at least one key")
        for key_id, key in self.keys.items():
            if len(key) != KEY_BYTES or not key_id.isascii() or not 0 < len(key_id) < 256 or ":" in key_id:
                raise ValueError(f"key {key_id!r}: ids are short ASCII without ':', keys are {KEY_BYTES} bytes")

    @property
    def current(self) -> str:
        return next(reversed(self.keys))

    def for_purpose(self, purpose: str) -> KeyRing:
        """The same ring with keys derived for one use, so traces at rest and client-held
        blobs never share a key even though operators manage one ring."""
        return KeyRing({kid: _derive(key, purpose) for kid, key in self.keys.items()}, purpose)

    def seal(self, plaintext: bytes, associated: bytes) -> bytes:
        key_id = self.current.encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, plaintext, associated)
        return MAGIC + bytes([len(key_id)]) + key_id + nonce + sealed

    def open(self, blob: bytes, associated: bytes) -> bytes:
        if len(blob) < len(MAGIC) + 2 or not blob.startswith(MAGIC):
            raise SealBroken("not a sealed blob")
        size = blob[len(MAGIC)]
        start = len(MAGIC) + 1
        key_id = blob[start : start + size].decode("ascii", errors="replace")
        nonce = blob[start + size : start + size + NONCE_BYTES]
        sealed = blob[start + size + NONCE_BYTES :]
        key = self.keys.get(key_id)
        if key is None or len(nonce) != NONCE_BYTES:
            raise SealBroken("sealed by an unknown key")
        try:
            return AESGCM(key).decrypt(nonce, sealed, associated)
        except InvalidTag as exc:
            raise SealBroken("the blob does not authenticate") from exc

    def key_id_of(self, blob: bytes) -> str:
        size = blob[len(MAGIC)]
        return blob[len(MAGIC) + 1 : len(MAGIC) + 1 + size].decode("ascii", errors="replace")


def _derive(key: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode()).derive(key)


def parse_keys(spec: str) -> dict[str, bytes]:
    """`id:base64key[,id:base64key...]`, oldest first (REASONING_TRACE_KEYS)."""
    keys = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key_id, _, encoded = item.partition(":")
        keys[key_id] = base64.b64decode(encoded, validate=True)
    return keys


def format_keys(keys: dict[str, bytes]) -> str:
    return ",".join(f"{kid}:{base64.b64encode(key).decode()}" for kid, key in keys.items())


def new_key() -> tuple[str, bytes]:
    return f"k{secrets.token_hex(4)}", secrets.token_bytes(KEY_BYTES)


def load_or_create(path: Path) -> dict[str, bytes]:
    """The key file in the data directory, created with one fresh key (mode 0600) if absent."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process (a replica, the CLI) created it first
            return parse_keys(path.read_text())
        with os.fdopen(fd, "w") as out:
            out.write(format_keys(dict([new_key()])) + "\n")
            out.flush()
            os.fsync(out.fileno())
    return parse_keys(path.read_text())


KeySource = Callable[[], KeyRing]  # the ring as it is now: a key file may gain keys while serving


class PurposeKeys:
    """One purpose's keys from a source that may change: derived again only when the
    source hands out a new ring (after a rotation), not on every seal."""

    def __init__(self, source: KeySource, purpose: str) -> None:
        self._source = source
        self._purpose = purpose
        self._from: KeyRing | None = None
        self._ring: KeyRing | None = None

    @property
    def ring(self) -> KeyRing:
        current = self._source()
        if current is not self._from or self._ring is None:
            self._ring, self._from = current.for_purpose(self._purpose), current
        return self._ring


class KeyFile:
    """The data directory's key file as a key source, read again whenever it changes: a key
    that `reasoning-server vault rotate` appends is used for new seals at once, and rows the
    rotation re-wrapped under it stay readable, without a restart."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._ring: KeyRing | None = None

    def ring(self) -> KeyRing:
        if self._ring is None:
            load_or_create(self.path)
        stat = self.path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp or self._ring is None:
            self._ring, self._stamp = KeyRing(parse_keys(self.path.read_text())), stamp
        return self._ring

    def add_key(self) -> str:
        """Append a fresh key, which becomes the newest; returns its id. The file is replaced
        atomically and keeps mode 0600."""
        keys = {**self.ring().keys, **dict([new_key()])}
        spare = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}")
        fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(format_keys(keys) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(spare, self.path)
        return next(reversed(keys))
