"""The embedded model generates the same greedy text in vLLM (through the server) as in transformers."""

from __future__ import annotations

import json
import random
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from devtools.server import MODEL
from training.data import TIERS, question, render_prompt, sample_problem


@pytest.fixture(scope="module")
def reference():
    tokenizer = AutoTokenizer.from_pretrained(str(MODEL))
    model = AutoModelForCausalLM.from_pretrained(str(MODEL), dtype=torch.float32).eval()
    return tokenizer, model


def transformers_greedy(reference, text: str) -> str:
    tokenizer, model = reference
    ids = tokenizer(render_prompt([{"role": "user", "content": text}]), return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=600, do_sample=False, eos_token_id=tokenizer.eos_token_id)
    return tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)


def test_identical_greedy_outputs_on_20_problems(server, client, reference):
    rng = random.Random(2026)
    problems = [question(rng, sample_problem(rng, TIERS[i % 4])) for i in range(20)]

    def served(text: str) -> str:
        response = client.chat.completions.create(
            model="tiny-reasoner", messages=[{"role": "user", "content": text}], temperature=0, reasoning_effort="max"
        )
        stored = json.loads(server.trace_row(response.model_extra["reasoning"]["id"])["chains"])[0]
        return f"{stored['reasoning']}\n</think>\n{response.choices[0].message.content}"

    # The server answers all twenty at once, batched as in service; transformers then one by one.
    with ThreadPoolExecutor(len(problems)) as pool:
        answers = list(pool.map(served, problems))
    for text, answer in zip(problems, answers, strict=True):
        assert answer == transformers_greedy(reference, text), text
