"""The Messages API against the real server with the official Anthropic SDK, unmodified:
budgeted thinking, summaries, signed blocks across turns, the event stream, count_tokens, and
the raw reasoning hidden from bodies, stream events, errors and logs."""

from __future__ import annotations

import json

import anthropic
import pytest

MODEL = "tiny-reasoner"
QUESTION = "What is 347 * 29?"
ANSWER = "The answer is 10063."
# A generous budget: a full answer whatever the length of the model's reasoning.
THINKING = {"type": "enabled", "budget_tokens": 2048}
MAX_TOKENS = 2048 + 64
TURN = [{"role": "user", "content": QUESTION}]
# Today's SDK has no sampling arguments; extra_body sends them, for answers that do not vary.
ASKED = {"model": MODEL, "max_tokens": MAX_TOKENS, "messages": TURN, "extra_body": {"temperature": 0}}
RAW_EVENTS = [
    "message_start", "content_block_start", "content_block_delta", "content_block_stop",
    "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop",
]  # fmt: skip


def ask(claude: anthropic.Anthropic, **extra) -> anthropic.types.Message:
    return claude.messages.create(**{**ASKED, "thinking": THINKING, **extra})


def raw_steps(server, message: anthropic.types.Message) -> list[str]:
    """The column steps of the stored reasoning: text only the raw reasoning holds."""
    chains = json.loads(server.trace_row(message.model_extra["reasoning"]["id"])["chains"])
    return [line for line in chains[0]["reasoning"].splitlines() if "=" in line and "," in line]


def test_budgeted_thinking_answers_and_bills_the_hidden_thinking(server, claude):
    message = ask(claude)
    thinking, text = message.content
    assert text.type == "text" and text.text == ANSWER
    assert thinking.type == "thinking" and thinking.thinking == "" and thinking.signature  # display omitted
    assert message.stop_reason == "end_turn"
    usage = message.usage
    assert 0 < usage.output_tokens_details.thinking_tokens < usage.output_tokens
    assert usage.output_tokens > len(text.text)  # billed: far more than the visible answer could be
    assert message.model_extra["reasoning"]["budget_tokens"] <= 2048
    assert raw_steps(server, message), "every request stores its trace"


def test_summarized_display_shows_a_summary_and_no_raw_reasoning(server, claude):
    message = ask(claude, thinking={**THINKING, "display": "summarized"})
    summary = message.content[0].thinking
    assert summary and "10063" in summary
    steps = raw_steps(server, message)
    assert steps
    for step in steps:
        assert step not in summary and step not in message.model_dump_json()


def test_a_thinking_block_passed_back_carries_the_conversation(claude):
    first = ask(claude)
    turns = [*TURN, first.to_param(), {"role": "user", "content": "What is 4821 + 77?"}]
    second = ask(claude, messages=turns)
    assert second.content[-1].text == "The answer is 4898."


def test_a_tampered_signature_is_refused(claude):
    first = ask(claude)
    thinking = first.content[0]
    signature = thinking.signature
    tampered = signature[:-6] + ("A" if signature[-6] != "A" else "B") + signature[-5:]
    block = {"type": "thinking", "thinking": thinking.thinking, "signature": tampered}
    turns = [*TURN, {"role": "assistant", "content": [block, first.content[1].to_dict()]}]
    with pytest.raises(anthropic.BadRequestError) as err:
        ask(claude, messages=[*turns, {"role": "user", "content": "again"}])
    assert err.value.status_code == 400
    assert err.value.body["type"] == "error"
    assert err.value.body["error"]["type"] == "invalid_request_error"
    assert err.value.body["error"]["code"] == "invalid_signature"


def comparable(message: anthropic.types.Message) -> dict:
    """A message in the SDK's own fields, less what differs per request (id, signatures)."""
    dumped = message.model_dump(exclude={"id"}, include=set(anthropic.types.Message.model_fields))
    for block in dumped["content"]:
        block.pop("signature", None)
    dumped["usage"].pop("cost_usd", None)  # our extension: on message_delta, which the SDK does not keep
    return dumped


def test_stream_events_in_order_and_the_final_message_as_if_not_streamed(claude):
    fields = {**ASKED, "thinking": {**THINKING, "display": "summarized"}}
    with claude.messages.stream(**fields) as stream:
        seen = [event.type for event in stream if event.type in RAW_EVENTS]
        final = stream.get_final_message()
    collapsed = [kind for i, kind in enumerate(seen) if i == 0 or kind != seen[i - 1]]
    assert collapsed == RAW_EVENTS
    assert final.content[0].signature and final.content[1].text == ANSWER
    assert comparable(final) == comparable(claude.messages.create(**fields))


def test_count_tokens_is_what_the_input_is_billed(claude):
    fields = {"model": MODEL, "messages": TURN, "system": "Answer briefly.", "thinking": THINKING}
    counted = claude.messages.count_tokens(**fields)
    billed = claude.messages.create(**fields, max_tokens=MAX_TOKENS).usage.input_tokens
    assert counted.input_tokens == billed > 0


def test_messages_are_measured_like_every_endpoint(server, claude):
    before = server.metric("reasoning_requests_total", endpoint="messages", status="2xx")
    timed = server.metric("reasoning_request_duration_seconds_count", endpoint="messages")
    ask(claude, thinking={"type": "adaptive"}, output_config={"effort": "low"})
    assert server.metric("reasoning_requests_total", endpoint="messages", status="2xx") == before + 1
    assert server.metric("reasoning_request_duration_seconds_count", endpoint="messages") == timed + 1


def test_raw_reasoning_reaches_no_body_stream_event_error_or_log(server, claude, http):
    message = ask(claude, thinking={**THINKING, "display": "summarized"})
    steps = raw_steps(server, message)
    body = {"model": MODEL, "max_tokens": MAX_TOKENS, "messages": TURN, "temperature": 0}
    summarized = {**body, "thinking": {**THINKING, "display": "summarized"}, "stream": True}
    with http.stream("POST", "/v1/messages", json=summarized) as response:
        streamed = "\n".join(response.iter_lines())
    assert "event: ping" in streamed  # keep-alives while the model thinks, as Anthropic's pings
    forged = {"type": "thinking", "thinking": message.content[0].thinking, "signature": "bm90IGEgc2VhbA=="}
    turns = [*TURN, {"role": "assistant", "content": [forged]}, {"role": "user", "content": "again"}]
    refused = http.post("/v1/messages", json={**body, "messages": turns})
    too_small = http.post("/v1/messages", json={**body, "thinking": {"type": "enabled", "budget_tokens": MAX_TOKENS}})
    assert refused.status_code == too_small.status_code == 400
    for visible in (message.model_dump_json(), streamed, refused.text, too_small.text, server.log()):
        assert "<think>" not in visible and "</think>" not in visible
        for step in steps:
            assert step not in visible
