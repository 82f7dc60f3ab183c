"""Band-limited shifts by any amount, integer or not: the Fourier shift theorem on the periodic image
(docs/papers.md §6).

A circular shift by an integer is a permutation of pixels; a shift by half a pixel is not, and needs a
definition. Here it is the band-limited one: the image is taken as the periodic signal its 2-D DFT
describes (a sum of sinusoids), and shifting it by ``d`` multiplies the frequency ``f`` component by
``exp(-2πi f d)``. This is ideal (sinc) interpolation on the torus: an integer ``d`` gives exactly the
circular shift (:func:`kerasinv.perturb.circular_shift`), and it equals the AFC authors' upsample /
integer-shift / downsample construction with Fourier resampling. For an even size the Nyquist
frequency (period 2 px) cannot move by a fraction and stay real; it is kept as the cosine it is,
``cos(π d)`` times its amplitude (the real part of the shifted signal, as
``scipy.ndimage.fourier_shift`` followed by a real inverse FFT gives). So shifts compose (``d1``
then ``d2`` is ``d1 + d2``) exactly for odd sizes; for even ones, except that a half-pixel shift
zeroes the Nyquist row and column.

Pixels are not clipped: a sub-pixel shift of a sharp edge rings slightly below 0 and above 255, as any
band-limited resampling does.
"""

from __future__ import annotations

import math

import tensorflow as tf


def _frequencies(n):
    """``numpy.fft.fftfreq(n)`` as a float32 tensor (cycles per pixel)."""
    k = tf.range(n)
    half = (n - 1) // 2 + 1  # 0 .. ceil(n / 2) - 1 are the non-negative ones
    return tf.cast(tf.where(k < half, k, k - n), tf.float32) / tf.cast(n, tf.float32)


def fourier_shift(images, shifts):
    """Shift each image ``[B, H, W, C]`` by its own ``shifts`` ``[B, 2]`` (rows, cols; floats;
    positive = down / right), band-limited and circular (see the module docstring).

    Returns:
        float32 ``[B, H, W, C]``.
    """
    x = tf.convert_to_tensor(images, tf.float32)
    shifts = tf.cast(tf.convert_to_tensor(shifts), tf.float32)
    shape = tf.shape(x)
    channels_first = tf.transpose(x, [0, 3, 1, 2])  # FFTs run over the two innermost axes
    spectrum = tf.signal.fft2d(tf.complex(channels_first, tf.zeros_like(channels_first)))
    turn = -2.0 * math.pi
    rows = turn * _frequencies(shape[1])[None] * shifts[:, 0:1]  # [B, H]
    cols = turn * _frequencies(shape[2])[None] * shifts[:, 1:2]  # [B, W]
    phase = (
        tf.complex(tf.cos(rows), tf.sin(rows))[:, None, :, None]
        * tf.complex(tf.cos(cols), tf.sin(cols))[:, None, None, :]
    )
    shifted = tf.math.real(tf.signal.ifft2d(spectrum * phase))
    return tf.transpose(shifted, [0, 2, 3, 1])


__all__ = ["fourier_shift"]
