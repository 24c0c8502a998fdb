"""Conversations on the Responses API against the real server, with the official SDK
unmodified: previous_response_id, input_items, delete, and who may touch whose response."""

from __future__ import annotations

import openai
import pytest

from devtools.server import Server
from tests.vault_support import add_key

pytestmark = pytest.mark.e2e
MODEL = "tiny-reasoner"
TURNS = (
    ("What is 347 * 29?", "The answer is 10063."),
    ("What is 4821 + 77?", "The answer is 4898."),
    ("What is 608 times 7?", "The answer is 4256."),
)
# Generous: a successor model is to think about twice as long as the embedded one.
REASONING = {"effort": "max"}


@pytest.fixture(scope="module")
def keyed(keyed_server: Server):
    """A server with API keys, and the secrets of two user keys made for this module."""
    secrets = [add_key(keyed_server.data_dir, "user", name)[1] for name in ("alice", "bob")]
    return keyed_server, secrets


def sdk(server: Server, secret: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.api, api_key=secret, max_retries=0, timeout=300)


@pytest.fixture(scope="module")
def alice(keyed) -> openai.OpenAI:
    server, (secret, _) = keyed
    return sdk(server, secret)


@pytest.fixture(scope="module")
def bob(keyed) -> openai.OpenAI:
    server, (_, secret) = keyed
    return sdk(server, secret)


@pytest.fixture(scope="module")
def conversation(alice) -> list:
    """Three turns, each continuing the one before by previous_response_id."""
    responses, previous = [], None
    for question, _ in TURNS:
        extra = {} if previous is None else {"previous_response_id": previous}
        responses.append(
            alice.responses.create(model=MODEL, input=question, reasoning=REASONING, temperature=0, **extra)
        )
        previous = responses[-1].id
    return responses


def test_three_turns_each_answered_right_with_the_context_counted(conversation):
    assert [r.output_text for r in conversation] == [answer for _, answer in TURNS]
    assert all(r.status == "completed" for r in conversation)
    inputs = [r.usage.input_tokens for r in conversation]
    assert inputs[0] < inputs[1] < inputs[2]


def test_input_items_hold_the_whole_conversation(alice, conversation):
    items = alice.responses.input_items.list(conversation[2].id, order="asc")
    texts = [item.content[0].text for item in items.data if item.type == "message"]
    assert texts == [TURNS[0][0], TURNS[0][1], TURNS[1][0], TURNS[1][1], TURNS[2][0]]
    assert [item.type for item in items.data].count("reasoning") == 2


def test_another_key_gets_404_on_every_route(alice, bob, conversation):
    theirs = conversation[0].id
    calls = (
        lambda: bob.responses.retrieve(theirs),
        lambda: bob.responses.input_items.list(theirs),
        lambda: bob.responses.delete(theirs),
        lambda: bob.responses.cancel(theirs),
        lambda: bob.responses.create(model=MODEL, input="And 2 + 2?", previous_response_id=theirs),
    )
    for call in calls:
        with pytest.raises(openai.NotFoundError):
            call()
    assert alice.responses.retrieve(theirs).id == theirs


def test_store_false_cannot_be_continued(alice):
    unkept = alice.responses.create(model=MODEL, input=TURNS[0][0], reasoning=REASONING, store=False)
    with pytest.raises(openai.BadRequestError, match="store: false"):
        alice.responses.create(model=MODEL, input=TURNS[1][0], previous_response_id=unkept.id)


def test_delete_removes_the_response_and_its_trace(keyed, alice):
    server, _ = keyed
    response = alice.responses.create(model=MODEL, input=TURNS[1][0], reasoning=REASONING, temperature=0)
    assert server.trace_row(response.output[0].id) is not None
    assert alice.responses.delete(response.id) is None
    assert server.trace_row(response.output[0].id) is None
    with pytest.raises(openai.NotFoundError):
        alice.responses.retrieve(response.id)
