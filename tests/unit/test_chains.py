"""The training chains: the first stage writes the first generation's chain unchanged, and
every slip the second stage injects is caught by its check and repaired before the answer."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from training.chains import OK, SAME, WRONG, Plan, chain_for
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
    """Each computation's result (its `=N` line) and how it was judged: ok, wrong or same."""
    lines = text.split("\n")
    results = [i for i, line in enumerate(lines) if line.startswith("=") and lines[i + 1 : i + 2] != [""]]
    judged = []
    for i, line in enumerate(lines):
        if line.startswith(SAME) or OK in line or line.endswith(WRONG):
            result = int(next(lines[j] for j in reversed(results) if j < i)[1:])
            judged.append((result, "same" if line.startswith(SAME) else "ok" if OK in line else "wrong"))
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
    assert all(result == problem.value for result, verdict in judged if verdict != "wrong")
    assert judged[-1] != (problem.value, "wrong") and judged[-1][1] in ("ok", "same")
    # A slipped character is never trained: the model is not taught to slip.
    slipped = [piece for piece, trained in chain.pieces if not trained]
    assert len(slipped) == sum(verdict == "wrong" for _, verdict in judged)


def test_a_plan_with_more_checks_verifies_again_by_the_other_route_where_it_is_known() -> None:
    text = chain_for(347, 829, "*", plan=Plan(extra_checks=2)).text
    assert text.count(OK) == 1 and text.count(f"\n{SAME} 287663") == 2
    assert "redo 829*347" in text and text.count("redo 347*829") == 1
    # Swapped, 347*29 would be worked as 29*300 + 29*40 + 29*7: redone as first done instead.
    assert chain_for(347, 29, "*", plan=Plan(extra_checks=1)).text.count("redo 347*29") == 1


def test_a_slipped_check_fails_a_right_result_and_the_redo_agrees() -> None:
    text = chain_for(48, 5, "+", random.Random(1), Plan(check_slips=(True,))).text
    assert _verdicts(text) == [(53, "wrong"), (53, "same")]
