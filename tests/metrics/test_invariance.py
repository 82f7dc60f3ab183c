"""Azulay & Weiss / Zhang / ImageNet-P metrics on hand-made predictions."""

import numpy as np
import pytest

from kerasinv import metrics


def test_p_top1_change_and_mac_follow_the_first_images_top_class():
    # one image, 3 steps: top class 0 -> 1 -> 1
    probs = np.array([[[0.6, 0.4], [0.3, 0.7], [0.2, 0.8]]])
    changed, change = metrics.onepixel_changes(probs)
    np.testing.assert_array_equal(changed, [[True, False]])
    # pair 1: k* = 0, |0.6 - 0.3|; pair 2: k* = 1, |0.7 - 0.8|
    np.testing.assert_allclose(change, [[0.3, 0.1]])
    assert metrics.p_top1_change(probs) == 0.5
    assert metrics.mean_absolute_change(probs) == pytest.approx(0.2)


def test_accuracy_consistency_and_offset_curves():
    a = np.eye(3)[[0, 1, 2, 2]]
    b = np.eye(3)[[0, 1, 1, 2]]
    assert metrics.accuracy(a, [0, 1, 2, 0]) == 0.75
    assert metrics.consistency(a, b) == 0.75
    sweep = np.stack([a, b], axis=1)  # [N=4, S=2, K=3]
    np.testing.assert_allclose(metrics.accuracy_by_offset(sweep, [0, 1, 2, 2]), [1.0, 0.75])
    np.testing.assert_allclose(
        metrics.true_class_probability_by_offset(sweep, [0, 1, 2, 2]), [1.0, 0.75]
    )


def test_flip_probability_previous_and_first():
    tops = np.array([[0, 1, 0, 0]])
    probs = np.eye(2)[tops]
    assert metrics.flip_probability(probs) == pytest.approx(2 / 3)
    assert metrics.flip_probability(probs, "first") == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="reference"):
        metrics.flip_probability(probs, "last")
    with pytest.raises(ValueError, match=r"\[N, T, classes\]"):
        metrics.p_top1_change(np.zeros((3, 4)))


def test_worst_shift_accuracy_counts_an_image_only_if_every_shift_is_right():
    from kerasinv.metrics import worst_shift_accuracy

    top1 = np.array([[1, 1, 1], [2, 2, 0], [0, 0, 0], [3, 3, 3]])
    labels = np.array([1, 2, 1, -1])  # the unlabelled fourth is left out
    assert worst_shift_accuracy(top1, labels) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match=r"\[N, G\]"):
        worst_shift_accuracy(top1[:, 0], labels)
