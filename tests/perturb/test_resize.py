"""The matrix resize equals tf.image.resize(antialias=True) (which has no XLA kernel)."""

import numpy as np
import pytest
import tensorflow as tf

from kerasinv.perturb.resize import resize, resize_matrix


@pytest.mark.parametrize(
    "hw_in,hw_out",
    [((40, 36), (20, 17)), ((9, 9), (21, 13)), ((500, 375), (117, 117)), ((8, 8), (8, 8))],
)
def test_equals_tensorflow_antialiased_resize(hw_in, hw_out):
    x = np.random.default_rng(0).uniform(0, 255, size=(2, *hw_in, 3)).astype(np.float32)
    expected = tf.image.resize(x, hw_out, antialias=True).numpy()
    np.testing.assert_allclose(resize(x, hw_out).numpy(), expected, rtol=1e-5, atol=2e-3)


def test_rows_sum_to_one_and_identity():
    for n_in, n_out in [(10, 3), (3, 10), (7, 7)]:
        np.testing.assert_allclose(resize_matrix(n_in, n_out).sum(1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(resize_matrix(7, 7), np.eye(7, dtype=np.float32))
