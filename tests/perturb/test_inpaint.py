"""The inpainting fill against a direct NumPy transcription of the algorithm (papers.md §2.2)."""

import numpy as np
import tensorflow as tf

from kerasinv import perturb


def numpy_inpaint(image, known, max_passes=80, stop_below=0):
    """One image, loops and np.convolve: separable 12-tap binomial, 'same' (zero borders)."""
    kernel = np.array([0.5, 0.5])
    for _ in range(10):
        kernel = np.convolve(kernel, [0.5, 0.5])

    def blur(a):
        a = np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="same"), 0, a)
        return np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="same"), 1, a)

    img = image.astype(np.float64) * known[..., None]
    m = known.astype(np.float64)
    for _ in range(max_passes):
        if (m == 0).sum() <= stop_below:
            break
        mb = blur(m)
        new = img.copy()
        for c in range(img.shape[2]):
            ib = blur(img[:, :, c] * m)
            fill = (m == 0) & (mb > 1e-12)
            new[:, :, c][fill] = ib[fill] / mb[fill]
        img = new
        m = np.where(mb > 1e-12, 1.0, m)
    return img


def test_matches_the_numpy_transcription_and_keeps_known_pixels():
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, size=(1, 12, 10, 3)).astype(np.float32)
    canvas, mask = perturb.embed(image, [[20, 15]], canvas=(48, 40), return_mask=True)
    canvas2, mask2 = perturb.embed(image, [[0, 28]], canvas=(48, 40), return_mask=True)
    batch = tf.concat([canvas, canvas2], 0)
    masks = tf.concat([mask, mask2], 0)
    for stop_below, passes in [(0, 80), (200, 80), (0, 2)]:
        got = perturb.inpaint(batch, masks, max_passes=passes, stop_below=stop_below).numpy()
        for b in range(2):
            expected = numpy_inpaint(
                batch.numpy()[b], masks.numpy()[b, :, :, 0], passes, stop_below
            )
            np.testing.assert_allclose(got[b], expected, rtol=1e-4, atol=1e-3)
    full = perturb.inpaint(batch, masks).numpy()
    known = masks.numpy()[..., 0] > 0
    np.testing.assert_array_equal(full[known], batch.numpy()[known])
    assert np.all(full > 0)  # every hole filled from positive pixels


def test_binomial_taps():
    taps = perturb.binomial_taps()
    assert len(taps) == 12 and abs(sum(taps) - 1) < 1e-12 and taps[0] == 1 / 2048
