"""Test-time search with the scripted engine: votes, stopping, one budget, effort auto."""

from __future__ import annotations

from server.settings import Settings
from tests import vault_support
from training.data import Problem, reasoning_lines

CHAT = "/v1/chat/completions"


def script(reasoning: str, answer: int) -> str:
    return f"{reasoning}\n</think>\nThe answer is {answer}."


RIGHT = script("\n".join(reasoning_lines(Problem(347, 29, "*", "standard"))), 10063)
WRONG = script("\n".join(reasoning_lines(Problem(347, 29, "*", "standard"))), 10073)


def ask(api, **reasoning):
    extra = reasoning.pop("body", {})
    body = {"model": "tiny-reasoner", "messages": [{"role": "user", "content": "What is 347 * 29?"}],
            "reasoning": {"effort": "high", **reasoning}, **extra}  # fmt: skip
    return api.post(CHAT, json=body)


def stored_chains(tmp_path, trace_id: str) -> list[dict]:
    return vault_support.stored_chains(tmp_path, trace_id)  # decrypted with the data dir's key file


def test_self_consistency_returns_the_majority(api, engine, tmp_path):
    engine.scripts = [WRONG, RIGHT, RIGHT, WRONG, RIGHT]
    engine.logprobs = [-0.01, -0.5, -0.5, -0.01, -0.5]  # the wrong chains are the most confident
    data = ask(api, strategy="self_consistency", samples=5, confidence=False).json()  # a plain majority
    assert data["choices"][0]["message"]["content"] == "The answer is 10063."
    assert data["reasoning"]["chains"] == 5
    assert data["reasoning"]["votes"] == {"10063": 3, "10073": 2}
    assert engine.calls[0].n == 5 and engine.calls[0].logprobs  # one batched request
    chains = stored_chains(tmp_path, data["reasoning"]["id"])
    assert len(chains) == 5
    assert data["usage"]["completion_tokens"] == sum(c["completion_tokens"] for c in chains)
    assert data["usage"]["completion_tokens_details"]["reasoning_tokens"] == sum(c["reasoning_tokens"] for c in chains)


def test_confidence_weighs_the_vote_unless_turned_off(api, engine):
    engine.scripts = [WRONG, RIGHT, RIGHT, WRONG, RIGHT]
    engine.logprobs = [-0.01, -0.9, -0.9, -0.01, -0.9]  # a muddled majority against two sure chains
    weighed = ask(api, strategy="self_consistency", samples=5).json()
    assert weighed["choices"][0]["message"]["content"] == "The answer is 10073."
    assert weighed["reasoning"]["votes"] == {"10063": 3, "10073": 2}  # votes still count chains


def test_ties_break_toward_the_more_confident_chain(api, engine):
    engine.scripts = [WRONG, RIGHT]
    engine.logprobs = [-0.3, -0.1]
    assert (
        ask(api, strategy="self_consistency", samples=2).json()["choices"][0]["message"]["content"].endswith("10063.")
    )
    engine.logprobs = [-0.1, -0.3]
    assert (
        ask(api, strategy="self_consistency", samples=2).json()["choices"][0]["message"]["content"].endswith("10073.")
    )


def test_adaptive_stops_once_the_vote_is_settled(api, engine):
    engine.scripts = [RIGHT]
    data = ask(api, strategy="adaptive", samples=9).json()
    assert data["reasoning"]["chains"] == 3  # three unanimous chains pass the 0.9 stopping rule
    assert data["reasoning"]["votes"] == {"10063": 3}
    assert [call.n for call in engine.calls] == [3]


def test_adaptive_keeps_sampling_while_votes_disagree(api, engine):
    engine.scripts = [RIGHT, WRONG, RIGHT, RIGHT, RIGHT, RIGHT, RIGHT]
    data = ask(api, strategy="adaptive", samples=9).json()
    # 2-1 after three; then one at a time until 5-1 passes 0.9 (4-1 gives 0.89)
    assert [call.n for call in engine.calls] == [3, 1, 1, 1]
    assert data["reasoning"]["votes"] == {"10063": 5, "10073": 1}


def test_a_dollar_budget_buys_whole_chains_and_an_answer_still_comes(api, engine):
    engine.scripts = [RIGHT]
    price = Settings().price_table().for_model("tiny-reasoner")
    prompt = len("<|user|>What is 347 * 29?<think>\n")  # the scripted engine's rendering
    whole = 512 + 32  # effort high's cap and the answer's reserve
    budget = price.cost(prompt, 2 * whole + 100).usd
    data = ask(api, strategy="self_consistency", samples=9, budget_usd=budget).json()
    assert data["reasoning"]["chains"] == 2  # two whole chains, not nine cut short
    assert engine.calls[0].reasoning_tokens == 512
    assert data["usage"]["cost_usd"] <= budget
    assert data["reasoning"]["budget_exhausted"] is True
    assert data["choices"][0]["message"]["content"] == "The answer is 10063."


def test_max_completion_tokens_caps_the_sum_over_chains(api, engine):
    engine.scripts = [RIGHT]
    data = ask(api, strategy="adaptive", samples=9, body={"max_completion_tokens": 400}).json()
    assert data["usage"]["completion_tokens"] <= 400
    assert data["choices"][0]["message"]["content"].startswith("The answer is ")


def test_search_streams_keepalives_then_the_settled_answer(api, engine):
    engine.scripts = [RIGHT]
    engine.delay = 0.002
    text = ask(api, strategy="self_consistency", samples=3, body={"stream": True}).text
    before_answer = text.split('"content":"The answer')[0]
    assert ": keep-alive" in before_answer
    assert text.count('"content":"The answer is 10063."') == 1  # one delta, once the vote settled


def test_n_above_one_with_search_is_refused(api, engine):
    got = ask(api, strategy="adaptive", body={"n": 2})
    assert got.status_code == 400 and got.json()["error"]["param"] == "n"


def test_auto_exits_early_on_an_easy_prompt_and_bills_its_probes(api, engine):
    long = "\n".join(f"{i}+{i}={2 * i}" for i in range(60))
    engine.scripts = [script(long, 42)]
    engine.probe_answers = ["The answer is 42."]  # the generic profile: a probe writes the whole answer
    data = ask(api, effort="auto").json()
    assert data["reasoning"]["chains"] == 1
    assert data["choices"][0]["message"]["content"] == "The answer is 42."
    probes = data["reasoning"]["probe_tokens"]
    assert probes > 0 and data["usage"]["completion_tokens_details"]["reasoning_tokens"] < len(long) + probes


def test_early_exit_is_available_on_any_strategy(api, engine):
    long = "\n".join(f"{i}+{i}={2 * i}" for i in range(60))
    engine.scripts = [script(long, 42)]
    engine.probe_answers = ["The answer is 42."]
    data = ask(api, strategy="self_consistency", samples=3, early_exit=True).json()
    assert data["reasoning"]["chains"] == 3 and data["reasoning"]["probe_tokens"] > 0
    assert data["choices"][0]["message"]["content"] == "The answer is 42."
    assert data["usage"]["completion_tokens_details"]["reasoning_tokens"] < 3 * len(long)
