"""Zhang's random-shift consistency and centre-crop accuracy."""

import numpy as np
import pytest

from kerasinv.metrics import centre_crop, random_shift_consistency


def _images(n=12, size=40):
    return np.random.default_rng(0).uniform(0, 255, (n, size, size, 3)).astype(np.float32)


def test_shift_invariant_predictor_is_fully_consistent():
    images = _images()

    def constant(batch):
        return np.tile([0.1, 0.9], (len(batch), 1))

    result = random_shift_consistency(
        constant, images, np.ones(len(images), int), crop=32, trials=3
    )
    assert result.consistency == 1.0 and result.accuracy == 1.0
    assert result.agree.shape == (3, 12) and result.offsets.shape == (3, 12, 2, 2)
    assert result.offsets.min() >= 0 and result.offsets.max() <= 40 - 32 - 1


def test_position_dependent_predictor_disagrees_and_windows_are_the_right_pixels():
    images = _images()
    seen = []

    def top_left(batch):  # classifies by the window's top-left pixel: shifts change it
        seen.append(batch[:, 0, 0, 0].copy())
        return np.eye(256)[batch[:, 0, 0, 0].astype(int)]

    result = random_shift_consistency(top_left, images, crop=32, trials=2, seed=3)
    assert result.consistency < 0.5 and np.isnan(result.accuracy)
    # the windows are the images' pixels at the drawn offsets (calls: centre, then 2 per trial)
    o = result.offsets
    for t in range(2):
        for k in (0, 1):
            expected = images[np.arange(12), o[t, :, k, 0], o[t, :, k, 1], 0]
            np.testing.assert_array_equal(seen[1 + 2 * t + k], expected)
    np.testing.assert_array_equal(seen[0], centre_crop(images, 32)[:, 0, 0, 0])


def test_same_seed_same_offsets_and_bad_sizes():
    images = _images()

    def constant(batch):
        return np.ones((len(batch), 3))

    a = random_shift_consistency(constant, images, crop=32, seed=5)
    b = random_shift_consistency(constant, images, crop=32, seed=5)
    np.testing.assert_array_equal(a.offsets, b.offsets)
    with pytest.raises(ValueError, match="larger than crop"):
        random_shift_consistency(constant, images, crop=40)
