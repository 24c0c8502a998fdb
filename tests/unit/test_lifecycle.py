"""Graceful shutdown and the access log, in process, with the scripted engine double.

The drain runs on the test's event loop beside requests in flight (httpx's ASGI transport), so
its timing is exact; tests/e2e/test_shutdown.py does the same with signals and the real engine."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from contextlib import asynccontextmanager

import httpx
import uvicorn

from reasoning.types import Done
from server.app import create_app
from server.ops import shutdown
from server.ops.logs import JsonFormatter
from server.settings import Settings
from tests.unit.doubles import ScriptedEngine, scripted_factory

CHAT = "/v1/chat/completions"
SCRIPT = "1+1=2, and carry nothing; the sum is two\n</think>\nThe answer is 2."


def body(stream: bool = False) -> dict:
    return {"model": "tiny-reasoner", "messages": [{"role": "user", "content": "What is 1+1?"}], "stream": stream}


@asynccontextmanager
async def running(tmp_path, grace: float, delay: float = 0.01):
    engine = ScriptedEngine(script=SCRIPT, delay=delay)
    settings = Settings(data_dir=tmp_path, keepalive_seconds=0.05, shutdown_grace_seconds=grace)
    app = create_app(settings, engine_factory=scripted_factory(engine))
    async with app.router.lifespan_context(app):
        await until(lambda: app.state.services.reasoner is not None)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=30) as client:
            yield client, app.state.drain, engine


async def in_flight(client: httpx.AsyncClient, drain: shutdown.Drain, count: int) -> list[asyncio.Task]:
    tasks = [asyncio.create_task(client.post(CHAT, json=body(stream=i % 2 == 0))) for i in range(count)]
    await until(lambda: drain.in_flight == count)
    return tasks


async def until(condition, seconds: float = 5) -> None:
    for _ in range(int(seconds / 0.005)):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("timed out")


def sse_data(response: httpx.Response) -> list[str]:
    return [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]


async def test_draining_refuses_new_requests_and_lets_those_in_flight_finish(tmp_path):
    async with running(tmp_path, grace=30) as (client, drain, engine):
        tasks = await in_flight(client, drain, 2)
        draining = asyncio.create_task(drain.run())
        await asyncio.sleep(0)
        refused = await client.post(CHAT, json=body())
        ready = await client.get("/ready")
        streamed, plain = await asyncio.gather(*tasks)
        await asyncio.wait_for(draining, 5)
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "shutting_down"
    assert refused.headers["connection"] == "close"
    assert ready.status_code == 503 and ready.json()["error"]["code"] == "shutting_down"
    assert plain.status_code == 200 and plain.json()["choices"][0]["message"]["content"] == "The answer is 2."
    assert sse_data(streamed)[-1] == "[DONE]" and "error" not in streamed.text
    assert engine.aborted == []


async def test_what_outlives_the_grace_is_aborted_with_an_error(tmp_path):
    async with running(tmp_path, grace=0.2, delay=0.05) as (client, drain, engine):  # ~3 s a request
        tasks = await in_flight(client, drain, 2)
        started = asyncio.get_running_loop().time()
        await drain.run()
        took = asyncio.get_running_loop().time() - started
        streamed, plain = await asyncio.gather(*tasks)
    assert 0.2 <= took < 1  # aborted where they waited, not at their next event or keep-alive
    assert plain.status_code == 503 and plain.json()["error"]["code"] == "shutting_down"
    error, done = sse_data(streamed)[-2:]
    assert json.loads(error)["error"]["code"] == "shutting_down" and done == "[DONE]"
    assert len(engine.aborted) == 2  # the engine work stopped too
    assert drain.in_flight == 0


async def test_a_hurry_ends_the_grace_at_once(tmp_path):
    async with running(tmp_path, grace=60, delay=0.05) as (client, drain, _):
        tasks = await in_flight(client, drain, 1)
        draining = asyncio.create_task(drain.run())
        await asyncio.sleep(0.1)
        drain.hurry()
        await asyncio.wait_for(draining, 2)
        (streamed,) = await asyncio.gather(*tasks)
    assert '"code":"shutting_down"' in streamed.text


async def test_bounded_is_a_pass_through_outside_a_drained_request():
    async def events():
        yield Done(outcome=None)  # type: ignore[arg-type]

    assert [e async for e in shutdown.bounded(events())] == [Done(outcome=None)]  # type: ignore[arg-type]


async def test_signals_drain_then_hurry_then_fall_to_uvicorn():
    drain = shutdown.Drain(grace_seconds=60)
    server = shutdown.DrainingServer(uvicorn.Config(app=None), drain)
    server._loop = asyncio.get_running_loop()
    ticket = drain.admit()
    server.handle_exit(signal.SIGTERM, None)
    await until(lambda: drain.draining)
    assert drain.admit() is None and not server.should_exit
    server.handle_exit(signal.SIGTERM, None)  # a second signal ends the grace: abort now
    await until(lambda: ticket.expired)
    drain.release(ticket)  # the aborted request leaves
    await until(lambda: server.should_exit)
    assert not server._captured_signals  # exit 0: the signal is not raised again
    server.handle_exit(signal.SIGINT, None)
    assert server.force_exit  # a third is uvicorn's own: SIGINT quits at once


async def test_the_access_line_has_usage_and_no_text(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="reasoning_server.access")
    async with running(tmp_path, grace=30) as (client, _, _):
        got = await client.post(CHAT, json=body(), headers={"x-request-id": "unit-1"})
    (record,) = [r for r in caplog.records if r.name == "reasoning_server.access"]
    line = json.loads(JsonFormatter().format(record))
    usage = got.json()["usage"]
    assert line["request_id"] == "unit-1" and line["status"] == 200 and line["key_id"] == "local"
    assert line["reasoning_tokens"] == usage["completion_tokens_details"]["reasoning_tokens"]
    assert line["cost_usd"] == usage["cost_usd"]
    text = json.dumps(line)
    assert "1+1" not in text and "carry" not in text and "The answer" not in text


def test_the_json_formatter_keeps_extras_and_exceptions():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("x").makeRecord("x", logging.ERROR, "f", 1, "hi %s", ("there",), sys.exc_info())
    record.__dict__.update({"request_id": "r1", "color_message": "dropped"})
    line = json.loads(JsonFormatter().format(record))
    assert (line["message"], line["level"], line["logger"], line["request_id"]) == ("hi there", "error", "x", "r1")
    assert "color_message" not in line
    assert "ValueError: boom" in line["exc"]
