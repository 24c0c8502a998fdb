"""Test-time search on the real server: the vote, one budget over every chain, streaming."""

from __future__ import annotations

import json

import openai

from server.settings import Settings

MODEL = "tiny-reasoner"
PRICE = Settings().price_table().for_model(MODEL)
HARD = "What is 734 * 869?"
# Found with `python -m bench.vote_cases --problems 600 --seeds 6` (greedy decoding got two of
# 600 hard products wrong; a vote rescues this one): seven of nine chains sampled at
# temperature 0.8 with this seed are right.
VOTE_CASE = {"question": "Please compute 176 * 125", "seed": 0, "greedy": 2100, "value": 22000}


def search(client: openai.OpenAI, question: str, strategy: str, samples: int, **extra):
    reasoning = {"effort": "high", "strategy": strategy, "samples": samples, **extra.pop("reasoning", {})}
    return client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": question}], temperature=0.8,
        extra_body={"reasoning": reasoning}, **extra,
    )  # fmt: skip


def test_the_vote_is_right_where_greedy_is_wrong(client):
    case = VOTE_CASE
    greedy = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": case["question"]}], temperature=0, reasoning_effort="high"
    )
    assert greedy.choices[0].message.content == f"The answer is {case['greedy']}."
    voted = search(client, case["question"], "self_consistency", 9, seed=case["seed"])
    votes = voted.model_extra["reasoning"]["votes"]
    assert votes[str(case["value"])] > sum(votes.values()) / 2  # most samples are right...
    assert voted.choices[0].message.content == f"The answer is {case['value']}."  # ...and so is the vote


def test_usage_is_the_sum_of_every_stored_chain(server, client):
    response = search(client, HARD, "self_consistency", 3, seed=1)
    chains = json.loads(server.trace_row(response.model_extra["reasoning"]["id"])["chains"])
    assert len(chains) == response.model_extra["reasoning"]["chains"] == 3
    assert response.usage.completion_tokens == sum(c["completion_tokens"] for c in chains)
    assert response.usage.completion_tokens_details.reasoning_tokens == sum(c["reasoning_tokens"] for c in chains)
    assert response.usage.cost_usd == PRICE.cost(response.usage.prompt_tokens, response.usage.completion_tokens).usd


def test_a_dollar_budget_holds_over_all_chains_and_still_answers(client):
    prompt = search(client, "What is 12 + 30?", "single", 1).usage.prompt_tokens
    budget = PRICE.cost(prompt, 2 * (512 + 32) + 50).usd  # two whole chains at effort high, not nine
    response = search(client, HARD, "adaptive", 9, reasoning={"budget_usd": budget}, seed=2)
    assert response.usage.cost_usd <= budget
    assert response.model_extra["reasoning"]["chains"] <= 2
    assert response.choices[0].message.content.startswith("The answer is ")


def test_max_completion_tokens_caps_the_sum_over_chains(client):
    response = search(client, HARD, "self_consistency", 5, max_completion_tokens=700, seed=3)
    assert response.usage.completion_tokens <= 700
    assert response.choices[0].message.content.startswith("The answer is ")


def test_adaptive_stops_early_on_an_easy_prompt(client):
    response = search(client, "What is 4821 + 77?", "adaptive", 9, seed=4)
    assert response.model_extra["reasoning"]["chains"] == 3  # three agreeing chains settle the vote
    assert response.model_extra["reasoning"]["votes"] == {"4898": 3}


def test_search_streams_keepalives_then_the_settled_answer(http):
    lines = []
    body = {
        "model": MODEL, "messages": [{"role": "user", "content": HARD}], "stream": True, "temperature": 0.8,
        "seed": 5, "reasoning": {"effort": "high", "strategy": "self_consistency", "samples": 3},
    }  # fmt: skip
    with http.stream("POST", "/v1/chat/completions", json=body) as response:
        lines = [line for line in response.iter_lines() if line]
    contents = [json.loads(line[6:])["choices"][0]["delta"].get("content") for line in lines
                if line.startswith('data: {"id"') and '"content":"T' in line]  # fmt: skip
    first_answer = next(i for i, line in enumerate(lines) if '"content":"T' in line)
    assert ": keep-alive" in lines[:first_answer]
    assert contents == ["The answer is 637846."]  # the settled answer, once
    assert lines[-1] == "data: [DONE]"


def test_auto_spends_less_than_high_on_easy_and_more_than_low_on_hard(client):
    def spent(question: str, effort: str) -> int:
        return client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": question}], temperature=0, reasoning_effort=effort
        ).usage.completion_tokens_details.reasoning_tokens

    easy, hard = "What is 4821 + 77?", HARD
    assert spent(easy, "auto") <= spent(easy, "high")  # early exit, probes included
    assert spent(hard, "auto") > spent(hard, "low") == 64
