"""The training chains: the first stage writes the first generation's chain unchanged, and
every slip the second stage injects is caught by its check and repaired before the answer."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from training.chains import OK, WRONG, Plan, chain_for
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


def _results(text: str) -> list[int]:
    """The result each computation ended on: the `=N` line before each check."""
    lines = text.split("\n")
    return [int(lines[i - 1][1:]) for i, line in enumerate(lines) if line.startswith("check ")]


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32), tier=st.sampled_from(TIERS))
def test_every_injected_slip_is_caught_and_the_chain_ends_on_the_true_value(seed: int, tier: str) -> None:
    rng = random.Random(seed)
    problem = sample_problem(rng, tier, zero_boost=0.25)
    chain = chain_for(problem.a, problem.b, problem.op, rng, plan(rng, tier))
    text = chain.text
    verdicts = [line.endswith(OK) for line in text.split("\n") if line.endswith((OK, WRONG))]
    results = _results(text)
    assert len(verdicts) == len(results)
    for result, passed in zip(results, verdicts, strict=True):
        assert passed == (result == problem.value)  # the check sees every slip, and only slips
    assert verdicts[-1]
    # A slipped character is never trained: the model is not taught to slip.
    slipped = [piece for piece, trained in chain.pieces if not trained]
    assert len(slipped) == sum(not v for v in verdicts)


def test_a_plan_with_more_checks_verifies_again_by_the_other_route() -> None:
    text = chain_for(347, 29, "*", plan=Plan(extra_checks=2)).text
    assert text.count(OK) == 3 and "redo 29*347" in text and text.count("redo 347*29") == 1
