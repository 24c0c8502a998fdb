"""Per-key dollar budgets through the HTTP face: the worst case is reserved before any engine
work, the exact cost settled after, concurrent requests never overspend, a request that
does not complete is not charged, and the spend outlives a restart."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager

import httpx

from reasoning.pricing import Money, Price
from reasoning.types import Message, ReasoningRequest
from server.app import create_app
from server.auth import identify
from server.settings import Settings
from tests.unit.doubles import ScriptedEngine, scripted_factory
from tests.vault_support import bearer, create_key

CHAT = "/v1/chat/completions"
HEADER = "x-reasoning-budget-remaining-usd"
PRICE = Price(0.10, 0.40)  # the tiny-reasoner's default price
BUDGET_USD = 0.00006  # two worst cases of the request below fit at once, not three
BODY = {
    "model": "tiny-reasoner",
    "messages": [{"role": "user", "content": "What is 1+1?"}],
    "max_completion_tokens": 60,
}


@asynccontextmanager
async def serving(tmp_path, engine: ScriptedEngine):
    app = create_app(Settings(data_dir=tmp_path, keepalive_seconds=0.05), scripted_factory(engine))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=30) as client:
            await asyncio.wait_for(app.state.services.loading, 5)  # the engine is loaded
            yield client, app


def usd(nanos: int) -> str:
    """Nano-dollars as the remaining-budget header writes them."""
    return str(Money(nanos))


def charged(response: httpx.Response) -> int:
    usage = response.json()["usage"]
    return PRICE.cost(usage["prompt_tokens"], usage["completion_tokens"]).nanos


async def test_concurrent_requests_never_overspend_and_spend_survives_a_restart(tmp_path):
    key, secret = await create_key(tmp_path, "user", budget_usd=BUDGET_USD)
    engine = ScriptedEngine(delay=0.02)
    async with serving(tmp_path, engine) as (client, _):
        results = await asyncio.gather(*(client.post(CHAT, json=BODY, headers=bearer(secret)) for _ in range(6)))
        ok = [r for r in results if r.status_code == 200]
        refused = [r for r in results if r.status_code == 429]
        assert len(ok) == 2 and len(refused) == 4  # two reservations at once; the rest refused, not queued
        assert all(r.json()["error"]["code"] == "insufficient_quota" for r in refused)
        assert all(HEADER in r.headers for r in results)
        spent = sum(charged(r) for r in ok)
        assert len(engine.calls) == 2  # nothing refused reached the engine
        # Settled at the exact cost, the rest released: one more request fits now.
        later = await client.post(CHAT, json=BODY, headers=bearer(secret))
        assert later.status_code == 200
        spent += charged(later)
        assert later.headers[HEADER] == usd(Money.at_least(BUDGET_USD).nanos - spent)
        assert spent <= Money.at_least(BUDGET_USD).nanos
    async with serving(tmp_path, ScriptedEngine()) as (client, app):  # a restart on the same data dir
        got = await client.get("/v1/reasoning/traces", headers=bearer(secret))
        assert got.status_code == 200 and got.headers[HEADER] == usd(Money.at_least(BUDGET_USD).nanos - spent)
        standing = await app.state.services.store.ledger.standing(key)
        assert standing.spent_nanos == spent and standing.held_nanos == 0
        metrics = (await client.get("/metrics")).text
        assert f'reasoning_key_spend_ratio{{key_id="{key.id}"}}' in metrics and secret not in metrics


async def test_streams_are_settled_and_unbudgeted_keys_have_no_header(tmp_path):
    _, secret = await create_key(tmp_path, "user", budget_usd=1.0)
    _, free = await create_key(tmp_path, "user")
    async with serving(tmp_path, ScriptedEngine()) as (client, _):
        body = {**BODY, "stream": True, "stream_options": {"include_usage": True}}
        async with client.stream("POST", CHAT, json=body, headers=bearer(secret)) as stream:
            held = stream.headers[HEADER]  # sent before the outcome: after the reservation
            lines = [line async for line in stream.aiter_lines() if line.startswith("data: {")]
        usage = json.loads(lines[-1].removeprefix("data: "))["usage"]
        exact = PRICE.cost(usage["prompt_tokens"], usage["completion_tokens"]).nanos
        worst = PRICE.cost(usage["prompt_tokens"], 60).nanos
        assert held == usd(10**9 - worst)
        after = await client.get("/v1/reasoning/traces", headers=bearer(secret))
        assert after.headers[HEADER] == usd(10**9 - exact)
        plain = await client.post(CHAT, json=BODY, headers=bearer(free))
        assert plain.status_code == 200 and HEADER not in plain.headers


async def test_a_request_cut_short_is_charged_what_it_generated(tmp_path):
    key, secret = await create_key(tmp_path, "user", budget_usd=1.0)
    engine = ScriptedEngine(delay=0.01)
    async with serving(tmp_path, engine) as (_, app):
        services = app.state.services
        principal = await identify(services.store.api_keys, f"Bearer {secret}")
        request = ReasoningRequest("tiny-reasoner", (Message("user", "What is 1+1?"),), owner=key.id)
        plan = services.serving.prepare(request)
        hold = await services.serving.admit(principal.key, plan)
        assert (await services.store.ledger.standing(key)).held_nanos > 0
        events = services.serving.events(plan, hold, "chat")
        await anext(events)  # the engine is generating
        await events.aclose()  # the client left before the outcome
        standing = await services.store.ledger.standing(key)
        generated = sum(chain.completion_tokens for chain in plan.chains)
        assert generated > 0 and standing.spent_nanos == plan.budget.cost(generated).nanos < plan.worst_case.nanos
        assert standing.held_nanos == 0  # the rest of the reservation is released
        assert engine.aborted  # and its engine work was aborted


async def test_a_search_reserves_for_every_chain_it_may_sample(tmp_path):
    key, secret = await create_key(tmp_path, "user", budget_usd=1.0)
    engine = ScriptedEngine()
    engine.context_length = len("<|user|>What is 1+1?<think>\n") + 40  # each chain may generate 40 tokens
    async with serving(tmp_path, engine) as (client, app):
        body = {**BODY, "reasoning": {"strategy": "self_consistency", "samples": 3}}
        del body["max_completion_tokens"]
        got = await client.post(CHAT, json=body, headers=bearer(secret))
        assert got.status_code == 200, got.text
        assert got.json()["usage"]["completion_tokens"] > 40  # three chains: more than one chain's cap
        standing = await app.state.services.store.ledger.standing(key)
        assert standing.spent_nanos == charged(got)  # charged in full: the reservation covered all three
        assert got.headers[HEADER] == usd(10**9 - charged(got))
