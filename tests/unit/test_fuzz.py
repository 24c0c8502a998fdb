"""schemathesis against the server's own OpenAPI document: thousands of generated requests, valid
and invalid, on every route, sent over HTTP to a real uvicorn on 127.0.0.1 serving the app over
the scripted engine, authenticated with an admin key so the trace and response routes run too.
No answer may be a 5xx, and every error must be in its API's shape (Anthropic's on /v1/messages,
OpenAI's elsewhere)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from devtools.processes import free_port
from server.app import create_app
from server.settings import Settings
from tests.unit.doubles import ScriptedEngine, scripted_factory
from tests.vault_support import create_key

CASES = 2000
MODEL = "tiny-reasoner"
# Most cases go to the generating routes' bodies, where most of the code is.
EXAMPLES = {
    ("POST", GenerationMode.POSITIVE): 200,
    ("POST", GenerationMode.NEGATIVE): 150,
    ("GET", GenerationMode.POSITIVE): 50,
    ("GET", GenerationMode.NEGATIVE): 50,
    ("DELETE", GenerationMode.POSITIVE): 50,
}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """(base url, admin secret): the app on a real port, in a thread of its own."""
    data = tmp_path_factory.mktemp("fuzz")
    _, secret = asyncio.run(create_key(data, "admin", "fuzz"))
    app = create_app(Settings(data_dir=data, keepalive_seconds=0.05), scripted_factory(ScriptedEngine()))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.config.port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    yield url, secret
    server.should_exit = True
    thread.join(timeout=10)


def shaped(path: str, body: object) -> bool:
    if not isinstance(body, dict):
        return False
    if path.startswith("/v1/messages"):
        error = body.get("error")
        return body.get("type") == "error" and isinstance(error, dict) and {"type", "message"} <= set(error)
    error = body.get("error")
    return isinstance(error, dict) and {"message", "type", "param", "code"} <= set(error)


def fuzz(url: str, headers: dict[str, str], examples: dict) -> Counter[int]:
    """Every operation of the server's OpenAPI document, `examples[method, mode]` cases each:
    the statuses it answered. Fails on a 5xx or an error out of its API's shape."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        # Invalid forms exist only of bodies and query strings (a path's one string is any string).
        modes = [GenerationMode.POSITIVE]
        if operation.body or list(operation.query):
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            if not (count := examples.get((operation.method.upper(), mode), 0)):
                continue

            @settings(max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(mode))
            def send(case) -> None:
                if isinstance(case.body, dict) and isinstance(case.body.get("model"), str):
                    case.body["model"] = MODEL  # the served one: past the 404, into the request's handling
                response = case.call(base_url=url, headers=headers, timeout=60)
                statuses[response.status_code] += 1
                assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
                if response.status_code >= 400 and response.status_code != 499:
                    assert shaped(case.path, response.json()), (case.method, case.path, response.text[:300])

            send()
    return statuses


def test_thousands_of_generated_requests_get_no_5xx_and_errors_in_their_apis_shape(live):
    url, secret = live
    statuses = fuzz(url, {"authorization": f"Bearer {secret}"}, EXAMPLES)
    assert sum(statuses.values()) >= CASES, statuses
