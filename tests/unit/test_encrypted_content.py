"""encrypted_content: sealed to one reasoning item and one owner; any alteration is refused."""

from __future__ import annotations

import base64

import pytest

from reasoning.vault import encrypted_content
from reasoning.vault.crypto import MAGIC, NONCE_BYTES, KeyRing
from reasoning.vault.encrypted_content import InvalidEncryptedContent

RING = KeyRing({"k1": b"\x01" * 32}).for_purpose(encrypted_content.PURPOSE)
REASONING = "347*29\n7*9=63,3\n=10063"


def sealed() -> bytes:
    return base64.urlsafe_b64decode(encrypted_content.seal(RING, "rs_1", "alice", REASONING))


def unseal(blob: bytes, item: str = "rs_1", owner: str = "alice", ring: KeyRing = RING) -> str:
    return encrypted_content.unseal(ring, item, owner, base64.urlsafe_b64encode(blob).decode(), "input[0]")


def test_round_trip_and_no_plaintext_inside():
    blob = sealed()
    assert unseal(blob) == REASONING
    assert b"7*9=63" not in blob and b"347" not in blob


def regions(blob: bytes) -> dict[str, range]:
    """Where each kind of byte lives: magic, key id length and id, nonce, ciphertext, tag."""
    key_end = len(MAGIC) + 1 + blob[len(MAGIC)]
    nonce_end = key_end + NONCE_BYTES
    return {
        "magic": range(0, len(MAGIC)),
        "key id": range(len(MAGIC), key_end),
        "nonce": range(key_end, nonce_end),
        "ciphertext": range(nonce_end, len(blob) - 16),
        "tag": range(len(blob) - 16, len(blob)),
    }


@pytest.mark.parametrize("region", ["magic", "key id", "nonce", "ciphertext", "tag"])
def test_flipping_any_byte_of_any_region_is_refused(region):
    blob = sealed()
    for position in regions(blob)[region]:
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with pytest.raises(InvalidEncryptedContent) as err:
            unseal(bytes(tampered))
        assert err.value.code == "invalid_encrypted_content" and err.value.param == "input[0]"
        assert REASONING not in err.value.message


@pytest.mark.parametrize("cut", [0, 1, 3, 20, -1, -16])
def test_truncated_blobs_are_refused(cut):
    with pytest.raises(InvalidEncryptedContent):
        unseal(sealed()[:cut])


def test_another_owner_another_item_or_another_key_is_refused():
    blob = sealed()
    with pytest.raises(InvalidEncryptedContent):
        unseal(blob, owner="mallory")
    with pytest.raises(InvalidEncryptedContent):
        unseal(blob, item="rs_2")
    foreign = KeyRing({"k1": b"\x02" * 32}).for_purpose(encrypted_content.PURPOSE)
    with pytest.raises(InvalidEncryptedContent):
        unseal(blob, ring=foreign)
    # the same keys used for another purpose (traces at rest) do not open it either
    with pytest.raises(InvalidEncryptedContent):
        unseal(blob, ring=KeyRing({"k1": b"\x01" * 32}).for_purpose("traces"))


def test_rotation_keeps_old_blobs_open_and_seals_with_the_newest_key():
    blob = sealed()
    rotated = KeyRing({"k1": b"\x01" * 32, "k2": b"\x03" * 32}).for_purpose(encrypted_content.PURPOSE)
    assert unseal(blob, ring=rotated) == REASONING
    assert rotated.key_id_of(base64.urlsafe_b64decode(encrypted_content.seal(rotated, "a", "b", "x"))) == "k2"


@pytest.mark.parametrize("garbage", ["", "not base64 !!", "%%%%", "AAAA", "cjE="])
def test_garbage_is_refused(garbage):
    with pytest.raises(InvalidEncryptedContent):
        encrypted_content.unseal(RING, "rs_1", "alice", garbage, "input[0]")
