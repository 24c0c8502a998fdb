"""The trace vault and API keys on the real server: keys made with the CLI, the model's real
reasoning sealed at rest, read back only by an admin and on the record, budgets in dollars."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from decimal import Decimal

import anthropic
import httpx
import openai
import pytest

from devtools.server import ROOT
from server.settings import Settings

MODEL = "tiny-reasoner"
PRICE = Settings().price_table().for_model(MODEL)
TRACES = "/v1/reasoning/traces"
BUDGET = Decimal("0.0001")  # a few small requests
HEADER = "x-reasoning-budget-remaining-usd"
pytestmark = pytest.mark.e2e


def keys_cli(data_dir, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "keys", *args],
        cwd=ROOT, env={**os.environ, "REASONING_DATA_DIR": str(data_dir)}, capture_output=True, text=True, timeout=60,
        check=True,
    )  # fmt: skip
    return done.stdout


def create_key(data_dir, *args: str) -> tuple[str, str]:
    """(key id, secret): the secret is the last line of the command's output."""
    out = keys_cli(data_dir, "create", *args).rstrip("\n").split("\n")
    return out[0].split()[1].rstrip(":"), out[-1]


@pytest.fixture(scope="module")
def vault(keyed_server):
    """The keyed server, and keys made for this module (made while it serves, as an operator would)."""
    data = keyed_server.data_dir
    made = {
        "admin": create_key(data, "--role", "admin", "--name", "ops"),
        "alice": create_key(data, "--role", "user", "--budget-usd", str(BUDGET), "--period", "30d"),
        "bob": create_key(data, "--role", "user"),
    }
    return keyed_server, made


def sdk(server, secret: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.api, api_key=secret, max_retries=0, timeout=120)


def http(server, secret: str | None = None) -> httpx.Client:
    headers = {"authorization": f"Bearer {secret}"} if secret else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=120)


def ask(client: openai.OpenAI, question: str, **extra):
    return client.chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": question}], temperature=0, **extra
    )


def test_an_admin_reads_the_real_reasoning_of_a_users_request_on_the_record(vault):
    server, keys = vault
    (admin_id, admin), (_, bob) = keys["admin"], keys["bob"]
    # A question no other module on the keyed server asks: its answer is nowhere else in the store.
    raw_response = ask(sdk(server, bob), "What is 347 * 9?", reasoning_effort="high")
    response = raw_response.parse()
    assert response.choices[0].message.content == "The answer is 3123."
    trace_id = response.model_extra["reasoning"]["id"]
    reason = {"x-reasoning-access-reason": "quality review", "x-request-id": "req-e2e-read"}
    got = http(server, admin).get(f"{TRACES}/{trace_id}", headers=reason)
    assert got.status_code == 200
    trace = got.json()
    reasoning = trace["chains"][0]["reasoning"]
    assert "7*9=63,3" in reasoning.splitlines()  # the model's own column arithmetic
    assert reasoning not in raw_response.http_response.text
    assert trace["usage"]["completion_tokens"] == response.usage.completion_tokens
    assert trace["usage"]["reasoning_tokens"] == response.usage.completion_tokens_details.reasoning_tokens
    stored = b"".join(p.read_bytes() for p in server.data_dir.glob("reasoning.db*"))
    assert b"7*9=63,3" not in stored and b"The answer is 3123" not in stored  # sealed at rest
    audit = http(server, bob).get(f"{TRACES}/{trace_id}/audit").json()["data"]
    assert [(r["actor"], r["role"], r["reason"], r["request_id"]) for r in audit] == [
        (admin_id, "admin", "quality review", "req-e2e-read")
    ]
    assert server.metric("reasoning_trace_reads_total", role="admin") >= 1
    assert reasoning not in server.log()


def test_users_get_no_raw_reasoning_and_no_one_elses_traces(vault):
    server, keys = vault
    (_, admin), (_, alice), (_, bob) = keys["admin"], keys["alice"], keys["bob"]
    trace_id = ask(sdk(server, bob), "What is 86 x 45", reasoning_effort="low").parse().model_extra["reasoning"]["id"]
    assert http(server, bob).get(f"{TRACES}/{trace_id}").status_code == 403  # REASONING_RAW_ACCESS=admin
    assert http(server, alice).get(f"{TRACES}/{trace_id}/audit").status_code == 404
    assert http(server, alice).delete(f"{TRACES}/{trace_id}").status_code == 404
    assert http(server).get(f"{TRACES}/{trace_id}").status_code == 401
    listed = http(server, bob).get(TRACES).json()["data"]
    assert trace_id in [t["id"] for t in listed] and all("chains" not in t for t in listed)
    assert http(server, bob).delete(f"{TRACES}/{trace_id}").status_code == 200
    assert http(server, admin).get(f"{TRACES}/{trace_id}").status_code == 404
    assert server.trace_row(trace_id) is None


def test_a_key_made_or_revoked_while_serving_counts_at_once(vault):
    server, _ = vault
    key_id, secret = create_key(server.data_dir, "--role", "user", "--name", "late")
    assert http(server, secret).get(TRACES).status_code == 200
    assert key_id in keys_cli(server.data_dir, "list")
    keys_cli(server.data_dir, "revoke", key_id)
    with pytest.raises(openai.AuthenticationError):
        ask(sdk(server, secret), "What is 4821 + 77?", reasoning_effort="low")


def test_a_budgeted_key_pays_exact_costs_and_is_refused_when_its_budget_is_spent(vault):
    server, keys = vault
    _, alice = keys["alice"]
    client, spent, refused = sdk(server, alice), Decimal(0), None
    for _ in range(12):
        try:
            raw = ask(client, "What is 608 times 7?", reasoning_effort="low", max_completion_tokens=96)
        except openai.RateLimitError as exc:
            refused = exc
            break
        usage = raw.parse().usage
        exact = (usage.prompt_tokens * Decimal("0.1") + usage.completion_tokens * Decimal("0.4")) / 10**6
        spent += exact
        assert Decimal(raw.http_response.headers[HEADER]) == BUDGET - spent  # settled to the nano-dollar
    assert refused is not None and refused.code == "insufficient_quota" and refused.status_code == 429
    assert Decimal(refused.response.headers[HEADER]) == BUDGET - spent >= 0
    assert Decimal(http(server, alice).get(TRACES).headers[HEADER]) == BUDGET - spent
    assert server.metric("reasoning_key_spend_ratio", key_id=keys["alice"][0]) == pytest.approx(float(spent / BUDGET))


def test_stored_responses_and_encrypted_content_belong_to_their_key(vault):
    server, keys = vault
    bob, admin = sdk(server, keys["bob"][1]), sdk(server, keys["admin"][1])
    response = bob.responses.create(
        model=MODEL, input="What is 347 * 29?", temperature=0, reasoning={"effort": "high"},
        include=["reasoning.encrypted_content"],
    )  # fmt: skip
    assert bob.responses.retrieve(response.id).output_text == "The answer is 10063."
    with pytest.raises(openai.NotFoundError):
        admin.responses.retrieve(response.id)  # not even an admin: a response belongs to its key
    carried = response.output[0].model_dump(exclude_none=True)
    turn = [{"role": "user", "content": "What is 347 * 29?"}, carried, {"role": "user", "content": "again"}]
    assert bob.responses.create(model=MODEL, input=turn, store=False).status == "completed"
    with pytest.raises(openai.BadRequestError) as err:
        admin.responses.create(model=MODEL, input=turn, store=False)  # the blob is bound to bob's key
    assert err.value.code == "invalid_encrypted_content"


def test_thinking_signatures_belong_to_their_key(vault):
    server, keys = vault
    bob, admin = (
        anthropic.Anthropic(base_url=server.url, api_key=keys[name][1], max_retries=0) for name in ("bob", "admin")
    )
    turn = [{"role": "user", "content": "What is 347 * 29?"}]
    fields = {"model": MODEL, "max_tokens": 2112, "thinking": {"type": "enabled", "budget_tokens": 2048}}
    first = bob.messages.create(**fields, messages=turn, extra_body={"temperature": 0})  # its key as x-api-key
    assert first.content[-1].text == "The answer is 10063."
    assert server.trace_row(first.model_extra["reasoning"]["id"])["owner"] == keys["bob"][0]
    follow_up = [*turn, first.to_param(), {"role": "user", "content": "What is 4821 + 77?"}]
    assert bob.messages.create(**fields, messages=follow_up).content[-1].type == "text"
    with pytest.raises(anthropic.BadRequestError) as err:
        admin.messages.create(**fields, messages=follow_up)  # the signature is bound to bob's key
    assert err.value.body["error"]["code"] == "invalid_signature"
    with pytest.raises(anthropic.AuthenticationError) as err:
        anthropic.Anthropic(base_url=server.url, api_key="not-a-key", max_retries=0).messages.create(
            **fields, messages=turn
        )
    assert err.value.body["type"] == "error" and err.value.body["error"]["type"] == "authentication_error"


def test_rate_limits_send_openai_headers_and_the_sdk_honours_retry_after(vault):
    server, _ = vault
    key_id, secret = create_key(server.data_dir, "--role", "user", "--rpm", "1", "--tpm", "100000")
    cheap = {"reasoning_effort": "none", "max_completion_tokens": 24}
    first = ask(sdk(server, secret), "What is 2 + 2?", **cheap)
    assert first.headers["x-ratelimit-limit-requests"] == "1" and first.headers["x-ratelimit-remaining-requests"] == "0"
    assert first.headers["x-ratelimit-limit-tokens"] == "100000"
    with pytest.raises(openai.RateLimitError) as refused:
        ask(sdk(server, secret), "What is 2 + 2?", **cheap)
    assert refused.value.code == "rate_limit_exceeded"
    assert 50 <= int(refused.value.response.headers["retry-after"]) <= 60  # one request a minute
    keys_cli(server.data_dir, "limit", key_id, "--rpm", "60")  # edited while serving: one a second from now
    for _ in range(5):  # spend what refilled meanwhile, until the next request must wait
        try:
            ask(sdk(server, secret), "What is 2 + 2?", **cheap)
        except openai.RateLimitError as exc:
            assert exc.response.headers["retry-after"] == "1"
            break
    else:
        raise AssertionError("never limited at 60 requests a minute")
    patient = openai.OpenAI(base_url=server.api, api_key=secret, max_retries=2, timeout=120)
    started = time.monotonic()
    served = ask(patient, "What is 2 + 2?", **cheap)
    assert served.retries_taken >= 1 and time.monotonic() - started >= 0.9  # waited as Retry-After said
    assert served.parse().choices[0].message.content.startswith("The answer is")
