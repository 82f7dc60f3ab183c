"""Band-limited shifts: SciPy's Fourier shift as the oracle, integers as circular shifts, composition."""

import numpy as np
import pytest
import tensorflow as tf
from scipy import ndimage

from kerasinv import perturb


def _scipy_shift(images, shifts):
    """The oracle: scipy.ndimage.fourier_shift per channel, then the real inverse FFT."""
    out = np.empty_like(images, dtype=np.float64)
    for b, (image, shift) in enumerate(zip(images, shifts, strict=True)):
        for c in range(image.shape[-1]):
            spectrum = ndimage.fourier_shift(np.fft.fftn(image[..., c].astype(np.float64)), shift)
            out[b, ..., c] = np.fft.ifftn(spectrum).real
    return out


@pytest.mark.parametrize("shape", [(3, 8, 8, 3), (2, 7, 9, 2), (1, 32, 32, 3)])
def test_equals_scipys_fourier_shift(shape):
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, shape).astype(np.float32)
    shifts = rng.uniform(-3, 3, (shape[0], 2)).astype(np.float32)
    shifts[0] = (0.5, -0.5)  # the half-pixel grid, where the Nyquist term matters
    got = perturb.fourier_shift(images, shifts).numpy()
    np.testing.assert_allclose(got, _scipy_shift(images, shifts), atol=2e-3)


def test_an_integer_shift_is_the_circular_shift_and_shifts_compose():
    """Composition is exact for odd sizes; for an even size a half-pixel shift zeroes the Nyquist
    row and column (a cosine of period 2 px sampled at its zeros), so two halves lose them."""
    images = np.random.default_rng(1).uniform(0, 255, (2, 9, 11, 3)).astype(np.float32)
    whole = np.array([[2, -3], [-1, 5]], np.float32)
    rolled = perturb.circular_shift(images, whole.astype(np.int32)).numpy()
    np.testing.assert_allclose(perturb.fourier_shift(images, whole).numpy(), rolled, atol=2e-3)
    half = np.full((2, 2), 0.5, np.float32)
    twice = perturb.fourier_shift(perturb.fourier_shift(images, half), half).numpy()
    once = perturb.circular_shift(images, np.ones((2, 2), np.int32)).numpy()
    np.testing.assert_allclose(twice, once, atol=5e-3)  # 0.5 then 0.5 is one pixel


def test_it_compiles_under_xla_and_keeps_the_mean():
    images = np.random.default_rng(2).uniform(0, 255, (2, 16, 16, 3)).astype(np.float32)
    shifts = np.array([[0.25, 1.75], [-0.5, 0.5]], np.float32)
    compiled = tf.function(perturb.fourier_shift, jit_compile=True)(images, shifts).numpy()
    np.testing.assert_allclose(compiled, perturb.fourier_shift(images, shifts).numpy(), atol=1e-3)
    np.testing.assert_allclose(compiled.mean((1, 2)), images.mean((1, 2)), atol=1e-3)
