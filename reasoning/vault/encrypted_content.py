"""Reasoning a client may carry between turns without the server keeping it.

A reasoning item's `encrypted_content` is the raw reasoning sealed with AES-256-GCM, bound
to the item's id and its owner: only this server's key ring opens it, only for the key
that received it, and only unaltered. Anything else is refused, never read leniently.
"""

from __future__ import annotations

import base64
import binascii
import json

from reasoning.errors import InvalidRequest
from reasoning.vault.crypto import KeyRing, SealBroken

PURPOSE = "encrypted-content"


class InvalidEncryptedContent(InvalidRequest):
    """A reasoning item's encrypted_content was altered, foreign, or not the caller's."""

    code = "invalid_encrypted_content"


def _context(item_id: str, owner: str) -> bytes:
    return f"{PURPOSE}\x00{item_id}\x00{owner}".encode()


def seal(ring: KeyRing, item_id: str, owner: str, reasoning: str) -> str:
    payload = json.dumps({"reasoning": reasoning}).encode()
    return base64.urlsafe_b64encode(ring.seal(payload, _context(item_id, owner))).decode()


def unseal(ring: KeyRing, item_id: str, owner: str, content: str, param: str) -> str:
    """The reasoning inside, or InvalidEncryptedContent."""
    try:
        blob = base64.urlsafe_b64decode(content.encode("ascii"))
        return json.loads(ring.open(blob, _context(item_id, owner)))["reasoning"]
    except (SealBroken, binascii.Error, UnicodeEncodeError, ValueError, KeyError, TypeError) as exc:
        raise InvalidEncryptedContent(
            "encrypted_content does not belong to this reasoning item and caller, or was altered", param=param
        ) from exc
