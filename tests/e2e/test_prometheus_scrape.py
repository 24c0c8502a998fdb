"""The live server as Prometheus sees it: a real Prometheus scrapes it every second, the token
counts read back through Prometheus's query API equal what the server's responses reported,
promtool finds nothing wrong with our exposition, and no label holds anything but a bounded,
operator-set value."""

from __future__ import annotations

import json
import re
import subprocess
import time

import httpx
import pytest

from devtools.prometheus import MissingTool, query, require, scalar, start_prometheus, stop_prometheus

MODEL = "tiny-reasoner"
# A prompt no label, and no other test, would ever hold.
SECRET_PROMPT = "What is 4821 + 77? (prometheus-label-canary)"
BOUNDED = {
    "model": {MODEL},
    "endpoint": {"chat", "responses", "messages", "traces"},
    "status": {"2xx", "4xx", "5xx", "completed", "incomplete", "failed", "cancelled"},  # HTTP; background
    "state": {"queued", "in_progress"},
    "kind": {"prompt", "reasoning", "answer", "summary"},
    "role": {"user", "admin"},
}


def required(name: str) -> str:
    try:
        return require(name)
    except MissingTool as missing:
        pytest.fail(str(missing), pytrace=False)  # a skipped check would look like a passing one


@pytest.fixture(scope="module")
def prometheus(server, tmp_path_factory):
    required("prometheus")
    running = start_prometheus(tmp_path_factory.mktemp("prometheus"), server.url)
    yield running
    stop_prometheus(running)


def ask(http: httpx.Client, question: str, **extra) -> dict:
    body = {"model": MODEL, "messages": [{"role": "user", "content": question}], "temperature": 0, **extra}
    if not body.get("stream"):
        response = http.post("/v1/chat/completions", json=body)
        assert response.status_code == 200, response.text
        return response.json()["usage"]
    usage = None
    with http.stream("POST", "/v1/chat/completions", json=body) as response:
        for line in response.iter_lines():
            if line.startswith("data: {") and '"usage":{' in line:
                usage = json.loads(line[6:])["usage"]
    assert usage is not None, "the stream sent no usage chunk"
    return usage


def tokens_in_prometheus(prometheus, kind: str) -> float | None:
    return scalar(query(prometheus, f'sum(reasoning_tokens_total{{job="reasoning-server",kind="{kind}"}})'))


def wait_until_prometheus_shows(prometheus, expected: dict[str, float], seconds: float = 20) -> dict[str, float]:
    deadline = time.monotonic() + seconds
    while True:
        seen = {kind: tokens_in_prometheus(prometheus, kind) for kind in expected}
        if seen == expected or time.monotonic() > deadline:
            return seen
        time.sleep(0.25)


def agreed_counts(server, prometheus, kinds: tuple[str, ...], seconds: float = 20) -> dict[str, float]:
    """The server's token counters once Prometheus has scraped their current values."""
    deadline = time.monotonic() + seconds
    while True:
        served = {kind: server.metric("reasoning_tokens_total", kind=kind) for kind in kinds}
        if wait_until_prometheus_shows(prometheus, served, seconds=3) == served:
            return served
        assert time.monotonic() < deadline, "Prometheus does not scrape the server"


def test_prometheus_reads_back_the_reported_token_counts(server, http, prometheus):
    kinds = ("prompt", "reasoning", "answer")
    before = agreed_counts(server, prometheus, kinds)
    usages = [
        ask(http, "What is 347 * 29?", reasoning_effort="high"),
        ask(http, "What is 86 * 45?", reasoning={"max_tokens": 24}),
        ask(http, "What is 608 * 7?", reasoning_effort="low", stream=True, stream_options={"include_usage": True}),
    ]
    reported = {
        "prompt": sum(u["prompt_tokens"] for u in usages),
        "reasoning": sum(u["completion_tokens_details"]["reasoning_tokens"] for u in usages),
        "answer": sum(u["completion_tokens"] - u["completion_tokens_details"]["reasoning_tokens"] for u in usages),
    }
    assert reported["reasoning"] > 0
    expected = {kind: before[kind] + reported[kind] for kind in kinds}
    assert wait_until_prometheus_shows(prometheus, expected) == expected
    up = scalar(query(prometheus, 'up{job="reasoning-server"}'))
    assert up == 1


def promtool_problems(promtool: str, exposition: str) -> tuple[int, list[str]]:
    result = subprocess.run(
        [promtool, "check", "metrics"], input=exposition, capture_output=True, text=True, timeout=30, check=False
    )
    return result.returncode, [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]


def families(exposition: str, keep) -> str:
    """The exposition's metric families whose name satisfies `keep`."""
    blocks = re.split(r"(?m)^(?=# HELP )", exposition)
    return "".join(block for block in blocks if block and keep(block.split(" ", 3)[2]))


def test_promtool_finds_nothing_wrong_with_our_metrics(server, http):
    promtool = required("promtool")
    ask(http, "What is 12 + 30?", reasoning_effort="low")
    exposition = httpx.get(f"{server.url}/metrics", timeout=10).text
    ours = families(exposition, lambda name: not name.startswith("vllm:"))
    assert "reasoning_tokens_total" in ours and "reasoning_requests_in_flight" in ours
    assert promtool_problems(promtool, ours) == (0, [])
    # vLLM's own families break two of promtool's naming lints, which its dashboards rely on:
    # a colon in every name (Prometheus keeps colons for recording rules) and a histogram named
    # vllm:iteration_tokens_total. The whole scrape still parses: exit 3 is "lint problems only".
    code, problems = promtool_problems(promtool, exposition)
    assert code in (0, 3), problems
    assert all(line.startswith("vllm:") for line in problems), problems


def test_every_label_value_is_bounded_and_no_user_text_reaches_metrics(server, http):
    ask(http, SECRET_PROMPT, reasoning_effort="low")
    exposition = httpx.get(f"{server.url}/metrics", timeout=10).text
    assert "canary" not in exposition
    for line in exposition.splitlines():
        if not line.startswith("reasoning_"):
            continue
        for label, value in re.findall(r'(\w+)="([^"]*)"', line):
            if label == "le":
                assert value == "+Inf" or float(value) >= 0
            elif label in BOUNDED:
                assert value in BOUNDED[label], line
            else:
                assert label in {"operation", "key_id"}, f"an unexpected label: {line}"
