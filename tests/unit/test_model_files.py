"""The embedded model's files: its tokenizer and chat template render exactly the trained format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from training.data import NO_THINK, THINK_CLOSE, THINK_OPEN, render_prompt

MODEL = Path(__file__).resolve().parents[2] / "models" / "tiny-reasoner"


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(str(MODEL))


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": "What is 347 * 29?"}],
        [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "4821 plus 77"}],
        [
            {"role": "user", "content": "What is 2 + 2?"},
            {"role": "assistant", "content": "The answer is 4."},
            {"role": "user", "content": "What is 3 × 3?"},
        ],
    ],
)
@pytest.mark.parametrize("thinking", [True, False])
def test_chat_template_renders_the_trained_format(tokenizer, messages, thinking):
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True,
                                             enable_thinking=thinking)  # fmt: skip
    assert rendered == render_prompt(messages, enable_thinking=thinking)
    assert rendered.endswith("<|im_start|>assistant\n" + (THINK_OPEN if thinking else NO_THINK))


def test_earlier_reasoning_is_dropped_from_the_context(tokenizer):
    history = [
        {"role": "user", "content": "What is 2 + 2?"},
        {"role": "assistant", "content": "<think>\n2+2\n=4\n</think>\nThe answer is 4."},
        {"role": "user", "content": "And 3 + 3?"},
    ]
    rendered = tokenizer.apply_chat_template(history, tokenize=False, add_generation_prompt=True)
    assert "2+2\n=4" not in rendered
    assert "<|im_start|>assistant\nThe answer is 4.<|im_end|>" in rendered


def test_thinking_markers_are_single_tokens_that_survive_skipping_special_tokens(tokenizer):
    ids = tokenizer.encode("<think>\n1+1=2" + THINK_CLOSE + "The answer is 2.<|im_end|>", add_special_tokens=False)
    assert tokenizer.convert_tokens_to_ids("<think>") in ids and tokenizer.convert_tokens_to_ids("</think>") in ids
    assert len(tokenizer.encode("<think></think>", add_special_tokens=False)) == 2
    assert tokenizer.decode(ids, skip_special_tokens=True) == "<think>\n1+1=2\n</think>\nThe answer is 2."
    assert tokenizer.eos_token == "<|im_end|>"


def test_model_files_are_complete_and_small():
    config = json.loads((MODEL / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    generation = json.loads((MODEL / "generation_config.json").read_text())
    assert generation["eos_token_id"] == config["eos_token_id"]
    assert sum(f.stat().st_size for f in MODEL.iterdir()) < 20 * 1024 * 1024
    assert (MODEL / "MODEL_CARD.md").exists() and (MODEL / "budget_curve.png").exists()
