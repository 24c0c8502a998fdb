"""Train models/tiny-reasoner from scratch on synthetic arithmetic (deterministic for a seed).

python -m training.train --out models/tiny-reasoner

Two stages. `columns` is the first generation's recipe, unchanged: column work alone, short
chains, so the model sees about 165,000 problems and learns to read every phrasing of a prompt
and to do the columns. `checks` then teaches, from those weights, what the second generation
adds: the check, the redo, and the expert tier. Trained from scratch on the
checked chains alone (a chain 2-5x longer, so 25,000 problems in the same time), a model misread
its prompts (`7*15` worked as `17*7`) and fell to 35-60% on the tiers the first generation had
at 99-100%. `--stages checks --init DIR` runs the second stage from a first stage's weights.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

from training.data import Example, example
from training.tokenizer import CONTEXT, IM_END, PAD, build_tokenizer, save_tokenizer

CUT_RATE = 0.3  # chains ended early by a forced </think>
NO_THINK_RATE = 0.05  # enable_thinking=False


@dataclass(frozen=True)
class Stage:
    tier_weights: dict[str, float]
    checks: bool  # chains carry checks and redos
    plain_share: float  # of those, chains that are still the column work alone
    steps: int
    lr: float
    warmup: int
    context: int


STAGES = {
    # Hard products train the sub-skills of every other tier (single-digit products, long sums).
    # Sums still get the largest share of examples because batches hold a fixed number of tokens
    # and a sum is a third as long as a hard product: at 0.2 they got too few tokens and slipped
    # copying and aligning digits (97.6%). 74 minutes on 2 cores.
    "columns": Stage(
        {"easy": 0.35, "medium": 0.15, "standard": 0.2, "hard": 0.25, "small_talk": 0.05},
        checks=False,
        plain_share=1.0,
        steps=3000,
        lr=2e-3,
        warmup=200,
        context=1024,
    ),
    # A gentler peak, and some chains still the column work alone, so the first stage's reading
    # and columns survive: at peak 1e-3 with every chain checked, a model read `799 x 99` as
    # 799*999. The expert tier is new and its chains are the longest, so it gets the largest
    # share of tokens. About 35 minutes.
    "checks": Stage(
        {"easy": 0.25, "medium": 0.1, "standard": 0.15, "hard": 0.2, "expert": 0.25, "small_talk": 0.05},
        checks=True,
        plain_share=0.2,
        steps=1000,
        lr=5e-4,
        warmup=100,
        context=CONTEXT,
    ),
}


def model_config(tokenizer, hidden: int, layers: int, heads: int, intermediate: int, context: int) -> LlamaConfig:
    return LlamaConfig(
        vocab_size=128,  # room beyond the 106 tokens, a multiple of 64
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        intermediate_size=intermediate,
        max_position_embeddings=context,
        rope_theta=10000.0,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.convert_tokens_to_ids(PAD),
        eos_token_id=tokenizer.convert_tokens_to_ids(IM_END),
        pad_token_id=tokenizer.convert_tokens_to_ids(PAD),
    )


def encode(tokenizer, ex: Example) -> tuple[list[int], list[int]]:
    """Token ids and labels: loss only on the completion pieces the model should produce."""
    ids = tokenizer.encode(ex.prompt, add_special_tokens=False)
    labels = [-100] * len(ids)
    for text, trained in ex.completion:
        piece = tokenizer.encode(text, add_special_tokens=False)
        ids += piece
        labels += piece if trained else [-100] * len(piece)
    return ids, labels


def batches(tokenizer, rng: random.Random, stage: Stage, tokens_per_batch: int, pool: int = 4096):
    """Endless batches of similar-length examples, so little compute goes to padding."""
    while True:
        drawn = (
            example(rng, stage.tier_weights, CUT_RATE, NO_THINK_RATE, stage.checks, stage.plain_share)
            for _ in range(pool)
        )
        encoded = [encode(tokenizer, ex) for ex in drawn]
        encoded.sort(key=lambda pair: len(pair[0]))
        chunk: list[tuple[list[int], list[int]]] = []
        groups = []
        for pair in encoded:
            if chunk and len(pair[0]) * (len(chunk) + 1) > tokens_per_batch:
                groups.append(chunk)
                chunk = []
            chunk.append(pair)
        groups.append(chunk)
        rng.shuffle(groups)
        for group in groups:
            width = max(len(ids) for ids, _ in group)
            pad = tokenizer.pad_token_id
            ids = torch.tensor([i + [pad] * (width - len(i)) for i, _ in group])
            labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in group])
            yield ids, labels, (ids != pad).long()


def learning_rate(step: int, steps: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def run_stage(model, tokenizer, name: str, args: argparse.Namespace, out: Path, log: dict) -> None:
    stage = STAGES[name]
    steps = args.steps or stage.steps
    # Each stage draws from its own seed, so a second stage run from saved first-stage weights
    # sees exactly the data it would have seen in one run of both.
    rng = random.Random(args.seed + list(STAGES).index(name))
    model.config.max_position_embeddings = stage.context
    optimizer = torch.optim.AdamW(model.parameters(), lr=stage.lr, betas=(0.9, 0.98), weight_decay=0.01)
    started, seen = time.monotonic(), 0
    stream = batches(tokenizer, rng, stage, args.tokens_per_batch)
    model.train()
    for step in range(steps):
        ids, labels, mask = next(stream)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, steps, stage.lr, stage.warmup)
        # float32: bf16 autocast was 30x slower on this AVX2-only CPU (no native bf16 matmul)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        seen += int(mask.sum())
        log[name] = {"steps": steps, "trained_tokens": seen, "training_seconds": round(time.monotonic() - started)}
        if step and step % args.save_every == 0:  # weights to look at while it runs (not resumable)
            save(model, tokenizer, out, args, log)
        if step % 50 == 0 or step == steps - 1:
            elapsed = time.monotonic() - started
            print(
                f"{name} step {step} loss {loss.item():.4f} tokens {seen} {seen / elapsed:.0f} tok/s {elapsed:.0f}s",
                flush=True,
            )
    save(model, tokenizer, out, args, log)


def train(args: argparse.Namespace) -> None:
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    tokenizer = build_tokenizer()
    if args.init:
        model = LlamaForCausalLM.from_pretrained(args.init, dtype=torch.float32)
    else:
        config = STAGES[args.stages[0]]
        model = LlamaForCausalLM(
            model_config(tokenizer, args.hidden, args.layers, args.heads, args.intermediate, config.context)
        )
    print(f"parameters: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M", flush=True)
    log: dict = {}
    for name in args.stages:
        run_stage(model, tokenizer, name, args, Path(args.out), log)


def save(model, tokenizer, out: Path, args, log: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out), safe_serialization=True)
    save_tokenizer(tokenizer, out)
    GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.pad_token_id
    ).save_pretrained(str(out))
    recipe = {
        **{key: value for key, value in vars(args).items() if key != "steps"},  # each stage says its own
        "parameters": sum(p.numel() for p in model.parameters()),
        "stages": {name: {**vars(STAGES[name]), **done} for name, done in log.items()},
    }
    (out / "training_recipe.json").write_text(json.dumps(recipe, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="models/tiny-reasoner")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--stages", nargs="+", choices=list(STAGES), default=list(STAGES))
    parser.add_argument("--init", help="start from these weights (a first stage's) instead of from scratch")
    parser.add_argument("--steps", type=int, default=0, help="override each stage's steps (for a quick try)")
    parser.add_argument("--tokens-per-batch", type=int, default=8192)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--intermediate", type=int, default=768)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--save-every", type=int, default=250)
    train(parser.parse_args())


if __name__ == "__main__":
    main()
