"""Envelope encryption of a trace's chains (its raw reasoning and answers).

Each trace gets its own random data key. The chains are sealed with it (AES-256-GCM); the
data key is sealed ("wrapped") with the newest key of the ring, derived for this purpose,
and stored apart from the trace, in `trace_keys`. Both seals bind the trace id and owner as
associated data, so a row copied onto another trace, or altered in any byte, fails to open.

- Rotation re-wraps each data key under the newest ring key; old rows stay readable meanwhile.
- Deletion destroys the data key with the trace (crypto-shredding): a copy of the sealed
  chains that lingers anywhere can no longer be opened.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass

from reasoning.types import Chain
from reasoning.vault.crypto import KEY_BYTES, KeyRing, KeySource, PurposeKeys

PURPOSE = "trace-at-rest"
_DATA_KEY_ID = "dk"


@dataclass(frozen=True)
class Sealed:
    chains: bytes  # the chains sealed with the data key
    key_id: str  # the ring key that wrapped the data key
    wrapped: bytes  # the data key sealed with that ring key


class TraceSealer:
    def __init__(self, keys: KeySource) -> None:
        self._keys = PurposeKeys(keys, PURPOSE)

    @property
    def ring(self) -> KeyRing:
        """The ring's keys derived for traces at rest."""
        return self._keys.ring

    def seal(self, trace_id: str, owner: str, chains: tuple[Chain, ...]) -> Sealed:
        data_key = secrets.token_bytes(KEY_BYTES)
        payload = json.dumps([asdict(chain) for chain in chains], ensure_ascii=False).encode()
        sealed = KeyRing({_DATA_KEY_ID: data_key}).seal(payload, _context("chains", trace_id, owner))
        ring = self.ring
        return Sealed(sealed, ring.current, ring.seal(data_key, _context("data-key", trace_id, owner)))

    def open(self, trace_id: str, owner: str, sealed_chains: bytes, wrapped: bytes) -> tuple[Chain, ...]:
        """The chains, or SealBroken: never bytes that did not authenticate."""
        data_key = self.ring.open(wrapped, _context("data-key", trace_id, owner))
        payload = KeyRing({_DATA_KEY_ID: data_key}).open(sealed_chains, _context("chains", trace_id, owner))
        return tuple(Chain.from_record(chain) for chain in json.loads(payload))

    def rewrap(self, trace_id: str, owner: str, wrapped: bytes) -> tuple[str, bytes]:
        """The data key wrapped under the newest ring key instead."""
        ring = self.ring
        context = _context("data-key", trace_id, owner)
        return ring.current, ring.seal(ring.open(wrapped, context), context)


def _context(what: str, trace_id: str, owner: str) -> bytes:
    return f"{PURPOSE}\x00{what}\x00{trace_id}\x00{owner}".encode()
