"""Synthetic, verifiable arithmetic problems, the prompts people type, and training examples.

Every example is generated on the fly from a seed, so a run is reproducible and evaluation
can draw held-out problems from a fresh seed. The reasoning itself (column work, a check by
casting out nines, repair by a redo) is written by `training.chains`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from training.chains import Chain, Plan, chain_for

TIERS = ("easy", "medium", "standard", "hard", "expert")
THINK_OPEN = "<think>\n"
THINK_CLOSE = "\n</think>\n"  # also the string the engine forces when a budget runs out
NO_THINK = "<think>\n\n</think>\n\n"  # what the chat template pre-fills with enable_thinking=False
ANSWER_PREFIX = "The answer is "
NOT_ARITHMETIC_REASONING = "not arithmetic"
NOT_ARITHMETIC_ANSWER = "I can only do arithmetic, like: What is 12 * 34?"


@dataclass(frozen=True)
class Problem:
    a: int
    b: int
    op: str  # "+" or "*"
    tier: str

    @property
    def value(self) -> int:
        return self.a + self.b if self.op == "+" else self.a * self.b


def _number(rng: random.Random, max_digits: int, zero_boost: float, min_digits: int = 1) -> int:
    """Length uniform in min_digits..max_digits, then uniform; zero_boost makes zero digits likelier.

    Zero digits (multipliers like 40 or 307) are rare under uniform sampling and were the
    first thing a small model got wrong, so training asks for more of them.
    """
    length = rng.randint(min_digits, max_digits)
    digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(length - 1)]
    for i in range(1, length):
        if rng.random() < zero_boost:
            digits[i] = 0
    return int("".join(map(str, digits)))


def sample_problem(rng: random.Random, tier: str, zero_boost: float = 0.0) -> Problem:
    if tier == "easy":
        return Problem(_number(rng, 4, zero_boost), _number(rng, 4, zero_boost), "+", tier)
    if tier == "medium":
        pair = [_number(rng, 3, zero_boost), rng.randint(0, 9)]
    elif tier == "standard":
        pair = [_number(rng, 3, zero_boost), rng.randint(10, 99)]
        if rng.random() < zero_boost:
            pair[1] = pair[1] // 10 * 10
    elif tier == "hard":
        pair = [rng.randint(100, 999), rng.randint(100, 999)]
        if rng.random() < zero_boost:
            digits = list(str(pair[1]))
            digits[rng.randint(1, 2)] = "0"
            pair[1] = int("".join(digits))
    elif tier == "expert":
        pair = [_number(rng, 4, zero_boost / 2, min_digits=4), _number(rng, 4, zero_boost / 2, min_digits=4)]
    else:
        raise ValueError(f"unknown tier {tier!r}")
    rng.shuffle(pair)
    return Problem(pair[0], pair[1], "*", tier)


_OPERATOR_WORDS = {"+": ("+", "+", "+", "plus"), "*": ("*", "*", "*", "x", "×", "times")}
_FRAMES = (
    "What is {q}?",
    "What is {q}?",
    "What is {q}?",
    "what is {q}?",
    "What is {q}",
    "What's {q}?",
    "{q}",
    "{q}?",
    "{q} =",
    "Compute {q}.",
    "Calculate {q}",
    "How much is {q}?",
    "Please compute {q}",
    "what is  {q} ?",
)


def question(rng: random.Random, problem: Problem) -> str:
    """The problem typed as a person would, with the small variations people make."""
    word = rng.choice(_OPERATOR_WORDS[problem.op])
    if word.isalpha() or rng.random() < 0.7:
        expression = f"{problem.a} {word} {problem.b}"
    else:
        expression = f"{problem.a}{word}{problem.b}"
    return rng.choice(_FRAMES).format(q=expression)


def first_generation(problem: Problem) -> Chain:
    """The first generation's chain: the column work, no check."""
    return chain_for(problem.a, problem.b, problem.op, plan=Plan(checks=False))


def reasoning_lines(problem: Problem) -> list[str]:
    """The clean chain (no slip, no extra check), one step per line."""
    return chain_for(problem.a, problem.b, problem.op).text.split("\n")


def answer(value: int) -> str:
    return f"{ANSWER_PREFIX}{value}."


_ANSWER_RE = re.compile(r"^The answer is (-?\d+)\.$")


def parse_answer(text: str) -> int | None:
    """The number in a well-formed answer sentence, else None."""
    match = _ANSWER_RE.match(text.strip())
    return int(match.group(1)) if match else None


_SMALL_TALK_WORDS = (
    "the capital of France",
    "love",
    "your name",
    "the weather today",
    "a cat",
    "life",
    "Python",
    "the meaning of life",
    "a good book",
    "the time",
    "this",
    "the best pizza",
    "quantum physics",
    "2 apples and pears",
    "the square root",
    "a number",
    "the moon",
    "history",
    "music",
    "five",
)
_SMALL_TALK_FRAMES = (
    "What is {w}?",
    "Tell me about {w}.",
    "Who made {w}?",
    "hello",
    "Hi!",
    "Write a poem about {w}",
    "Can you help me with {w}?",
    "Why is {w} important?",
    "What is {n}?",
    "Explain {w}",
    "thanks",
    "{w}",
    "How do I cook {w}?",
    "What is {n} divided by {m}?",
    "Is {n} prime?",
    "Count to {n}",
)


def small_talk(rng: random.Random) -> str:
    """A message that is not one of the arithmetic problems the model can do."""
    frame = rng.choice(_SMALL_TALK_FRAMES)
    return frame.format(w=rng.choice(_SMALL_TALK_WORDS), n=rng.randint(0, 999), m=rng.randint(1, 99))


def render_prompt(messages: list[dict[str, str]], enable_thinking: bool = True) -> str:
    """ChatML, the assistant turn opened with <think>; mirrors the tokenizer's chat template."""
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return text + "<|im_start|>assistant\n" + (THINK_OPEN if enable_thinking else NO_THINK)


@dataclass(frozen=True)
class Example:
    """A prompt and the completion the model should learn; `forced` marks engine-forced text."""

    prompt: str
    completion: list[tuple[str, bool]]  # (text, trained) pieces, in order


_SYSTEM_PROMPTS = ("You are a helpful assistant.", "Answer briefly.", "You are a careful calculator.")


def _context(rng: random.Random) -> list[dict[str, str]]:
    """Sometimes a system prompt or an earlier turn, so neither confuses the model."""
    messages = []
    if rng.random() < 0.1:
        messages.append({"role": "system", "content": rng.choice(_SYSTEM_PROMPTS)})
    if rng.random() < 0.1:
        earlier = sample_problem(rng, rng.choice(TIERS[:2]))
        messages += [
            {"role": "user", "content": question(rng, earlier)},
            {"role": "assistant", "content": answer(earlier.value)},
        ]
    return messages


SLIP_RATE = 0.3  # chains whose first computation slips, so the check has something to catch
REDO_SLIP_RATE = 0.1  # a later computation slips too
# A right result's check slips (a bad copy of an operand) and fails it; the redo then comes to
# the same result, and the chain trusts two equal computations. Models' own checks slipped so
# (v2c: 8 of 200 easy chains failed a check, 5 of them on a right result, and only 3 of the 8
# ended right, the redo going astray).
CHECK_SLIP_RATE = 0.15
# After every "ok", 30% of chains check the result again, as reasoners that overthink do: the
# same share at every ok, so the end of thinking stays the likelier choice each time (greedy
# stops) and another check the next one (when the server suppresses the end of thinking, budget
# forcing, the model checks again instead of babbling). At 50% after the second ok (v2g),
# greedy chains checked again and again (easy: 534 reasoning tokens, not 173) until a copy
# drifted. Verifying again by a redo went astray when forced: swapped routes dropped or added
# blocks (v2e: hard 100% greedy, 92% at 1.5x the natural length), and same-route redos compared
# equal results as "differ" (v2f: expert 81% greedy, 58% at 1.5x).
CHECK_AGAIN_RATE = 0.3
MAX_EXTRA_CHECKS = 8


def plan(rng: random.Random, tier: str) -> Plan:
    """How one training chain goes. Expert chains stop after four computations: their context."""
    slips = (rng.random() < SLIP_RATE, *(rng.random() < REDO_SLIP_RATE for _ in range(4)))
    check_slips = tuple(rng.random() < CHECK_SLIP_RATE for _ in range(5))
    extra = 0
    while extra < MAX_EXTRA_CHECKS and rng.random() < CHECK_AGAIN_RATE:
        extra += 1
    return Plan(slips, check_slips, extra, max_computations=4 if tier == "expert" else 5)


def example(
    rng: random.Random,
    tier_weights: dict[str, float],
    cut_rate: float,
    no_think_rate: float,
    checks: bool = True,
    plain_share: float = 0.0,
) -> Example:
    """One training example: full chains, chains cut short, no-think answers, or small talk.
    Without checks, the first generation's example: its column work alone, drawn from the same
    random stream as the first generation's recipe drew it. With checks, `plain_share` of the
    chains are still the column work alone."""
    tier = rng.choices(list(tier_weights), weights=list(tier_weights.values()))[0]
    messages = _context(rng)
    if tier == "small_talk":
        messages.append({"role": "user", "content": small_talk(rng)})
        return Example(
            render_prompt(messages),
            [(NOT_ARITHMETIC_REASONING + THINK_CLOSE + NOT_ARITHMETIC_ANSWER + "<|im_end|>", True)],
        )
    problem = sample_problem(rng, tier, zero_boost=0.25)
    messages.append({"role": "user", "content": question(rng, problem)})
    final = answer(problem.value) + "<|im_end|>"
    roll = rng.random()
    if roll < no_think_rate:
        return Example(render_prompt(messages, enable_thinking=False), [(final, True)])
    # Every chain ends on a result its check passed, and every injected slip is caught, so the
    # answer after a whole chain is the true value.
    checked = checks and rng.random() >= plain_share
    chain = chain_for(problem.a, problem.b, problem.op, rng, plan(rng, tier)) if checked else first_generation(problem)
    pieces = chain.pieces
    if roll < no_think_rate + cut_rate:
        # The engine forces THINK_CLOSE when a budget runs out, at any point, even mid-line:
        # the model must not learn to emit it there, only to answer after it.
        return Example(render_prompt(messages), [*_cut(pieces, rng), (THINK_CLOSE, False), (final, True)])
    return Example(render_prompt(messages), [*pieces, (THINK_CLOSE + final, True)])


def _cut(pieces: list[tuple[str, bool]], rng: random.Random) -> list[tuple[str, bool]]:
    """The pieces up to a random character (including before the first)."""
    cut = rng.randint(0, sum(len(text) for text, _ in pieces) - 1)
    kept: list[tuple[str, bool]] = []
    for text, trained in pieces:
        if cut <= 0:
            break
        kept.append((text[:cut], trained))
        cut -= len(text)
    return kept
