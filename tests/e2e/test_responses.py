"""The Responses API against the real server with the official SDK."""

from __future__ import annotations

import base64
import json

import openai
import pytest

from reasoning.vault import encrypted_content
from reasoning.vault.crypto import KeyRing

MODEL = "tiny-reasoner"
QUESTION = "What is 347 * 29?"
EVENTS = [
    "response.created", "response.in_progress", "response.output_item.added",
    "response.reasoning_summary_part.added", "response.reasoning_summary_text.delta",
    "response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
    "response.output_item.added", "response.content_part.added", "response.output_text.delta",
    "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed",
]  # fmt: skip


def raw_steps(server, trace_id: str) -> list[str]:
    chains = json.loads(server.trace_row(trace_id)["chains"])
    return [line for line in chains[0]["reasoning"].splitlines() if "=" in line and "," in line]


def test_string_input(client):
    response = client.responses.create(model=MODEL, input=QUESTION, reasoning={"effort": "high"}, temperature=0)
    assert response.status == "completed"
    assert response.output_text == "The answer is 10063."
    assert response.output[0].type == "reasoning" and response.output[0].id.startswith("rs_")
    assert response.usage.output_tokens_details.reasoning_tokens > 0


def test_message_input_with_instructions(client):
    response = client.responses.create(
        model=MODEL, instructions="Answer briefly.", temperature=0, reasoning={"effort": "high"},
        input=[{"role": "user", "content": [{"type": "input_text", "text": "What is 608 times 7?"}]}],
    )  # fmt: skip
    assert response.output_text == "The answer is 4256."


def test_stream_events_in_order_and_reasoning_hidden(server, client):
    with client.responses.stream(
        model=MODEL, input=QUESTION, temperature=0, reasoning={"effort": "high", "summary": "detailed"}
    ) as stream:
        seen = [event.type for event in stream]
        final = stream.get_final_response()
    collapsed = [kind for i, kind in enumerate(seen) if i == 0 or kind != seen[i - 1]]
    assert collapsed == EVENTS
    assert final.output_text == "The answer is 10063."
    summary = final.output[0].summary[0].text
    assert "10063" in summary
    for step in raw_steps(server, final.output[0].id):
        assert step not in summary and step not in final.model_dump_json()


def test_create_with_stream_true_works_unmodified(client):
    events = list(
        client.responses.create(model=MODEL, input=QUESTION, temperature=0, stream=True, reasoning={"effort": "high"})
    )
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "The answer is 10063."


def test_summary_modes_are_bounded_and_detailed_is_longer(server, client):
    lengths = {}
    for mode in ("auto", "concise", "detailed"):
        response = client.responses.create(
            model=MODEL, input="What is 734 * 869?", temperature=0, reasoning={"effort": "high", "summary": mode}
        )
        reasoning = response.output[0]
        raw = json.loads(server.trace_row(reasoning.id)["chains"])[0]["reasoning"]
        text = reasoning.summary[0].text
        assert 0 < len(text) <= 0.5 * len(raw)
        lengths[mode] = len(text)
    assert lengths["concise"] < lengths["detailed"]


def test_chat_gets_summaries_too(client):
    response = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": QUESTION}], temperature=0, reasoning_effort="high",
        extra_body={"reasoning": {"summary": "concise"}},
    )  # fmt: skip
    assert "10063" in response.choices[0].message.model_extra["reasoning_summary"]


def test_encrypted_content_round_trip_across_two_turns(server, client):
    first = client.responses.create(
        model=MODEL, input=QUESTION, temperature=0, store=False, include=["reasoning.encrypted_content"],
        reasoning={"effort": "high"},
    )  # fmt: skip
    reasoning = first.output[0]
    assert reasoning.encrypted_content and server.trace_row(reasoning.id) is None  # store: false keeps nothing
    second = client.responses.create(
        model=MODEL, temperature=0, store=False, reasoning={"effort": "high"},
        input=[
            {"role": "user", "content": QUESTION},
            reasoning.model_dump(exclude_none=True),
            {"role": "assistant", "content": first.output_text},
            {"role": "user", "content": "What is 4821 + 77?"},
        ],
    )  # fmt: skip
    assert second.output_text == "The answer is 4898."

    tampered = bytearray(base64.urlsafe_b64decode(reasoning.encrypted_content))
    tampered[-20] ^= 1
    foreign = encrypted_content.seal(
        KeyRing({"k1": b"\x07" * 32}).for_purpose(encrypted_content.PURPOSE), reasoning.id, "local", "made up"
    )
    for blob in (base64.urlsafe_b64encode(bytes(tampered)).decode(), foreign, "bm90IGEgc2VhbA=="):
        with pytest.raises(openai.BadRequestError) as err:
            client.responses.create(
                model=MODEL, store=False,
                input=[{"role": "user", "content": QUESTION}, {**reasoning.model_dump(exclude_none=True),
                       "encrypted_content": blob}, {"role": "user", "content": "again"}],
            )  # fmt: skip
        assert err.value.code == "invalid_encrypted_content"
        assert "made up" not in str(err.value.body)


def test_budget_cut_answer_still_completes(client):
    response = client.responses.create(
        model=MODEL, input="What is 734 * 869?", reasoning={"effort": "high"}, max_output_tokens=60, temperature=0
    )
    assert response.status == "completed"
    assert response.output_text.startswith("The answer is ")
    assert response.usage.output_tokens <= 60
