"""Thin-plate splines against SciPy's RBFInterpolator; random deformations and their identity case."""

import numpy as np
import pytest
import tensorflow as tf
from scipy.interpolate import RBFInterpolator

from kerasinv import perturb


@pytest.mark.parametrize("regularization", [0.0, 5.0])
def test_spline_matches_scipy(regularization):
    rng = np.random.default_rng(0)
    control = rng.uniform(0, 224, size=(3, 16, 2)).astype(np.float32)
    targets = (control + rng.uniform(-6, 6, size=control.shape)).astype(np.float32)
    queries = rng.uniform(-10, 234, size=(3, 200, 2)).astype(np.float32)
    params = perturb.fit_tps(control, targets, regularization)
    got = perturb.evaluate_tps(params, queries).numpy()
    for b in range(3):
        scipy = RBFInterpolator(
            control[b].astype(np.float64),
            targets[b].astype(np.float64),
            kernel="thin_plate_spline",
            degree=1,
            smoothing=regularization,
        )
        expected = scipy(queries[b].astype(np.float64))
        rel = np.abs(got[b] - expected).max() / np.abs(expected).max()
        assert rel < 1e-4, rel
    if regularization == 0.0:  # control points land exactly on their targets
        at_control = perturb.evaluate_tps(params, control).numpy()
        np.testing.assert_allclose(at_control, targets, atol=1e-3)


def test_grid_matrix_equals_the_general_fit():
    h, w, k = 20, 24, 4
    grid = perturb.control_grid(h, w, k)
    disp = np.random.default_rng(1).uniform(-2, 2, size=(1, k * k, 2))
    dense = perturb.grid_interpolation_matrix(h, w, k) @ disp[0]
    params = perturb.fit_tps(grid[None], disp)
    points = perturb.pixel_grid(h, w).numpy().reshape(1, -1, 2)
    np.testing.assert_allclose(dense, perturb.evaluate_tps(params, points).numpy()[0], atol=1e-4)


def test_zero_strength_is_the_identity_and_strength_is_per_image():
    images = np.random.default_rng(2).uniform(0, 255, size=(3, 32, 32, 3)).astype(np.float32)
    out, disp = perturb.random_deformation(images, 0.0, seed=[1, 2])
    np.testing.assert_array_equal(out.numpy(), images)
    out, disp = perturb.random_deformation(images, tf.constant([0.0, 1.0, 3.0]), seed=[1, 2])
    np.testing.assert_array_equal(out.numpy()[0], images[0])
    assert np.abs(disp.numpy()[1]).max() <= 1.0 and np.abs(disp.numpy()[2]).max() <= 3.0
    assert np.abs(disp.numpy()[2]).max() > 1.0
    assert not np.allclose(out.numpy()[2], images[2])
    again, _ = perturb.random_deformation(images, tf.constant([0.0, 1.0, 3.0]), seed=[1, 2])
    np.testing.assert_array_equal(again.numpy(), out.numpy())


def test_warp_moves_content_by_the_field():
    """Backward convention: a constant field (+1 row, +2 cols) shows the input shifted up-left."""
    images = np.random.default_rng(3).normal(size=(1, 10, 12, 1)).astype(np.float32)
    field = np.broadcast_to(np.array([1.0, 2.0], np.float32), (1, 10, 12, 2))
    out = perturb.warp(images, field, border="edge").numpy()
    np.testing.assert_array_equal(out[0, :-1, :-2], images[0, 1:, 2:])
