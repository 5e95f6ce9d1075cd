"""CLIN-01: every measure scored exactly as published, on every total and boundary."""

import itertools

import pytest

from aftercare.selfreports.instruments import GAD7
from aftercare.selfreports.instruments import IncompleteAnswers
from aftercare.selfreports.instruments import INSTRUMENTS
from aftercare.selfreports.instruments import PHQ9
from aftercare.selfreports.instruments import Rhythm

PCL5 = INSTRUMENTS["pcl5"]
PEG = INSTRUMENTS["peg"]


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
    if spec.bands:
        assert spec.bands[0][0] == spec.min_total
        assert spec.band(spec.max_total) == spec.bands[-1][1]
    else:
        assert spec.band(spec.max_total) == ""
    if spec.rule:
        assert {key for key, _ in spec.rule.needs} <= {s.key for s in spec.subscales}
    if spec.cutoff:
        assert spec.min_total < spec.cutoff.default <= spec.max_total and spec.cutoff.label
    assert spec.minutes > 0 and spec.title and spec.stem and spec.version
    if spec.safety_item:
        assert 1 <= spec.safety_item <= len(spec.items) and spec.safety_label


# --- PCL-5 (Weathers et al. 2013): 20 items 0-4, total 0-80, clusters B 1-5, C 6-7, D 8-14, E 15-20.

PCL5_CLUSTERS = {"B": range(1, 6), "C": range(6, 8), "D": range(8, 15), "E": range(15, 21)}


def pcl5(**ratings) -> list[int]:
    """Answers with the given items rated (q3=2, ...); everything else 0."""
    answers = [0] * 20
    for name, value in ratings.items():
        answers[int(name[1:]) - 1] = value
    return answers


@pytest.mark.parametrize("total", range(0, 81))
def test_every_pcl5_total_sums_exactly_and_the_clusters_add_up(total):
    answers = [min(4, max(0, total - 4 * i)) for i in range(20)]
    result = PCL5.score(answers)
    assert result.total == total
    assert sum(result.subscores.values()) == total
    for key, items in PCL5_CLUSTERS.items():
        assert result.subscores[key] == sum(answers[n - 1] for n in items)


@pytest.mark.parametrize(
    ("ratings", "clusters"),
    [
        # Each cluster's boundary items, rated 4, land in that cluster only.
        ({"q5": 4}, {"B": 4, "C": 0, "D": 0, "E": 0}),
        ({"q6": 4}, {"B": 0, "C": 4, "D": 0, "E": 0}),
        ({"q7": 4}, {"B": 0, "C": 4, "D": 0, "E": 0}),
        ({"q8": 4}, {"B": 0, "C": 0, "D": 4, "E": 0}),
        ({"q14": 4}, {"B": 0, "C": 0, "D": 4, "E": 0}),
        ({"q15": 4}, {"B": 0, "C": 0, "D": 0, "E": 4}),
        ({"q20": 4}, {"B": 0, "C": 0, "D": 0, "E": 4}),
        ({"q1": 1, "q6": 2, "q8": 3, "q20": 4}, {"B": 1, "C": 2, "D": 3, "E": 4}),
    ],
)
def test_pcl5_items_fall_in_their_dsm5_cluster(ratings, clusters):
    assert PCL5.score(pcl5(**ratings)).subscores == clusters


MEETS = {"q1": 2, "q6": 2, "q8": 2, "q9": 2, "q15": 2, "q16": 2}  # exactly 1 B, 1 C, 2 D, 2 E at "Moderately"


@pytest.mark.parametrize(
    ("ratings", "met", "total"),
    [
        (MEETS, True, 12),  # the rule met with a total far below the cut-off
        ({**MEETS, "q1": 1}, False, 11),  # no B item at 2 or more
        ({**MEETS, "q6": 1}, False, 11),  # no C item
        ({**MEETS, "q9": 1}, False, 11),  # one D item
        ({**MEETS, "q16": 1}, False, 11),  # one E item
        ({**MEETS, "q2": 4, "q3": 4}, True, 20),  # more than enough in B
        # Above the cut-off of 33 without meeting the rule: every symptom "A little bit", B and E high.
        ({f"q{n}": 1 for n in range(1, 21)} | {"q1": 4, "q2": 4, "q3": 4, "q15": 4, "q16": 4}, False, 35),
        # Everything at the top: the rule met, 80.
        ({f"q{n}": 4 for n in range(1, 21)}, True, 80),
        ({}, False, 0),
    ],
)
def test_pcl5_provisional_ptsd_follows_the_published_cluster_rule(ratings, met, total):
    result = PCL5.score(pcl5(**ratings))
    assert (result.total, result.rule_met) == (total, met)
    assert result.band == ("provisional PTSD" if met else "below the PTSD symptom rule")


@pytest.mark.parametrize(
    ("previous", "latest", "worse"), [(30, 40, True), (30, 39, False), (60, 50, False), (0, 10, True)]
)
def test_pcl5_worsening_is_a_rise_of_10_or_more(previous, latest, worse):
    assert PCL5.change.meaningful(previous, latest) is worse


@pytest.mark.parametrize(
    ("baseline", "latest", "improved"), [(50, 40, True), (50, 41, False), (12, 2, True), (9, 0, False)]
)
def test_pcl5_a_drop_of_10_or_more_is_meaningful_improvement(baseline, latest, improved):
    assert PCL5.outcomes.response(baseline, latest) is improved
    assert PCL5.outcomes.response_label == "Meaningful improvement"
    assert PCL5.outcomes.remission(baseline, latest) is False  # the PCL-5 defines no remission


# --- PEG (Krebs et al. 2009): three items 0-10, the mean to one decimal, halves rounded up.


@pytest.mark.parametrize(
    ("answers", "mean"),
    [
        ([0, 0, 0], 0.0),
        ([1, 0, 0], 0.3),  # a third rounds down
        ([2, 0, 0], 0.7),  # two thirds round up
        ([4, 4, 5], 4.3),
        ([4, 5, 5], 4.7),
        ([7, 5, 6], 6.0),
        ([10, 9, 9], 9.3),
        ([10, 10, 9], 9.7),
        ([10, 10, 10], 10.0),
    ],
)
def test_peg_is_the_mean_of_its_three_items_to_one_decimal(answers, mean):
    result = PEG.score(answers)
    assert result.total == mean
    assert PEG.format(result.total) == f"{mean:.1f}"
    assert result.band == ""


def test_every_peg_answer_set_scores_within_0_to_10():
    for answers in itertools.product(range(11), repeat=3):
        total = PEG.score(list(answers)).total
        assert round(total, 1) == total and 0 <= total <= 10
        assert abs(total - sum(answers) / 3) <= 0.05 + 1e-9


@pytest.mark.parametrize(
    ("baseline", "latest", "improved"),
    [(6.0, 4.2, True), (6.0, 4.3, False), (10.0, 7.0, True), (3.3, 2.3, True), (0.0, 0.0, False), (2.0, 2.0, False)],
)
def test_peg_a_drop_of_30_percent_from_baseline_is_meaningful(baseline, latest, improved):
    assert PEG.outcomes.response(baseline, latest) is improved


@pytest.mark.parametrize(
    ("instrument", "answers"),
    [
        (PCL5, [0] * 19),  # 19 answers
        (PCL5, [0] * 19 + [5]),  # an answer of 5
        (PCL5, [0] * 21),
        (PEG, [11, 0, 0]),  # an item of 11
        (PEG, [0, -1, 0]),
        (PEG, [5, 5]),
        (PEG, [5.5, 5, 5]),
    ],
)
def test_pcl5_and_peg_refuse_incomplete_or_out_of_range_answers(instrument, answers):
    with pytest.raises(IncompleteAnswers):
        instrument.score(answers)


@pytest.mark.parametrize(
    ("rhythm", "words"),
    [
        (Rhythm(), "at the start"),
        (Rhythm(every_days=7), "at the start and every week"),
        (Rhythm(every_days=28), "at the start and every 4 weeks"),
        (Rhythm(every_days=10), "at the start and every 10 days"),
        (Rhythm(after_sessions=(3,)), "at the start and after session 3"),
        (Rhythm(after_sessions=(2, 4, 6), every_days=28), "at the start, after sessions 2, 4 and 6, and every 4 weeks"),
    ],
)
def test_a_rhythm_is_said_in_plain_words(rhythm, words):
    assert rhythm.describe() == words
