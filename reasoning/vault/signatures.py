"""The `signature` of a Messages API thinking block (and the `data` of a redacted one).

It is the block's raw reasoning sealed with AES-256-GCM under the same ring as
encrypted_content, bound as associated data to the caller and to the thinking text the
block shows: a stateless client passes the block back unmodified and the server recovers
the reasoning; a block whose text or signature was altered, a signature another caller
received, or one from another server is refused, never read leniently.

A `redacted_thinking` block's `data` is the signature of a block that shows no text, so an
omitted thinking block (`thinking: ""`) may travel back in either form.
"""

from __future__ import annotations

import base64
import binascii
import json

from reasoning.errors import InvalidRequest
from reasoning.vault import encrypted_content
from reasoning.vault.crypto import KeyRing, SealBroken

CONTEXT = "thinking-signature"  # keeps a signature and an encrypted_content from opening as each other


class InvalidSignature(InvalidRequest):
    """A thinking block's signature (or a redacted block's data) was altered, foreign, or not the caller's."""

    code = "invalid_signature"


def _context(owner: str, shown: str) -> bytes:
    return f"{CONTEXT}\x00{owner}\x00{shown}".encode()


def sign(ring: KeyRing, owner: str, shown: str, reasoning: str) -> str:
    payload = json.dumps({"reasoning": reasoning}).encode()
    return base64.urlsafe_b64encode(ring.seal(payload, _context(owner, shown))).decode()


def resign(ring: KeyRing, item_id: str, owner: str, sealed: str | None, shown: str) -> str:
    """The signature of a block showing `shown`, over the reasoning a chain's encrypted_content
    holds (None: the chain produced none). The reasoning is opened and sealed here, in the vault."""
    reasoning = "" if sealed is None else encrypted_content.unseal(ring, item_id, owner, sealed, "signature")
    return sign(ring, owner, shown, reasoning)


def verify(ring: KeyRing, owner: str, shown: str, signature: str, param: str) -> str:
    """The reasoning inside, or InvalidSignature."""
    try:
        blob = base64.urlsafe_b64decode(signature.encode("ascii"))
        return json.loads(ring.open(blob, _context(owner, shown)))["reasoning"]
    except (SealBroken, binascii.Error, UnicodeEncodeError, ValueError, KeyError, TypeError) as exc:
        raise InvalidSignature(
            "the thinking block's signature does not match its text and caller, or was altered: "
            "pass thinking blocks back exactly as received",
            param=param,
        ) from exc
