"""Train models/tiny-reasoner from scratch on synthetic arithmetic (deterministic for a seed).

python -m training.train --out models/tiny-reasoner
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import torch
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

from training.data import Example, example
from training.tokenizer import IM_END, PAD, build_tokenizer, save_tokenizer

# Hard products are where test-time search must earn its keep, and they train the
# sub-skills of every other tier (single-digit products, long sums). Sums still get the
# largest share of examples because batches hold a fixed number of tokens and a sum is a
# third as long as a hard product: at 0.2 they got too few tokens and slipped copying and
# aligning digits (97.6%).
TIER_WEIGHTS = {"easy": 0.35, "medium": 0.15, "standard": 0.2, "hard": 0.25, "small_talk": 0.05}
CUT_RATE = 0.3  # chains ended early by a forced </think>
NO_THINK_RATE = 0.05  # enable_thinking=False


def model_config(tokenizer, hidden: int, layers: int, heads: int, intermediate: int) -> LlamaConfig:
    return LlamaConfig(
        vocab_size=128,  # room beyond the 106 tokens, a multiple of 64
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        intermediate_size=intermediate,
        max_position_embeddings=1024,
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


def batches(tokenizer, rng: random.Random, tokens_per_batch: int, pool: int = 4096):
    """Endless batches of similar-length examples, so little compute goes to padding."""
    while True:
        encoded = [encode(tokenizer, example(rng, TIER_WEIGHTS, CUT_RATE, NO_THINK_RATE)) for _ in range(pool)]
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


def learning_rate(step: int, steps: int, peak: float, warmup: int = 200) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def train(args: argparse.Namespace) -> None:
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    tokenizer = build_tokenizer()
    model = LlamaForCausalLM(model_config(tokenizer, args.hidden, args.layers, args.heads, args.intermediate))
    params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {params / 1e6:.2f}M", flush=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), weight_decay=0.01)
    started, seen = time.monotonic(), 0
    stream = batches(tokenizer, rng, args.tokens_per_batch)
    model.train()
    for step in range(args.steps):
        ids, labels, mask = next(stream)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, args.steps, args.lr)
        # float32: bf16 autocast was 30x slower on this AVX2-only CPU (no native bf16 matmul)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        seen += int(mask.sum())
        if step % 50 == 0 or step == args.steps - 1:
            elapsed = time.monotonic() - started
            print(
                f"step {step} loss {loss.item():.4f} tokens {seen} {seen / elapsed:.0f} tok/s {elapsed:.0f}s",
                flush=True,
            )
    save(model, tokenizer, Path(args.out), args, params, seen, time.monotonic() - started)


def save(model, tokenizer, out: Path, args, params: int, seen: int, seconds: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out), safe_serialization=True)
    save_tokenizer(tokenizer, out)
    GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.pad_token_id
    ).save_pretrained(str(out))
    recipe = {**vars(args), "parameters": params, "trained_tokens": seen, "training_seconds": round(seconds)}
    (out / "training_recipe.json").write_text(json.dumps(recipe, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="models/tiny-reasoner")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--tokens-per-batch", type=int, default=8192)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--intermediate", type=int, default=768)
    parser.add_argument("--threads", type=int, default=2)
    train(parser.parse_args())


if __name__ == "__main__":
    main()
