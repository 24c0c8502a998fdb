"""The fault soak (bench/soak.py), short: a minute of mixed traffic (about two with the restarts),
a kill -9 halfway, a restart on the same store, and nothing lost: no 5xx outside the kill, every
trace and charge kept, the ledger balanced, no reservation left held, the engine idle at the end."""

from __future__ import annotations

import pytest

from bench.soak import soak

pytestmark = pytest.mark.timeout(600)


def test_a_minute_of_mixed_traffic_and_a_kill_lose_nothing():
    ok, report = soak(minutes=1, concurrency=4)
    print(report)
    assert ok, report
