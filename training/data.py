"""Synthetic, verifiable arithmetic problems with step-by-step column work.

Every example is generated on the fly from a seed, so a run is reproducible and
evaluation can draw held-out problems from a fresh seed. The reasoning is one
small step per line, so its length grows with the problem's difficulty:

    347*29                  the problem, larger factor first
    ~300*30=9000            an estimate from one significant digit of each number: when a
                            budget cuts the work short, the answer can still be close
    347*20                  one block per non-zero digit of the multiplier, the largest
    7*2=14,4                  place first; one line per column: the step, then the digits
    4*2+1=9,94                so far
    3*2=6,694
    =6940                   the block's value, shifted by its digit's place
    347*9
    ...
    =3123
    6940+3123               partial products are added into a running total, so a chain
    0+3=3,3                 cut short already holds the largest of them; operands of
                            different lengths are written aligned (65040+00813)
    ...
    0+0+1=1,10063
    =10063
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

TIERS = ("easy", "medium", "standard", "hard")
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


def _number(rng: random.Random, max_digits: int, zero_boost: float) -> int:
    """Length uniform in 1..max_digits, then uniform; zero_boost makes zero digits likelier.

    Zero digits (multipliers like 40 or 307) are rare under uniform sampling and were the
    first thing a small model got wrong, so training asks for more of them.
    """
    length = rng.randint(1, max_digits)
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


def _add_lines(x: int, y: int) -> list[str]:
    # Operands written aligned (65040+00813): a chain cut mid-sum holds both in full, column
    # for column, and the answer forced from it no longer drops a digit of the longer one.
    width = max(len(str(x)), len(str(y)))
    xs, ys = str(x).zfill(width), str(y).zfill(width)
    lines, digits, carry = [f"{xs}+{ys}"], "", 0
    for dx, dy in zip(map(int, reversed(xs)), map(int, reversed(ys)), strict=True):
        total = dx + dy + carry
        digits = str(total % 10) + digits
        lines.append(f"{dx}+{dy}{'+1' if carry else ''}={total},{digits}")
        carry = total // 10
    if carry:
        digits = "1" + digits
        lines.append(f"0+0+1=1,{digits}")
    lines.append(f"={x + y}")
    return lines


def _times_digit_lines(x: int, digit: int, place: int) -> list[str]:
    lines, digits, carry = [f"{x}*{digit}{'0' * place}"], "", 0
    xs = str(x)[::-1]
    for i, ch in enumerate(xs):
        product = int(ch) * digit + carry
        last = i == len(xs) - 1
        digits = (str(product) if last else str(product % 10)) + digits
        lines.append(f"{ch}*{digit}{f'+{carry}' if carry else ''}={product},{digits}")
        carry = product // 10
    lines.append(f"={x * digit * 10**place}")
    return lines


def _leading(n: int) -> int:
    """n rounded to one significant digit."""
    scale = 10 ** (len(str(n)) - 1)
    return (n + scale // 2) // scale * scale


def estimate_line(x: int, y: int, op: str) -> str:
    ex, ey = _leading(x), _leading(y)
    return f"~{ex}{op}{ey}={ex + ey if op == '+' else ex * ey}"


def reasoning_lines(problem: Problem) -> list[str]:
    """The step-by-step work, one small step per line."""
    if problem.op == "+":
        lines = _add_lines(problem.a, problem.b)
        return [lines[0], estimate_line(problem.a, problem.b, "+"), *lines[1:]]
    big, small = sorted((problem.a, problem.b), key=lambda n: (len(str(n)), n == problem.a), reverse=True)
    lines = [f"{big}*{small}", estimate_line(big, small, "*")]
    if small == 0:
        return [*lines, "=0"]
    total: int | None = None
    # Largest block first, so a chain cut short already holds the biggest partial products
    # and the answer forced from it lands near the true value.
    digits = str(small)
    for place, ch in zip(range(len(digits) - 1, -1, -1), digits, strict=True):
        if ch == "0":
            continue
        lines += _times_digit_lines(big, int(ch), place)
        partial = big * int(ch) * 10**place
        if total is not None:
            lines += _add_lines(total, partial)
            total += partial
        else:
            total = partial
    return lines


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


def example(rng: random.Random, tier_weights: dict[str, float], cut_rate: float, no_think_rate: float) -> Example:
    """One training example: full chains, chains cut short, no-think answers, or small talk."""
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
    reasoning = "\n".join(reasoning_lines(problem))
    if roll < no_think_rate + cut_rate:
        # The engine forces THINK_CLOSE when a budget runs out, at any point, even mid-line:
        # the model must not learn to emit it there, only to answer after it.
        cut = rng.randint(0, len(reasoning) - 1)
        return Example(render_prompt(messages), [(reasoning[:cut], True), (THINK_CLOSE, False), (final, True)])
    return Example(render_prompt(messages), [(reasoning + THINK_CLOSE + final, True)])
