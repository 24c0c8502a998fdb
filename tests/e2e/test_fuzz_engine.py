"""A smaller fuzz run (tests/unit/test_fuzz.py's) against the real engine: generated requests
that reach vLLM, its tokenizer and its sampling parameters get no 5xx either."""

from __future__ import annotations

import pytest
from schemathesis import GenerationMode

from tests.unit.test_fuzz import fuzz

pytestmark = pytest.mark.timeout(600)
EXAMPLES = {("POST", GenerationMode.POSITIVE): 15, ("POST", GenerationMode.NEGATIVE): 10}


def test_generated_requests_to_the_real_engine_get_no_5xx(bounded_server):
    """On the server whose efforts think little and whose requests have at most two choices,
    so no generated request holds the engine for long."""
    statuses = fuzz(bounded_server.url, {}, EXAMPLES)
    assert sum(statuses.values()) >= 80 and statuses[200] > 0, statuses
