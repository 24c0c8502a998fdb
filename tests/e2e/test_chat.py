"""Chat completions against the real server: answers, hidden reasoning, budgets, accounting."""

from __future__ import annotations

import json

import openai
import pytest

from server.settings import Settings

MODEL = "tiny-reasoner"
PRICE = Settings().price_table().for_model(MODEL)
PROBLEMS = [
    ("What is 4821 + 77?", 4898),
    ("What is 347 * 9?", 3123),
    ("What is 347 * 29?", 10063),
    ("what is 86 x 45", 3870),
    ("What is 608 times 7?", 4256),
]
HARD = "What is 734 * 869?"  # 637846, the longest reasoning the tiny model does


def ask(client: openai.OpenAI, question: str, **extra):
    extra.setdefault("temperature", 0)
    return client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}], **extra)


def reasoning_of(response) -> dict:
    return response.model_extra["reasoning"]


@pytest.mark.parametrize(("question", "value"), PROBLEMS)
def test_correct_answers_at_high_effort(client, question, value):
    response = ask(client, question, reasoning_effort="high")
    assert response.choices[0].message.content == f"The answer is {value}."
    assert response.choices[0].finish_reason == "stop"
    assert response.usage.completion_tokens_details.reasoning_tokens > 0
    assert reasoning_of(response)["budget_exhausted"] is False


def test_reasoning_is_stored_never_shown(server, client, http):
    response = ask(client, "What is 347 * 29?", reasoning_effort="high")
    row = server.trace_row(reasoning_of(response)["id"])
    raw = json.loads(row["chains"])[0]["reasoning"]
    steps = [line for line in raw.splitlines() if "*" in line or "+" in line]
    assert "7*9=63,3" in steps  # the model really worked it out, column by column
    streamed = http.post(
        "/v1/chat/completions",
        json={
            "model": MODEL,
            "messages": [{"role": "user", "content": "What is 347 * 29?"}],
            "stream": True,
            "temperature": 0,
            "reasoning_effort": "high",
        },
    ).text
    error = http.post(
        "/v1/chat/completions",
        json={
            "model": MODEL,
            "messages": [{"role": "user", "content": "What is 347 * 29?"}],
            "reasoning": {"budget_usd": 1e-9},
        },
    ).text
    for visible in (response.model_dump_json(), streamed, error, server.log()):
        assert "<think>" not in visible and "</think>" not in visible
        for step in steps:
            assert step not in visible


@pytest.mark.parametrize("cap", [0, 1, 2, 5, 17, 40])
def test_reasoning_cap_is_never_exceeded_and_an_answer_comes_back(server, client, cap):
    response = ask(client, HARD, extra_body={"reasoning": {"max_tokens": cap}})
    used = response.usage.completion_tokens_details.reasoning_tokens
    assert used == cap  # the hard problem needs ~300 tokens: the cap is spent exactly
    assert response.choices[0].message.content.startswith("The answer is ")
    assert reasoning_of(response)["budget_tokens"] == cap
    assert reasoning_of(response)["budget_exhausted"] is (cap > 0)
    chains = json.loads(server.trace_row(reasoning_of(response)["id"])["chains"])
    assert chains[0]["reasoning_tokens"] == cap


def test_effort_none_thinks_not_at_all(client):
    response = ask(client, "What is 4821 + 77?", reasoning_effort="none")
    assert response.usage.completion_tokens_details.reasoning_tokens == 0
    assert response.choices[0].message.content.startswith("The answer is ")


def test_min_tokens_makes_it_think_longer(client):
    natural = ask(client, "What is 12 + 30?", reasoning_effort="high").usage.completion_tokens_details.reasoning_tokens
    longer = ask(client, "What is 12 + 30?", reasoning_effort="high", extra_body={"reasoning": {"min_tokens": 100}})
    assert natural < 100 <= longer.usage.completion_tokens_details.reasoning_tokens
    assert longer.choices[0].message.content
    # Forced three times past its natural ~300 tokens, the tiny model babbles; its answer
    # still never carries a thinking marker.
    babbled = ask(client, HARD, extra_body={"reasoning": {"min_tokens": 900, "max_tokens": 950}})
    content = babbled.choices[0].message.content
    assert content and "<think>" not in content and "</think>" not in content


def test_dollar_budget_too_small_is_refused_before_any_work(server, client):
    before = server.metric("reasoning_requests_total", status="4xx")
    with pytest.raises(openai.BadRequestError) as err:
        ask(client, "What is 2 + 2?", extra_body={"reasoning": {"budget_usd": 0.0000001}})
    assert err.value.code == "budget_too_small"
    assert err.value.body["param"] == "reasoning.budget_usd"
    assert server.metric("reasoning_requests_total", status="4xx") == before + 1


def test_dollar_budget_caps_the_whole_cost(client):
    prompt_tokens = ask(client, HARD, reasoning_effort="low").usage.prompt_tokens
    budget = PRICE.cost(prompt_tokens, 80).usd  # the prompt and 80 generated tokens
    response = ask(client, HARD, reasoning_effort="max", extra_body={"reasoning": {"budget_usd": budget}})
    assert response.usage.cost_usd <= budget
    assert response.usage.completion_tokens <= 80
    assert response.choices[0].message.content.startswith("The answer is ")
    assert reasoning_of(response)["budget_exhausted"] is True


@pytest.mark.parametrize("limit", [40, 60, 120])
def test_max_completion_tokens_is_respected_with_an_answer(client, limit):
    response = ask(client, HARD, reasoning_effort="high", max_completion_tokens=limit)
    assert response.usage.completion_tokens <= limit
    assert response.choices[0].message.content.startswith("The answer is ")


def test_usage_and_cost_are_exact(server, client):
    response = ask(client, "What is 347 * 29?", reasoning_effort="high", n=2, seed=7, temperature=0.7)
    usage = response.usage
    row = server.trace_row(reasoning_of(response)["id"])
    chains = json.loads(row["chains"])
    assert len(chains) == 2 and len(response.choices) == 2
    assert usage.completion_tokens == sum(c["completion_tokens"] for c in chains) == row["completion_tokens"]
    assert usage.completion_tokens_details.reasoning_tokens == sum(c["reasoning_tokens"] for c in chains)
    assert usage.prompt_tokens == row["prompt_tokens"]
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.cost_usd == pytest.approx(PRICE.cost(usage.prompt_tokens, usage.completion_tokens).usd, abs=1e-15)
    assert row["cost_usd"] == pytest.approx(usage.cost_usd, abs=1e-15)


def test_streaming_with_sdk_gives_answer_and_usage(client):
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "What is 347 * 29?"}],
        stream=True,
        temperature=0,
        reasoning_effort="high",
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "The answer is 10063."
    assert chunks[-1].usage.completion_tokens_details.reasoning_tokens > 0
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_keepalives_while_thinking(http):
    lines = []
    with http.stream(
        "POST",
        "/v1/chat/completions",
        json={
            "model": MODEL,
            "messages": [{"role": "user", "content": HARD}],
            "stream": True,
            "temperature": 0,
            "reasoning": {"min_tokens": 400, "max_tokens": 500},
        },
    ) as response:
        for line in response.iter_lines():
            lines.append(line)
    first_content = next(i for i, line in enumerate(lines) if '"content":"T' in line)
    assert any(line == ": keep-alive" for line in lines[:first_content])
    assert lines[-1] == "data: [DONE]" or lines[-2] == "data: [DONE]"


@pytest.mark.parametrize(
    "raw",
    [
        # A lone surrogate (valid JSON, not text) and a seed beyond 64 bits each got a 500 once.
        b'{"model": "tiny-reasoner", "messages": [{"role": "user", "content": "What is 2+2? \\ud800"}]}',
        b'{"model": "tiny-reasoner", "messages": [{"role": "user", "content": "What is 2+2?"}], '
        b'"seed": 36893488147419103232}',
    ],
)
def test_input_the_engine_cannot_take_is_a_400_and_the_server_goes_on(server, http, raw):
    got = http.post("/v1/chat/completions", content=raw, headers={"content-type": "application/json"})
    assert got.status_code == 400 and got.json()["error"]["type"] == "invalid_request_error"
    after = http.post(
        "/v1/chat/completions",
        json={"model": "tiny-reasoner", "messages": [{"role": "user", "content": "What is 2+2?"}]},
    )
    assert after.status_code == 200
