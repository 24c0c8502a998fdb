"""Early exit and confidence on the real server: every strategy under one budget, probes billed
and stored, and a client that leaves aborts every chain and probe in the engine."""

from __future__ import annotations

import json

import httpx
import pytest

from server.settings import Settings
from tests.e2e.test_disconnect import assert_aborted, generated

MODEL = "tiny-reasoner"
PRICE = Settings().price_table().for_model(MODEL)
HARD = "What is 734 * 869?"


def ask(client, strategy: str, **reasoning):
    body = {"effort": "high", "strategy": strategy, "samples": 3, "early_exit": True, **reasoning}
    return client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": HARD}], temperature=0.8, seed=7,
        max_completion_tokens=2000, extra_body={"reasoning": body},
    )  # fmt: skip


@pytest.mark.parametrize("strategy", ["single", "self_consistency", "adaptive"])
def test_every_strategy_keeps_one_budget_with_its_probes(server, client, strategy):
    prompt = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": HARD}], reasoning_effort="none"
    ).usage.prompt_tokens
    cap = PRICE.cost(prompt, 900).usd
    response = ask(client, strategy, budget_usd=cap, max_tokens=400)
    assert response.usage.cost_usd <= cap
    assert response.choices[0].message.content.startswith("The answer is ")
    chains = json.loads(server.trace_row(response.model_extra["reasoning"]["id"])["chains"])
    probes = [p for c in chains for p in c["probes"]]
    assert all(c["reasoning_tokens"] <= 400 for c in chains)
    assert response.model_extra["reasoning"]["probe_tokens"] == sum(p["completion_tokens"] for p in probes)
    assert response.usage.completion_tokens == sum(c["completion_tokens"] for c in chains) + sum(
        p["completion_tokens"] for p in probes
    )


def test_auto_answers_under_a_dollar_budget(client):
    cap = PRICE.cost(40, 600).usd
    response = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": HARD}], reasoning_effort="auto",
        extra_body={"reasoning": {"budget_usd": cap}},
    )  # fmt: skip
    assert response.usage.cost_usd <= cap
    assert response.choices[0].message.content.startswith("The answer is ")


def test_a_client_that_leaves_aborts_every_chain_and_probe(server):
    body = {
        "model": MODEL, "messages": [{"role": "user", "content": HARD}], "stream": True, "temperature": 0.8,
        "reasoning": {"strategy": "self_consistency", "samples": 3, "early_exit": True, "min_tokens": 900,
                      "max_tokens": 950},
    }  # fmt: skip
    before = generated(server)
    with (
        httpx.Client(base_url=server.url, timeout=60) as http,
        http.stream("POST", "/v1/chat/completions", json=body) as r,
    ):
        for line in r.iter_lines():
            if line == ": keep-alive":
                break  # three chains are thinking: leave now
    assert_aborted(server, before)
