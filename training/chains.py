"""The reasoning chain of one problem: column work, a check by casting out nines, and repair.

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
    ...                     different lengths are written aligned (65040+00813)
    0+0+1=1,10063
    =10063                  the result
    check 347*29            verified by an independent route, casting out nines: each
    347:3,3+4=7,7+7=14>5      operand's digits summed mod 9, one digit per step (a sum of
    29:2,2+9=11>2             nine or more written, then reduced)
    5*2=10:1,1+0=1            the operands' residues combined as the problem combines them
    10063:1,1+0=1,1+0=1,...   the result's residue
    1=1 ok 10063            equal: done, the result restated. Unequal ("1=4 wrong 10053"): the
                            work is redone by the same route and compared with the result before
    redo 347*29               it ("10063 vs 10053 differ"), then checked; or, equal to it
    ...                       ("10063 vs 10063 same"), verified by agreeing

A slip (a wrong digit, a wrong carry, a bad copy) can be injected into any computation: the
slipped character is not trained, so the model never learns to slip, but everything after it
is. The work goes on from what was written, the check catches the slip (every injected slip
changes the result by a multiple of a power of ten that nine does not divide), and the redo
repairs it. A check can slip too (a bad copy of an operand): then the redo agrees with the
result it failed, and two equal computations verify it. After an "ok" a chain may also
check again, as reasoners that overthink do: when the server suppresses the end of thinking
(budget forcing), the model's next choice is another check, not noise.

Every redo writes its result beside the one before it and says whether they agree. A bare
"same 83700" after a redo was learnt as what follows a redo, not as a comparison: forced to
think longer, v2e's redos that dropped a block said "same" to a different verified result
and answered it (hard: 100% greedy, 92% at 1.5x the natural length).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

CHECK, REDO, OK, WRONG, SAME, DIFFER = "check ", "redo ", " ok", " wrong", " same", " differ"


@dataclass
class Chain:
    """The chain's text as (text, trained) pieces; a slipped character is the one untrained piece."""

    pieces: list[tuple[str, bool]] = field(default_factory=list)

    def add(self, text: str, trained: bool = True) -> None:
        if self.pieces and self.pieces[-1][1] == trained:
            self.pieces[-1] = (self.pieces[-1][0] + text, trained)
        else:
            self.pieces.append((text, trained))

    def line(self, *parts: str | tuple[str, bool]) -> None:
        if self.pieces:
            self.add("\n")
        for part in parts:
            self.add(*((part, True) if isinstance(part, str) else part))

    def extend(self, other: Chain) -> None:
        """`other`'s lines after this chain's."""
        if self.pieces and other.pieces:
            self.add("\n")
        for text, trained in other.pieces:
            self.add(text, trained)

    @property
    def text(self) -> str:
        return "".join(text for text, _ in self.pieces)


class Slip:
    """Writes one wrong digit at the `at`-th chance to slip; `at=None` never slips."""

    def __init__(self, rng: random.Random | None = None, at: int | None = None) -> None:
        self.rng, self.at, self.chances = rng, at, 0

    def digit(self, true: int, allow_zero: bool = True) -> tuple[str, bool]:
        """The digit written for `true`, and whether it is trained (a slip is not)."""
        chance, self.chances = self.chances, self.chances + 1
        if chance != self.at or self.rng is None:
            return str(true), True
        # Never off by 9 (0 for 9): casting out nines could not see it.
        wrong = [d for d in range(10) if d != true and abs(d - true) != 9 and (allow_zero or d)]
        return str(self.rng.choice(wrong)), False


def _add(chain: Chain, slip: Slip, x: int, y: int, estimate: str | None = None) -> int:
    """x+y in columns, operands aligned; returns the sum as written. A problem that is a sum
    writes its estimate right after the aligned operands, as the first generation did."""
    width = max(len(str(x)), len(str(y)))
    xs, ys = str(x).zfill(width), str(y).zfill(width)
    copied = [slip.digit(int(ch)) for ch in ys]  # a bad copy of the second operand
    chain.line(xs, "+", *copied)
    if estimate:
        chain.line(estimate)
    digits, carry = "", 0
    for i, (dx, (dy, _)) in enumerate(zip(map(int, reversed(xs)), reversed(copied), strict=True)):
        total = dx + int(dy) + carry
        tens, (unit, ok) = total // 10, slip.digit(total % 10, allow_zero=i < width - 1 or total >= 10)
        digits = unit + digits
        chain.line(f"{dx}+{dy}{'+1' if carry else ''}=", str(tens) if tens else "", (unit, ok), f",{digits}")
        carry = tens
    if carry:
        digits = "1" + digits
        chain.line(f"0+0+1=1,{digits}")
    chain.line(f"={int(digits)}")
    return int(digits)


def _times_digit(chain: Chain, slip: Slip, x: int, digit: int, place: int) -> int:
    """x times one digit of the multiplier at its place; returns the shifted block as written."""
    chain.line(f"{x}*{digit}{'0' * place}")
    digits, carry = "", 0
    xs = str(x)[::-1]
    for i, ch in enumerate(xs):
        product = int(ch) * digit + carry
        last = i == len(xs) - 1
        tens, (unit, ok) = product // 10, slip.digit(product % 10, allow_zero=not last or product >= 10)
        head = str(tens) if tens else ""
        digits = (head + unit if last else unit) + digits
        chain.line(f"{ch}*{digit}{f'+{carry}' if carry else ''}=", head, (unit, ok), f",{digits}")
        carry = tens
    value = int(digits) * 10**place
    chain.line(f"={value}")
    return value


def _multiply(chain: Chain, slip: Slip, big: int, small: int) -> int:
    if small == 0:
        chain.line("=0")
        return 0
    total: int | None = None
    # Largest block first, so a chain cut short already holds the biggest partial products
    # and the answer forced from it lands near the true value.
    digits = str(small)
    for place, ch in zip(range(len(digits) - 1, -1, -1), digits, strict=True):
        if ch == "0":
            continue
        partial = _times_digit(chain, slip, big, int(ch), place)
        total = partial if total is None else _add(chain, slip, total, partial)
    assert total is not None
    return total


def _leading(n: int) -> int:
    """n rounded to one significant digit."""
    scale = 10 ** (len(str(n)) - 1)
    return (n + scale // 2) // scale * scale


def estimate_line(x: int, y: int, op: str) -> str:
    ex, ey = _leading(x), _leading(y)
    return f"~{ex}{op}{ey}={ex + ey if op == '+' else ex * ey}"


def residue_steps(n: str) -> tuple[str, int]:
    """n's digits summed mod 9, one digit per step, each step written as the sum it is and,
    at nine or more, reduced: `8498` gives `8,8+4=12>3,3+9=12>3,3+8=11>2`. Steps written
    bare (`8,12>3,...`) slipped (`1,4,7,10>1`: 7+4 written as 10), and a slipped residue
    fails a right result."""
    steps, r = [], 0
    for i, ch in enumerate(n):
        total = r + int(ch)
        written = ch if i == 0 else f"{r}+{ch}={total}"
        r = total % 9
        steps.append(written if total < 9 else f"{written}>{r}")
    return ",".join(steps), r


def _residues(chain: Chain, n: str) -> int:
    steps, r = residue_steps(n)
    chain.line(f"{n}:{steps}")
    return r


def _operands(x: int, y: int, op: str) -> tuple[str, str]:
    """How a computation writes its operands: a sum's aligned to one width (`2588+0522`)."""
    if op == "*":
        return str(x), str(y)
    width = max(len(str(x)), len(str(y)))
    return str(x).zfill(width), str(y).zfill(width)


def _check(chain: Chain, slip: Slip, x: int, y: int, op: str, result: int) -> bool:
    """Casting out nines: the residues of x and y, combined, against the result's. The operands
    are written as the work wrote them, a copy of a line in view rather than of the prompt:
    copying `2588 + 522` from the prompt, a model wrote `check 258+522`. A bad copy of the
    second operand (`check 05+58` for 05+48, as models wrote) is the check's own slip: the
    residues follow what was written, and a right result fails."""
    xs, ys = _operands(x, y, op)
    copied = [slip.digit(int(ch), allow_zero=i > 0) for i, ch in enumerate(ys)]
    ys = "".join(digit for digit, _ in copied)
    chain.line(f"{CHECK}{xs}{op}", *copied)
    rx, ry = _residues(chain, xs), _residues(chain, ys)
    combined = rx + ry if op == "+" else rx * ry
    steps, expected = residue_steps(str(combined))
    chain.line(f"{rx}{op}{ry}={combined}:{steps}")
    rr = _residues(chain, str(result))
    passed = rr == expected
    # A verified result is restated on its verdict line: the answer copies it from the line
    # above, not from before the check (copied from there, 150788 was answered as 15078).
    chain.line(f"{expected}={rr}{OK if passed else WRONG} {result}")
    return passed


def _compute(chain: Chain, slip: Slip, x: int, y: int, op: str, estimate: str | None = None) -> int:
    return _add(chain, slip, x, y, estimate) if op == "+" else _multiply(chain, slip, x, y)


def _computation(
    chain: Chain, slip: Slip, x: int, y: int, op: str, estimate: str | None, previous: int | None, value: int
) -> int:
    """One computation, written into the chain; returns its result. A slip that would repeat
    the result before it (a one-digit multiplier has few places to slip) would "agree" with a
    wrong result, so that redo is drawn without one."""
    work = Chain()
    result = _compute(work, slip, x, y, op, estimate)
    if result == previous != value:
        work = Chain()
        result = _compute(work, Slip(), x, y, op, estimate)
    chain.extend(work)
    return result


def _count_chances(x: int, y: int, op: str) -> int:
    slip = Slip()
    _compute(Chain(), slip, x, y, op)
    return slip.chances


@dataclass(frozen=True)
class Plan:
    """How one chain goes: which computations and checks slip, and how often it verifies again
    after an ok."""

    slips: tuple[bool, ...] = ()  # per computation, in order: does it slip?
    check_slips: tuple[bool, ...] = ()  # per check, in order: does a right result's check slip?
    extra_checks: int = 0  # checks again after the first "ok"
    max_computations: int = 4
    checks: bool = True  # False: the first generation's chain, the column work alone


def operands(a: int, b: int, op: str) -> tuple[int, int]:
    """The first route's order: a product's longer factor first (the multiplier has fewer blocks)."""
    if op == "+":
        return a, b
    return tuple(sorted((a, b), key=lambda n: (len(str(n)), n == a), reverse=True))  # type: ignore[return-value]


def _slip(rng: random.Random | None, planned: tuple[bool, ...], index: int, chances: int) -> Slip:
    if rng is None or index >= len(planned) or not planned[index] or not chances:
        return Slip()
    return Slip(rng, rng.randrange(chances))


def chain_for(a: int, b: int, op: str, rng: random.Random | None = None, plan: Plan = Plan()) -> Chain:
    """The whole chain: first route, check, and redo until a result is verified (and checked
    `plan.extra_checks` more times after that); the result last verified is the answer. A
    result is verified by its check, or by a redo that comes to the same result: a check
    that slips fails a right result, and the redo then agrees with it. A redo copies the
    first route: swapped factors went astray (`310*278` redone as 310*200 + 310*70, a block
    dropped; a sum's operands realigned and miscopied; `3*445` worked as 3*400+3*40+3*5)."""
    x, y = operands(a, b, op)
    value = a * b if op == "*" else a + b
    chain = Chain()
    estimate: str | None = estimate_line(x, y, op)
    if op == "*":
        chain.line(f"{x}{op}{y}")
        chain.line(estimate)
        estimate = None
    passes, computations, checks, previous = 0, 0, 0, None
    while computations < plan.max_computations:
        if computations:
            chain.line(REDO + op.join(_operands(x, y, op)))
        # The last computation allowed never slips, so every chain ends on a verified result.
        last = computations + 1 == plan.max_computations
        slip = Slip() if last else _slip(rng, plan.slips, computations, _count_chances(x, y, op))
        result = _computation(chain, slip, x, y, op, None if computations else estimate, previous, value)
        right = result == value
        computations += 1
        if not plan.checks:
            break
        agrees = result == previous
        if previous is not None:
            chain.line(f"{result} vs {previous}{SAME if agrees else DIFFER}")
        previous = result
        # Only a right result's check slips, and only where the slip shows: a product's check
        # sees every change of its multiplier's residue only when the other factor's is prime to 9.
        visible = op == "+" or x % 3 != 0
        passed = agrees
        while True:
            if not passed:
                check_slip = (
                    _slip(rng, plan.check_slips, checks, len(str(y))) if right and visible and not last else Slip()
                )
                passed = _check(chain, check_slip, x, y, op, result)
                checks += 1
                if not passed:
                    break  # redo
            passes += 1
            if passes > plan.extra_checks:
                return chain
            passed = False  # verified, and checked again
    return chain


def reasoning_lines(a: int, b: int, op: str) -> list[str]:
    """The clean chain (no slip, no extra check), one step per line."""
    return chain_for(a, b, op).text.split("\n")
