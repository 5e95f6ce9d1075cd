"""CLIN-01: every measure scored exactly as published, on every total and boundary."""

import itertools

import pytest

from aftercare.selfreports.instruments import GAD7
from aftercare.selfreports.instruments import IncompleteAnswers
from aftercare.selfreports.instruments import INSTRUMENTS
from aftercare.selfreports.instruments import PHQ9


def score(instrument, answers, extra=None):
    return instrument.score(answers, extra)


# Published severity bands (Kroenke 2001; Spitzer 2006), written out in full.
PHQ9_BANDS = {**dict.fromkeys(range(0, 5), "minimal"), **dict.fromkeys(range(5, 10), "mild"),
              **dict.fromkeys(range(10, 15), "moderate"), **dict.fromkeys(range(15, 20), "moderately severe"),
              **dict.fromkeys(range(20, 28), "severe")}  # fmt: skip
GAD7_BANDS = {**dict.fromkeys(range(0, 5), "minimal"), **dict.fromkeys(range(5, 10), "mild"),
              **dict.fromkeys(range(10, 15), "moderate"), **dict.fromkeys(range(15, 22), "severe")}  # fmt: skip


def answers_for(total: int, items: int) -> list[int]:
    """Spread a total over the items, 0-3 each, filling from the first item."""
    answers = []
    for _ in range(items):
        answers.append(min(3, total))
        total -= answers[-1]
    assert total == 0
    return answers


@pytest.mark.parametrize("total", range(0, 28))
def test_every_phq9_total_and_band(total):
    result = score(PHQ9, answers_for(total, 9))
    assert (result.total, result.band) == (total, PHQ9_BANDS[total])


@pytest.mark.parametrize("total", range(0, 22))
def test_every_gad7_total_and_band(total):
    result = score(GAD7, answers_for(total, 7))
    assert (result.total, result.band) == (total, GAD7_BANDS[total])


@pytest.mark.parametrize(("below", "at"), [(4, 5), (9, 10), (14, 15), (19, 20)])
def test_phq9_band_boundaries(below, at):
    assert score(PHQ9, answers_for(below, 9)).band != score(PHQ9, answers_for(at, 9)).band


def test_every_phq9_answer_pattern_on_two_items_sums_exactly():
    for a, b in itertools.product(range(4), repeat=2):
        assert score(PHQ9, [a, b, 0, 0, 0, 0, 0, 0, 0]).total == a + b


@pytest.mark.parametrize("difficulty", [None, 0, 1, 2, 3])
def test_phq9_item_10_is_never_summed(difficulty):
    assert score(PHQ9, [1] * 9, difficulty).total == 9


@pytest.mark.parametrize("item9", [0, 1, 2, 3])
def test_item_9_is_reported_as_answered(item9):
    assert score(PHQ9, [0] * 8 + [item9]).safety_answer == item9
    assert score(GAD7, [item9] * 7).safety_answer is None


@pytest.mark.parametrize(
    ("instrument", "answers"),
    [
        (PHQ9, []),
        (PHQ9, [0] * 8),  # item 9 missing: never guessed
        (PHQ9, [0] * 10),
        (PHQ9, [0] * 8 + [None]),
        (PHQ9, [0] * 8 + [4]),
        (PHQ9, [0] * 8 + [-1]),
        (PHQ9, [0] * 8 + ["1"]),
        (PHQ9, [0] * 8 + [1.0]),
        (PHQ9, [0] * 8 + [True]),
        (GAD7, [0] * 6),
        (GAD7, [0] * 9),
        (GAD7, "0000000"),
        (GAD7, None),
    ],
)
def test_incomplete_or_out_of_range_questionnaires_are_refused(instrument, answers):
    with pytest.raises(IncompleteAnswers):
        score(instrument, answers)


@pytest.mark.parametrize("difficulty", [4, -1, "2", True])
def test_out_of_range_difficulty_is_refused(difficulty):
    with pytest.raises(IncompleteAnswers):
        score(PHQ9, [0] * 9, difficulty)


@pytest.mark.parametrize(
    ("baseline", "current", "responded"),
    [(20, 10, True), (20, 11, False), (21, 10, True), (21, 11, False), (10, 5, True), (9, 4, False), (0, 0, False)],
)
def test_phq9_response_is_a_drop_of_at_least_half_from_10_or_more(baseline, current, responded):
    assert PHQ9.outcomes.response(baseline, current) is responded


@pytest.mark.parametrize(
    ("baseline", "total", "remitted"), [(10, 0, True), (10, 4, True), (10, 5, False), (5, 4, True), (4, 2, False)]
)
def test_phq9_remission_is_below_5_from_5_or_more(baseline, total, remitted):
    assert PHQ9.outcomes.remission(baseline, total) is remitted


@pytest.mark.parametrize(
    ("previous", "current", "worse"),
    [(10, 15, True), (10, 14, False), (3, 27, True), (15, 10, False)],
)
def test_phq9_worsening_is_a_rise_of_5_or_more(previous, current, worse):
    assert PHQ9.change.meaningful(previous, current) is worse


@pytest.mark.parametrize("spec", INSTRUMENTS.values(), ids=list(INSTRUMENTS))
def test_every_instrument_describes_itself_fully(spec):
    assert spec.items and all(item.choices for item in spec.items)
    assert spec.bands[0][0] == spec.min_total
    assert spec.band(spec.max_total) == spec.bands[-1][1]
    assert spec.minutes > 0 and spec.title and spec.stem and spec.version
    if spec.safety_item:
        assert 1 <= spec.safety_item <= len(spec.items) and spec.safety_label
