"""The bilinear sampler against scipy.ndimage.map_coordinates(order=1), borders included."""

import numpy as np
import pytest
import tensorflow as tf
from scipy import ndimage

from kerasinv.perturb import bilinear_sample

SCIPY_MODES = {
    "constant": "grid-constant",
    "edge": "nearest",
    "reflect": "mirror",
    "symmetric": "reflect",
}


@pytest.mark.parametrize("border", sorted(SCIPY_MODES))
def test_matches_scipy_inside_on_and_beyond_the_border(border):
    rng = np.random.default_rng(0)
    images = rng.normal(size=(2, 7, 9, 3)).astype(np.float32)
    # points inside, exactly on edges and corners, and up to 3 pixels outside
    coords = rng.uniform(-3, 11, size=(2, 40, 2)).astype(np.float32)
    coords[:, 20:] = rng.uniform(-30, 40, size=(2, 20, 2))  # several periods away
    coords[:, :4] = [[0, 0], [6, 8], [0, 8], [6, 0]]
    coords[:, 4:8] = [[-0.5, 4], [6.5, 4], [3, -0.25], [3, 8.75]]
    got = bilinear_sample(images, coords, border=border, fill=0.7).numpy()
    for b in range(2):
        for c in range(3):
            expected = ndimage.map_coordinates(
                images[b, :, :, c].astype(np.float64),
                coords[b].T.astype(np.float64),
                order=1,
                mode=SCIPY_MODES[border],
                cval=0.7,
            )
            np.testing.assert_allclose(got[b, :, c], expected, atol=1e-5)


def test_integer_grid_is_the_identity_exactly_and_per_channel_fill():
    images = np.random.default_rng(1).normal(size=(3, 5, 6, 2)).astype(np.float32)
    grid = np.stack(np.meshgrid(np.arange(5), np.arange(6), indexing="ij"), -1).astype(np.float32)
    coords = np.broadcast_to(grid, (3, 5, 6, 2))
    for border in SCIPY_MODES:
        np.testing.assert_array_equal(bilinear_sample(images, coords, border).numpy(), images)
    far = np.full((3, 1, 2), -10.0, np.float32)
    np.testing.assert_allclose(
        bilinear_sample(images, far, fill=[1.0, 2.0]).numpy(), [[[1, 2]]] * 3
    )


def test_gradients_flow_to_images_and_coordinates_and_xla_compiles():
    images = tf.Variable(np.random.default_rng(2).normal(size=(1, 4, 4, 1)).astype(np.float32))
    coords = tf.Variable([[[1.3, 2.6]]])
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(bilinear_sample(images, coords, "reflect"))
    g_img, g_xy = tape.gradient(out, [images, coords])
    assert np.count_nonzero(g_img.numpy()) == 4 and np.all(np.isfinite(g_xy.numpy()))
    compiled = tf.function(lambda i, c: bilinear_sample(i, c, "constant"), jit_compile=True)
    np.testing.assert_allclose(
        compiled(images, coords).numpy(), bilinear_sample(images, coords).numpy(), atol=1e-6
    )


def test_bad_border_is_refused():
    with pytest.raises(ValueError, match="border must be one of"):
        bilinear_sample(np.zeros((1, 2, 2, 1), np.float32), np.zeros((1, 1, 2), np.float32), "wrap")
