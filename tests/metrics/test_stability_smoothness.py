"""Layerwise deformation sensitivity and filter smoothness."""

import keras
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


def test_layerwise_sensitivity_on_a_model():
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    model = keras.Model(inputs, x)
    images = np.random.default_rng(1).normal(size=(6, 8, 8, 1)).astype(np.float32)
    result = metrics.layerwise_sensitivity(model, ["conv", "gap"], images, images)
    assert set(result) == {"conv", "gap"} and all(
        np.allclose(v, 0, atol=1e-6) for v in result.values()
    )
    rolled = np.roll(images, 1, axis=2)
    moved = metrics.layerwise_sensitivity(model, ["conv", "gap"], images, rolled)
    assert moved["conv"].mean() > moved["gap"].mean()  # global pooling forgets position
    with pytest.raises(ValueError, match="no layers"):
        metrics.layerwise_sensitivity(model, ["nope"], images, images)


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


def test_layer_smoothness_skips_pointwise_layers():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="c3")(inputs)
    x = keras.layers.Conv2D(4, 1, name="c1")(x)
    x = keras.layers.DepthwiseConv2D(3, name="dw")(x)
    result = metrics.layer_smoothness(keras.Model(inputs, x))
    assert set(result) == {"c3", "dw"}
    assert set(result["c3"]) == {"total_variation", "gaussian_smoothness"}
