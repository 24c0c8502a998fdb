"""Graceful shutdown of the real server (server/ops/shutdown.py), each test with a server of its own.

On SIGTERM the server refuses new API requests with an OpenAI-shaped 503 and answers /ready with
503, lets the requests in flight finish within REASONING_SHUTDOWN_GRACE_SECONDS, aborts what
outlives it with a clear error (a stream gets it as an event, then ends), stops the engine and
exits by itself with status 0. The signal goes to the server process alone, as Kubernetes and
Docker send it: the engine's processes are the server's to stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field

import httpx
import pytest

from devtools.server import MODEL as MODEL_DIR
from devtools.server import START_TIMEOUT, Server, launch_server, start_server, stop_server

MODEL = "tiny-reasoner"
HARD = "What is 734 * 869?"
# Four chains that think 400 tokens each, then answer: seconds of work even on an idle machine.
# (Forcing one chain to think much longer than it would makes it babble to the context's end.)
CHAINS = 4
THINKS_A_WHILE = {"n": CHAINS, "temperature": 0.7, "reasoning": {"min_tokens": 400}}
THINKS_LONG = {"reasoning": {"min_tokens": 900, "max_tokens": 950}}  # many seconds of it
EXIT_TIMEOUT = 60

pytestmark = pytest.mark.timeout(300)


@dataclass
class Reply:
    status: int
    lines: list[str] = field(default_factory=list)  # SSE lines without keep-alives, or the JSON body
    finished_at: float = 0.0

    @property
    def body(self) -> dict:
        return json.loads(self.lines[0])

    def events(self) -> list[dict]:
        return [json.loads(line[6:]) for line in self.lines if line.startswith("data: {")]


def call(server: Server, path: str, body: dict) -> Reply:
    with httpx.Client(base_url=server.url, timeout=120) as client:
        if not body.get("stream"):
            response = client.post(path, json=body)
            return Reply(response.status_code, [response.text], time.monotonic())
        with client.stream("POST", path, json=body) as response:
            lines = [line for line in response.iter_lines() if line and line != ": keep-alive"]
            return Reply(response.status_code, lines, time.monotonic())


def chat(how: dict, stream: bool) -> dict:
    return {"model": MODEL, "messages": [{"role": "user", "content": HARD}], "temperature": 0, "stream": stream, **how}


def start_in_flight(pool: ThreadPoolExecutor, server: Server, requests: list[tuple[str, dict]]) -> list[Future]:
    futures = [pool.submit(call, server, path, body) for path, body in requests]
    deadline = time.monotonic() + 30
    while server.metric("reasoning_requests_in_flight") < len(requests) and not any(f.done() for f in futures):
        assert time.monotonic() < deadline, "the requests never got under way"
        time.sleep(0.02)
    return futures  # each test checks that its requests ended after the signal


def sigterm(server: Server) -> float:
    os.kill(server.process.pid, signal.SIGTERM)  # the server process only, as an orchestrator does
    return time.monotonic()


def assert_exits_cleanly(server: Server) -> None:
    try:
        assert server.process.wait(timeout=EXIT_TIMEOUT) == 0
    except subprocess.TimeoutExpired:
        pytest.fail(f"the server did not exit within {EXIT_TIMEOUT} s of SIGTERM:\n{server.log()[-3000:]}")
    deadline = time.monotonic() + 10  # the engine's processes go with it
    while _group_alive(server.process.pid):
        assert time.monotonic() < deadline, "engine processes outlived the server"
        time.sleep(0.1)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def access_lines(server: Server) -> list[dict]:
    lines = (json.loads(line) for line in server.log().splitlines() if line.startswith("{"))
    return [line for line in lines if line["logger"] == "reasoning_server.access"]


def test_sigterm_refuses_new_work_finishes_what_runs_and_exits(tmp_path):
    server = start_server(tmp_path, REASONING_SHUTDOWN_GRACE_SECONDS="60")
    try:
        with ThreadPoolExecutor(2) as pool:
            streamed, plain = start_in_flight(
                pool,
                server,
                [
                    ("/v1/chat/completions", chat(THINKS_A_WHILE, stream=True)),
                    ("/v1/chat/completions", chat(THINKS_A_WHILE, stream=False)),
                ],
            )
            signalled = sigterm(server)
            refused = httpx.post(f"{server.url}/v1/chat/completions", json=chat({}, stream=False), timeout=10)
            ready = httpx.get(f"{server.url}/ready", timeout=10)
            alive = httpx.get(f"{server.url}/health", timeout=10)
            streamed, plain = streamed.result(), plain.result()

        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "shutting_down"
        assert refused.json()["error"]["type"] == "service_unavailable"
        assert (ready.status_code, ready.json()["error"]["code"]) == (503, "shutting_down")
        assert alive.status_code == 200

        for reply in (streamed, plain):
            assert reply.status == 200 and reply.finished_at > signalled  # in flight at the signal
        events = streamed.events()
        assert streamed.lines[-1] == "data: [DONE]"
        assert not any("error" in event for event in events)
        # Every chain ran to its own end: a finish reason each, no error. (What they say is
        # the model's business: forced to think far past its natural length at temperature
        # 0.7, the tiny model sometimes babbles, even to the context's end.)
        finishes = [None] * CHAINS
        for event in events:
            for choice in event.get("choices", []):
                finishes[choice["index"]] = choice["finish_reason"] or finishes[choice["index"]]
        assert all(finish in ("stop", "length") for finish in finishes), finishes
        assert len(plain.body["choices"]) == CHAINS
        assert all(choice["finish_reason"] in ("stop", "length") for choice in plain.body["choices"])
        assert plain.body["usage"]["completion_tokens_details"]["reasoning_tokens"] >= CHAINS * 400

        assert_exits_cleanly(server)
        statuses = sorted(line["status"] for line in access_lines(server))
        assert statuses == [200, 200, 503]
        assert '"message": "drained: every request in flight finished"' in server.log()
    finally:
        stop_server(server)


def test_what_outlives_a_short_grace_is_aborted_with_a_clear_error(tmp_path):
    server = start_server(tmp_path, REASONING_SHUTDOWN_GRACE_SECONDS="1")
    try:
        with ThreadPoolExecutor(3) as pool:
            chat_stream, chat_plain, responses_stream = start_in_flight(
                pool,
                server,
                [
                    ("/v1/chat/completions", chat(THINKS_LONG, stream=True)),
                    ("/v1/chat/completions", chat(THINKS_LONG, stream=False)),
                    ("/v1/responses", {"model": MODEL, "input": HARD, "stream": True, **THINKS_LONG}),
                ],
            )
            signalled = sigterm(server)
            replies = [chat_stream.result(), chat_plain.result(), responses_stream.result()]
        chat_stream, chat_plain, responses_stream = replies

        for reply in replies:  # stopped at the grace's end, not run to theirs
            assert reply.finished_at - signalled < 1 + 5
        # A stream already said 200: the error comes as its last event, then the stream ends.
        assert chat_stream.status == 200
        error = chat_stream.events()[-1]["error"]
        assert error["code"] == "shutting_down" and error["type"] == "service_unavailable"
        assert "shutting down" in error["message"]
        assert chat_stream.lines[-1] == "data: [DONE]"
        # A client still waiting for its JSON gets the 503 itself.
        assert chat_plain.status == 503
        assert chat_plain.body["error"]["code"] == "shutting_down"
        # The Responses stream ends with an error event and response.failed.
        kinds = [event["type"] for event in responses_stream.events()]
        assert kinds[-2:] == ["error", "response.failed"]
        assert responses_stream.events()[-2]["code"] == "shutting_down"

        assert_exits_cleanly(server)
        errors = sorted((line["status"], line["error"]) for line in access_lines(server))
        assert errors == [(200, "shutting_down"), (200, "shutting_down"), (503, "shutting_down")]
        assert '"message": "grace over: aborting requests in flight"' in server.log()
    finally:
        stop_server(server)


def test_an_engine_that_cannot_start_stops_the_server_with_a_failure_status(tmp_path):
    # A model directory that is not one: vLLM refuses it. Supervisors (Kubernetes, systemd,
    # `make serve`) must see a failed start, not a clean exit.
    not_a_model = tmp_path / "not-a-model"
    not_a_model.mkdir()
    server = launch_server(tmp_path, not_a_model)
    try:
        assert server.process.wait(timeout=START_TIMEOUT) == 1
        assert "the engine failed to start; stopping the server" in server.log()
    finally:
        stop_server(server)


def test_sigterm_while_the_engine_loads_exits_within_ten_seconds_and_leaves_no_process(tmp_path):
    # vLLM's start-up cannot be interrupted, so the server must not wait for it (~20-40 s here).
    server = launch_server(tmp_path, MODEL_DIR)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:  # up, and the engine still loading
            with suppress(httpx.HTTPError):
                if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        assert httpx.get(f"{server.url}/ready", timeout=1).status_code == 503
        time.sleep(1)  # into vLLM's start-up: its engine process is being spawned
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0
        assert time.monotonic() - signalled < 10
        assert _group_ends(server.process.pid, within=10), subprocess.run(
            ["ps", "-o", "pid,stat,args", "-g", str(server.process.pid)], capture_output=True, text=True
        ).stdout  # no engine process outlived it in its group
    finally:
        stop_server(server)


def _group_ends(group: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False
