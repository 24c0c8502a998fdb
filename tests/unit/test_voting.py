"""Answer extraction, majority votes with confidence tie-breaks, the stopping rule."""

import pytest

from reasoning.search.voting import Ballot, final_number, leader_probability, settled, tally


@pytest.mark.parametrize(
    ("answer", "key"),
    [
        ("The answer is 10063.", "10063"),
        ("The answer is 10,063.", "10063"),
        ("It is -42", "-42"),
        ("about 3.50 dollars", "3.5"),
        ("2.0", "2"),
        ("First 12, then 34: so 46.", "46"),
        ("I can only do arithmetic.\nSorry!", "sorry"),
        ("  Yes   IT   is  ", "yes it is"),
        ("", None),
    ],
)
def test_final_number_or_final_line(answer, key):
    assert final_number(answer) == key


def test_majority_wins():
    ballots = [Ballot("The answer is 5.", -0.1), Ballot("The answer is 6.", -0.01), Ballot("5", -0.3)]
    vote = tally(ballots)
    assert vote.counts == {"5": 2, "6": 1}
    assert vote.winner == 0  # the more confident of the two "5" chains


def test_ties_break_toward_higher_mean_log_probability():
    ballots = [Ballot("The answer is 5.", -0.5), Ballot("The answer is 6.", -0.2)]
    assert tally(ballots).winner == 1
    ballots = [Ballot("The answer is 5.", -0.1), Ballot("The answer is 6.", -0.2)]
    assert tally(ballots).winner == 0


def test_no_extractable_answer_takes_the_most_confident_chain():
    assert tally([Ballot("", -1.0), Ballot("", -0.5)]).winner == 1


@pytest.mark.parametrize(
    ("counts", "probability"),
    [
        ({"a": 1}, 0.75),
        ({"a": 2}, 0.875),
        ({"a": 3}, 0.9375),
        ({"a": 4}, 0.96875),
        ({"a": 1, "b": 1}, 0.5),
        ({"a": 3, "b": 1}, 0.8125),
        ({}, 0.0),
    ],
)
def test_leader_probability_is_the_beta_tail(counts, probability):
    assert leader_probability(counts) == pytest.approx(probability)


def test_settled_needs_more_votes_when_they_disagree():
    assert settled({"a": 3}, 0.9) and not settled({"a": 3, "b": 1}, 0.9)
    assert not settled({"a": 2}, 0.9)
