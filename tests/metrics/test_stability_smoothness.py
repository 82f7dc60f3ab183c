"""Layerwise deformation sensitivity and filter smoothness."""

import numpy as np
import pytest

from kerasinv import metrics


def test_cosine_distance_cases():
    a = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0], [2.0, 0.0]])
    b = np.array([[0.0, 3.0], [2.0, 2.0], [0.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])
    np.testing.assert_allclose(metrics.cosine_distance(a, b), [1.0, 0.0, 0.0, 1.0, 2.0], atol=1e-12)


def test_sensitivity_is_normalised_by_random_pairs():
    rng = np.random.default_rng(0)
    reps = rng.normal(size=(50, 8))
    assert metrics.random_pair_distance(reps, pairs=4000) == pytest.approx(1.0, abs=0.05)
    same = metrics.deformation_sensitivity(reps, reps)
    np.testing.assert_allclose(same, 0.0, atol=1e-12)
    swapped = metrics.deformation_sensitivity(reps, reps[::-1], pairs=4000)
    assert 0.7 < swapped.mean() < 1.3  # as far as a random other image


def test_total_variation_and_gaussian_ratio():
    constant = np.ones((3, 3, 1, 1))
    checker = np.indices((3, 3)).sum(0)[:, :, None, None] % 2 * 2.0 - 1.0
    assert metrics.total_variation(constant)[0] == 0.0
    # checkerboard: 12 neighbour differences of 2, over 9 unit weights
    assert metrics.total_variation(checker)[0] == pytest.approx(24 / 9)
    assert metrics.total_variation(np.zeros((3, 3, 2, 2))).tolist() == [0.0] * 4
    smooth, rough = (
        metrics.gaussian_smoothness(constant)[0],
        metrics.gaussian_smoothness(checker)[0],
    )
    assert 0 < rough < smooth <= 1.0
    w = np.random.default_rng(2).normal(size=(3, 3, 2, 5))
    assert metrics.total_variation(w).shape == (10,)
    np.testing.assert_allclose(
        metrics.total_variation(w)[1 * 5 + 3], metrics.total_variation(w[:, :, 1:2, 3:4])[0]
    )
