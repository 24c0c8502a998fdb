"""A smaller fuzz run (tests/unit/test_fuzz.py's) against the real engine: generated requests
that reach vLLM, its tokenizer and its sampling parameters get no 5xx either."""

from __future__ import annotations

import json

import pytest
from schemathesis import GenerationMode

from devtools.server import start_server, stop_server
from tests.unit.test_fuzz import fuzz

pytestmark = pytest.mark.timeout(600)
EXAMPLES = {("POST", GenerationMode.POSITIVE): 15, ("POST", GenerationMode.NEGATIVE): 10}


# Every effort thinks little and a request has few choices, so no generated request (the most
# samples, every choice, the longest effort) holds the engine for long.
SMALL = {"none": 0, "minimal": 8, "low": 16, "medium": 24, "high": 32, "xhigh": 48, "max": 64}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    server = start_server(
        tmp_path_factory.mktemp("fuzz"), REASONING_EFFORT_TOKENS=json.dumps(SMALL), REASONING_MAX_N="2"
    )
    yield server
    stop_server(server)


def test_generated_requests_to_the_real_engine_get_no_5xx(small):
    statuses = fuzz(small.url, {}, EXAMPLES)
    assert sum(statuses.values()) >= 80 and statuses[200] > 0, statuses
