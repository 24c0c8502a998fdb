"""The Messages API with a scripted engine: Anthropic's shapes, the thinking fields mapped onto
budgets, signed thinking blocks, the event order, and errors in Anthropic's shape."""

from __future__ import annotations

import base64
import json

import pytest

from reasoning.vault import encrypted_content, signatures
from reasoning.vault.crypto import KeyRing

MESSAGES = "/v1/messages"
RAW = "347*29\n347*20\n7*2=14,4\n4*2+1=9,94\n3*2=6,694\n=6940\n347*9\n7*9=63,3\n4*9+6=42,23\n3*9+4=31,3123\n=3123"
SCRIPT = f"{RAW}\n6940+3123\n=10063\n</think>\nThe answer is 10063."
STEPS = [line for line in RAW.splitlines() if "," in line]  # column steps: raw reasoning only
QUESTION = [{"role": "user", "content": "What is 347 * 29?"}]
ENABLED = {"type": "enabled", "budget_tokens": 400}


@pytest.fixture(autouse=True)
def scripted(engine):
    engine.script = SCRIPT


def create(api, **extra):
    return api.post(MESSAGES, json={"model": "tiny-reasoner", "max_tokens": 500, "messages": QUESTION, **extra})


def events(text: str) -> list[dict]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def assert_no_raw_reasoning(text: str) -> None:
    for step in STEPS:
        assert step not in text


def test_message_with_an_omitted_thinking_block(api, engine):
    got = create(api, thinking=ENABLED)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["id"].startswith("msg_") and (body["type"], body["role"]) == ("message", "assistant")
    thinking, text = body["content"]
    assert thinking["type"] == "thinking" and thinking["thinking"] == "" and thinking["signature"]
    assert text == {"type": "text", "text": "The answer is 10063."}
    assert (body["stop_reason"], body["stop_sequence"]) == ("end_turn", None)
    usage = body["usage"]
    assert usage["output_tokens_details"]["thinking_tokens"] == len(SCRIPT.split("\n</think>")[0])
    assert usage["output_tokens"] > usage["output_tokens_details"]["thinking_tokens"] + len("The answer is 10063.")
    assert usage["cost_usd"] > 0 and body["reasoning"]["id"].startswith("rs_")
    assert engine.calls[-1].reasoning_tokens == 400 and engine.calls[-1].max_tokens == 500
    assert_no_raw_reasoning(got.text)


def test_summarized_display_shows_the_summary_only(api):
    body = create(api, thinking={**ENABLED, "display": "summarized"}).json()
    summary = body["content"][0]["thinking"]
    assert "10063" in summary
    assert_no_raw_reasoning(json.dumps(body))


@pytest.mark.parametrize(
    ("fields", "reasoning_cap"),
    [
        ({"thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}, "max_tokens": 2000}, 512),
        ({"thinking": {"type": "enabled", "budget_tokens": 40}, "output_config": {"effort": "high"}}, 40),
        ({"output_config": {"effort": "low"}}, 64),
        ({}, 192),  # no thinking field: the server's default effort
    ],
)
def test_thinking_fields_set_the_reasoning_cap(api, engine, fields, reasoning_cap):
    assert create(api, **fields).status_code == 200
    assert engine.calls[-1].reasoning_tokens == reasoning_cap


def test_adaptive_without_effort_is_effort_auto(api, engine):
    chat = {"model": "tiny-reasoner", "messages": QUESTION, "max_completion_tokens": 500, "reasoning_effort": "auto"}
    assert api.post("/v1/chat/completions", json=chat).status_code == 200
    as_auto = [(c.reasoning_tokens, c.max_tokens) for c in engine.calls]
    engine.calls.clear()
    body = create(api, thinking={"type": "adaptive"}).json()
    assert [(c.reasoning_tokens, c.max_tokens) for c in engine.calls] == as_auto
    assert body["content"][-1]["text"] == "The answer is 10063."


def test_disabled_thinking_has_no_thinking_block(api, engine):
    body = create(api, thinking={"type": "disabled"}).json()
    assert [block["type"] for block in body["content"]] == ["text"]
    assert body["usage"]["output_tokens_details"]["thinking_tokens"] == 0
    assert engine.calls[-1].reasoning_tokens == 0


def test_max_tokens_cut_is_stop_reason_max_tokens(api):
    body = create(api, max_tokens=5, thinking={"type": "disabled"}).json()
    assert body["stop_reason"] == "max_tokens" and body["usage"]["output_tokens"] == 5


def test_count_tokens_is_the_billed_input(api):
    fields = {"system": [{"type": "text", "text": "Be brief."}], "thinking": ENABLED}
    billed = create(api, **fields).json()["usage"]["input_tokens"]
    counted = api.post(f"{MESSAGES}/count_tokens", json={"model": "tiny-reasoner", "messages": QUESTION, **fields})
    assert counted.json() == {"input_tokens": billed}


def second_turn(first: dict, block: dict | None = None) -> list[dict]:
    carried = [block or first["content"][0], first["content"][1]]
    return [*QUESTION, {"role": "assistant", "content": carried}, {"role": "user", "content": "What is 2 + 2?"}]


def test_a_thinking_block_passed_back_is_accepted_and_a_tampered_one_refused(api, engine):
    first = create(api, thinking=ENABLED).json()
    assert create(api, messages=second_turn(first)).status_code == 200
    thinking = first["content"][0]
    signature = thinking["signature"]
    flipped = signature[:-6] + ("A" if signature[-6] != "A" else "B") + signature[-5:]
    foreign_ring = KeyRing({"k1": b"\x07" * 32}).for_purpose(encrypted_content.PURPOSE)
    refused = [
        {**thinking, "signature": flipped},
        {**thinking, "signature": signature[: len(signature) // 2]},
        {**thinking, "signature": signatures.sign(foreign_ring, "local", "", "made up")},
        {**thinking, "signature": encrypted_content.seal(foreign_ring, "rs_1", "local", "made up")},
        {**thinking, "thinking": "I was told the answer."},  # the text a signature was made for is bound
    ]
    calls = len(engine.calls)
    for block in refused:
        got = create(api, messages=second_turn(first, block))
        assert got.status_code == 400, block
        assert got.json()["type"] == "error"
        assert got.json()["error"]["type"] == "invalid_request_error"
        assert got.json()["error"]["code"] == "invalid_signature"
        assert got.json()["error"]["param"] == "messages[1].content[0].signature"
        assert "made up" not in got.text
    assert len(engine.calls) == calls  # refused before any engine work


def test_redacted_thinking_carries_an_omitted_blocks_signature(api):
    first = create(api, thinking=ENABLED).json()
    redacted = {"type": "redacted_thinking", "data": first["content"][0]["signature"]}
    assert create(api, messages=second_turn(first, redacted)).status_code == 200
    summarized = create(api, thinking={**ENABLED, "display": "summarized"}).json()
    shown = {"type": "redacted_thinking", "data": summarized["content"][0]["signature"]}
    got = create(api, messages=second_turn(summarized, shown))  # bound to the summary it showed
    assert got.status_code == 400 and got.json()["error"]["param"] == "messages[1].content[0].data"


def test_thinking_blocks_belong_to_the_assistant(api):
    first = create(api, thinking=ENABLED).json()
    got = create(api, messages=[{"role": "user", "content": [first["content"][0], {"type": "text", "text": "hi"}]}])
    assert got.status_code == 400 and got.json()["error"]["param"] == "messages[0].content[0]"


def test_stream_events_in_anthropics_order(api, engine):
    engine.delay = 0.003  # long enough to think that keep-alives (every 0.05 s) come as pings
    text = create(api, stream=True, thinking={**ENABLED, "display": "summarized"}).text
    seen = events(text)
    kinds = [e["type"] for e in seen]
    collapsed = [kind for i, kind in enumerate(kinds) if i == 0 or kind != kinds[i - 1]]
    assert collapsed == [
        "message_start", "content_block_start", "ping", "content_block_delta", "content_block_stop",
        "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop",
    ]  # fmt: skip
    deltas = [e["delta"]["type"] for e in seen if e["type"] == "content_block_delta"]
    assert deltas[:2] == ["thinking_delta", "signature_delta"] and set(deltas[2:]) == {"text_delta"}
    texts = [e["delta"] for e in seen if e["type"] == "content_block_delta" and e["delta"]["type"] == "text_delta"]
    answer = "".join(delta["text"] for delta in texts)
    assert answer == "The answer is 10063."
    final = seen[-2]
    assert final["delta"]["stop_reason"] == "end_turn" and final["usage"]["output_tokens_details"]["thinking_tokens"]
    for line in text.splitlines():  # every data line is named by an event line, as the SDK needs
        assert not line.startswith("event: ") or line[7:] in kinds
    assert_no_raw_reasoning(text)


def test_errors_are_in_anthropics_shape_on_its_routes(api):
    cases = [
        (api.post(MESSAGES, json={"model": "tiny-reasoner", "messages": QUESTION}), 400, "invalid_request_error"),
        (api.post(MESSAGES, content=b"{not json"), 400, "invalid_request_error"),
        (create(api, model="no-such-model"), 404, "not_found_error"),
        (create(api, thinking={"type": "enabled", "budget_tokens": 500}), 400, "invalid_request_error"),
        (api.get(MESSAGES), 405, "invalid_request_error"),
        (create(api, messages=[{"role": "user", "content": "x" * 5000}]), 413, "request_too_large"),
        (create(api, messages=[*QUESTION, {"role": "assistant", "content": "The"}]), 400, "invalid_request_error"),
    ]
    for got, status, kind in cases:
        assert got.status_code == status, got.text
        body = got.json()
        assert set(body) == {"type", "error"} and body["type"] == "error"
        assert body["error"]["type"] == kind and body["error"]["message"]
    budget = cases[3][0].json()["error"]
    assert budget["param"] == "thinking.budget_tokens"
    chat = api.post("/v1/chat/completions", json={"model": "tiny-reasoner"})
    assert chat.status_code == 400 and "type" not in chat.json()  # OpenAI's shape elsewhere


def test_signatures_are_opaque_and_bound_to_their_caller():
    ring = KeyRing({"k1": b"\x01" * 32}).for_purpose(encrypted_content.PURPOSE)
    signature = signatures.sign(ring, "alice", "", RAW)
    assert b"7*9=63" not in base64.urlsafe_b64decode(signature)
    assert signatures.verify(ring, "alice", "", signature, "s") == RAW
    with pytest.raises(signatures.InvalidSignature):
        signatures.verify(ring, "bob", "", signature, "s")
