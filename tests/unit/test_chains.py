"""The training chains: the first stage writes the first generation's chain unchanged, and
every slip the second stage injects is caught by its check and repaired before the answer."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from training.chains import DIFFER, OK, SAME, WRONG, Plan, chain_for
from training.data import TIERS, Problem, first_generation, plan, sample_problem

# The model card's example: the first generation's chain, which the first stage still trains.
CARD_EXAMPLE = """347*29
~300*30=9000
347*20
7*2=14,4
4*2+1=9,94
3*2=6,694
=6940
347*9
7*9=63,3
4*9+6=42,23
3*9+4=31,3123
=3123
6940+3123
0+3=3,3
4+2=6,63
9+1=10,063
6+3+1=10,0063
0+0+1=1,10063
=10063"""


def test_the_first_stage_writes_the_first_generation_chain() -> None:
    assert first_generation(Problem(29, 347, "*", "standard")).text == CARD_EXAMPLE
    # A sum writes its operands aligned before the estimate, as the first generation did.
    assert first_generation(Problem(4821, 77, "+", "easy")).text.split("\n")[:2] == ["4821+0077", "~5000+80=5080"]


def test_a_clean_chain_checks_once_and_passes() -> None:
    text = chain_for(347, 29, "*").text
    assert text.startswith(CARD_EXAMPLE + "\ncheck 347*29\n")
    assert text.count(OK) == 1 and WRONG not in text


def _verdicts(text: str) -> list[tuple[int, str]]:
    """Each computation's result (its `=N` line) and how it was judged: ok, wrong, same or differ."""
    lines = text.split("\n")
    results = [i for i, line in enumerate(lines) if line.startswith("=") and lines[i + 1 : i + 2] != [""]]
    judged = []
    for i, line in enumerate(lines):
        verdict = next((v for v in (OK, WRONG, SAME, DIFFER) if v in line and not line.startswith("check")), None)
        if verdict:
            result = int(next(lines[j] for j in reversed(results) if j < i)[1:])
            judged.append((result, verdict.strip()))
    return judged


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32), tier=st.sampled_from(TIERS))
def test_every_slip_is_caught_and_the_chain_ends_on_the_true_value(seed: int, tier: str) -> None:
    rng = random.Random(seed)
    problem = sample_problem(rng, tier, zero_boost=0.25)
    chain = chain_for(problem.a, problem.b, problem.op, rng, plan(rng, tier))
    judged = _verdicts(chain.text)
    # A result is verified (ok, or the same as the one before) only when it is true; a wrong
    # verdict on a true result is a slipped check, which the redo's agreement overrules.
    assert all(result == problem.value for result, verdict in judged if verdict in ("ok", "same"))
    assert judged[-1][1] in ("ok", "same")
    # A slipped character is never trained: the model is not taught to slip.
    slipped = [piece for piece, trained in chain.pieces if not trained]
    assert len(slipped) == sum(verdict == "wrong" for _, verdict in judged)
    # Every redo says how its result compares with the one before it, which the chain restated.
    lines = chain.text.split("\n")
    for i, line in enumerate(lines):
        if line.endswith((SAME, DIFFER)):
            now, before = line.rsplit(" ", 1)[0].split(" vs ")
            assert lines[i - 1] == f"={now}" and (now == before) == line.endswith(SAME)


def test_a_plan_with_more_checks_checks_its_verified_result_again() -> None:
    text = chain_for(347, 829, "*", plan=Plan(extra_checks=2)).text
    assert text.count(OK + " 287663") == 3 and "redo" not in text
    assert text.count("check 347*829") == 3


def test_a_slipped_check_fails_a_right_result_and_the_redo_agrees() -> None:
    text = chain_for(48, 5, "+", random.Random(1), Plan(check_slips=(True,))).text
    assert _verdicts(text) == [(53, "wrong"), (53, "same")]
    assert "1=8 wrong 53\nredo 48+05" in text
