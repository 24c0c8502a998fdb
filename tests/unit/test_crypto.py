"""The key ring and the data directory's key file."""

from __future__ import annotations

import stat

import pytest

from reasoning.types import Chain
from reasoning.vault.crypto import KeyFile, KeyRing, SealBroken, format_keys, load_or_create, new_key, parse_keys
from reasoning.vault.sealing import TraceSealer

CHAINS = (Chain(0, "secret steps", "answer", 2, 3, "stop"),)


def test_new_seals_use_the_newest_key_and_old_blobs_stay_readable():
    old = KeyRing(dict([new_key()]))
    blob = old.seal(b"reasoning", b"ctx")
    rotated = KeyRing({**old.keys, **dict([new_key()])})
    assert rotated.open(blob, b"ctx") == b"reasoning" and rotated.key_id_of(blob) == old.current
    assert rotated.key_id_of(rotated.seal(b"x", b"ctx")) == rotated.current != old.current


def test_anything_but_the_exact_blob_key_and_context_fails():
    ring = KeyRing(dict([new_key()]))
    blob = ring.seal(b"reasoning", b"ctx")
    for i in range(len(blob)):
        flipped = bytearray(blob)
        flipped[i] ^= 1
        with pytest.raises(SealBroken):
            ring.open(bytes(flipped), b"ctx")
    with pytest.raises(SealBroken):
        ring.open(blob, b"other context")
    with pytest.raises(SealBroken):
        KeyRing({ring.current: new_key()[1]}).open(blob, b"ctx")  # same id, wrong key
    with pytest.raises(SealBroken):
        ring.for_purpose("encrypted-content").open(ring.for_purpose("trace-at-rest").seal(b"x", b"c"), b"c")


def test_trace_seals_bind_the_trace_and_its_owner():
    ring = KeyRing(dict([new_key()]))
    sealer = TraceSealer(lambda: ring)
    sealed = sealer.seal("rs_1", "key_a", CHAINS)
    assert sealer.open("rs_1", "key_a", sealed.chains, sealed.wrapped) == CHAINS
    assert b"secret steps" not in sealed.chains + sealed.wrapped
    for trace_id, owner in (("rs_2", "key_a"), ("rs_1", "key_b")):
        with pytest.raises(SealBroken):
            sealer.open(trace_id, owner, sealed.chains, sealed.wrapped)
    other = sealer.seal("rs_1", "key_a", CHAINS)
    with pytest.raises(SealBroken):  # each trace has its own data key
        sealer.open("rs_1", "key_a", sealed.chains, other.wrapped)


def test_the_key_file_is_private_and_picks_up_added_keys(tmp_path):
    path = tmp_path / "data" / "trace-keys"
    source = KeyFile(path)
    first = source.ring()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first.keys) == 1
    assert source.ring() is first  # unchanged file: the same ring, no re-read
    added = source.add_key()
    ring = source.ring()
    assert ring.current == added and list(ring.keys) == [first.current, added]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create(path) == ring.keys
    assert parse_keys(format_keys(ring.keys)) == ring.keys


def test_a_ring_refuses_bad_keys():
    with pytest.raises(ValueError):
        KeyRing({})
    with pytest.raises(ValueError):
        KeyRing({"k1": b"short"})
    with pytest.raises(ValueError):
        parse_keys("k1:not base64!")
