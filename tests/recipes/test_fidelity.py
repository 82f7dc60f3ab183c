"""The band of our seeds against a reference curve and the fidelity verdict (pure Python)."""

import pytest

from kerasinv.recipes.fidelity import (
    accuracy_conventions,
    aligned,
    band_coverage,
    band_table,
    bands,
    crossing,
    escape_rank,
    verdict,
)

REFERENCE = {e: 0.1 + 0.05 * e for e in range(0, 11)}  # 0.1 at epoch 0 .. 0.6 at epoch 10


def _curves(offsets):
    """Seeds whose accuracy is the reference's plus a fixed offset per seed."""
    return {
        f"seed {i}": {e: REFERENCE[e] + off for e in range(0, 11)} for i, off in enumerate(offsets)
    }


def test_band_is_min_median_max_of_the_seeds_that_reached_the_epoch():
    curves = {"a": {1: 0.2, 2: 0.3}, "b": {1: 0.4}, "c": {1: 0.1, 2: 0.5}}
    rows = bands(curves, REFERENCE.get, [1, 2, 3])
    assert [r.seeds for r in rows] == [3, 2, 0]
    assert (rows[0].low, rows[0].median, rows[0].high) == (0.1, 0.2, 0.4)
    assert rows[1].median == pytest.approx(0.4)  # the mean of the middle two
    assert rows[0].inside() is True  # 0.15 in [0.1, 0.4]
    assert rows[2].inside() is None


def test_seeds_around_the_reference_meet_the_claim():
    v = verdict(bands(_curves([-0.03, 0.01, 0.04]), REFERENCE.get, range(11)))
    assert v.band is True and v.median is True and v.met is True
    assert v.sentence() == "Fidelity claim: MET."


def test_seeds_all_below_the_reference_fail_the_band_at_the_first_such_epoch():
    curves = _curves([-0.03, 0.01, 0.04])
    curves["seed 1"][7] = curves["seed 2"][7] = curves["seed 0"][7] = REFERENCE[7] - 0.01
    v = verdict(bands(curves, REFERENCE.get, range(11)))
    assert v.band is False and v.median is True and v.met is False
    assert "epoch 7: Caffe 0.450 outside our seeds [0.440, 0.440]" in v.sentence()


def test_a_median_more_than_five_points_off_fails_even_inside_the_band():
    v = verdict(bands(_curves([-0.07, -0.06, 0.08]), REFERENCE.get, range(11)))
    assert v.band is True and v.median is False and v.met is False
    assert "epoch 5: median 0.290 is -6.0 points from Caffe 0.350" in v.sentence()


def test_too_few_seeds_leave_the_claim_undecided_never_passed():
    curves = _curves([-0.03, 0.01, 0.04])
    del curves["seed 2"][10]
    v = verdict(bands(curves, REFERENCE.get, range(11)))
    assert v.band is None and v.median is None and v.met is None
    assert "epoch 10: 2 of the 3 seeds needed" in v.sentence()
    assert "NOT DECIDED YET" in v.sentence()


def test_a_failure_decides_even_when_later_epochs_are_missing():
    curves = {
        k: {e: v for e, v in c.items() if e <= 5} for k, c in _curves([0.1, 0.2, 0.3]).items()
    }
    v = verdict(bands(curves, REFERENCE.get, range(11)))
    assert v.band is False and v.met is False


def test_band_table_rows():
    headers, rows = band_table(bands(_curves([-0.02, 0.0, 0.03]), REFERENCE.get, [0, 5]))
    assert headers[0] == "Epoch" and headers[-1] == "Caffe in range"
    assert rows[1][:3] == [5, pytest.approx(0.35), 3]
    assert rows[1][-2:] == ["+0.0", "yes"]
    _, rows = band_table(bands({"a": {5: 0.1}}, REFERENCE.get, [5]))
    assert rows[0][-1] == "– (fewer than 3 seeds)"  # one seed is no range


def test_band_coverage_is_the_chance_one_more_draw_falls_inside_the_range():
    assert band_coverage(3) == 0.5 and band_coverage(1) == 0.0
    assert band_coverage(10) == pytest.approx(9 / 11)
    # simulated: the reference and three seeds from one distribution
    import numpy as np

    draws = np.random.default_rng(0).normal(size=(20000, 4))
    inside = (draws[:, 0] >= draws[:, 1:].min(1)) & (draws[:, 0] <= draws[:, 1:].max(1))
    assert inside.mean() == pytest.approx(band_coverage(3), abs=0.01)


def test_crossing_is_the_first_rise_through_the_level():
    assert crossing([0, 1, 2, 3], [0.1, 0.2, 0.4, 0.5], 0.3) == pytest.approx(1.5)
    assert crossing([0, 1, 2], [0.1, 0.35, 0.2], 0.3) == pytest.approx(0.8)  # the first one
    assert crossing([0, 1, 2], [0.1, 0.2, 0.25], 0.3) is None


def test_aligned_compares_the_curves_after_each_ones_own_escape():
    ref_epochs, ref_values = [0, 4, 5, 6, 7], [0.1, 0.2, 0.3, 0.4, 0.5]  # crosses 0.3 at epoch 5
    ours, after = aligned([0, 1, 2, 3], [0.1, 0.3, 0.35, 0.5], ref_epochs, ref_values, (1, 2, 3))
    assert ours == pytest.approx(1.0)
    assert after == {1: (pytest.approx(0.35), pytest.approx(0.4)),
                     2: (pytest.approx(0.5), pytest.approx(0.5))}  # fmt: skip
    assert aligned([0, 1], [0.1, 0.2], ref_epochs, ref_values) == (None, {})


def test_escape_rank_counts_seeds_before_and_after_the_reference():
    rank = escape_rank(
        {"a": (2.3, 10), "b": (2.8, 10), "c": (None, 10), "d": (7.0, 9), "e": (None, 4)}, 5.6
    )
    assert rank.earlier == ("a", "b")
    assert rank.later == ("c", "d")  # never by epoch 10, and after the reference
    assert rank.undecided == ("e",)  # stopped at epoch 4 without escaping: cannot say
    assert rank.p_as_late == pytest.approx(3 / 5)
    assert "2 of 4 seeds" in rank.sentence() and "1 stopped too early" in rank.sentence()


def test_escape_rank_p_is_the_chance_of_an_exchangeable_run_ranking_so_late():
    import numpy as np

    # the reference is one more draw: how often are at most k of 4 seeds later than it?
    draws = np.random.default_rng(1).exponential(size=(20000, 5))
    later = (draws[:, 1:] > draws[:, :1]).sum(1)
    for k in range(5):
        seeds = {f"s{i}": (1.0 if i < 4 - k else 9.0, 10) for i in range(4)}  # k after 5.0
        rank = escape_rank(seeds, 5.0)
        assert len(rank.later) == k
        assert (later <= k).mean() == pytest.approx(rank.p_as_late, abs=0.01)


def test_accuracy_conventions_differ_only_on_images_whose_scores_tie():
    scores = [
        [0.0, 0.0, 0.0],  # all dead, label 0: ours right, Caffe's old rule and strict wrong
        [0.0, 0.0, 0.0],  # all dead, label 2: only Caffe's old rule (last index) right
        [0.1, 0.5, 0.2],  # an ordinary image, label 1: right under every rule
        [0.3, 0.3, 0.0],  # a tie above 0, label 0: first index right, strict wrong
    ]
    a = accuracy_conventions(scores, [0, 2, 1, 0])
    assert a["all_zero"] == 0.5
    assert a["first_index"] == 0.75  # images 0, 2, 3
    assert a["last_index"] == 0.5  # images 1, 2
    assert a["strict"] == 0.25  # image 2 only
