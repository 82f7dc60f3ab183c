"""Anti-aliased bilinear resizing with constant taps: XLA-compilable and fast.

``tf.image.resize(..., antialias=True)`` (TensorFlow's ``ScaleAndTranslate``, the PIL-like resize
Azulay & Weiss's torchvision pipeline uses) has no XLA kernel. For static sizes the same resize is
separable and linear: ``out = R_h @ image @ R_w^T`` with sparse ``[out, in]`` matrices of
triangle-filter weights (the filter widened by ``in / out`` when shrinking, half-pixel centres, weights
cut at the border and renormalised). This module builds those weights in NumPy and applies each axis
as a few gathers (one per nonzero tap) and weighted sums; a test checks it against
``tf.image.resize``. Under XLA it runs faster than TensorFlow's own kernel here (2.6 ms against
6.2 ms for 16x224x224x3 to 168x168).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import tensorflow as tf


@functools.lru_cache(maxsize=256)
def resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """``[n_out, n_in]`` float32 weights of the anti-aliased triangle resize along one axis."""
    inv_scale = n_in / n_out
    kernel_scale = max(inv_scale, 1.0)
    matrix = np.zeros((n_out, n_in), np.float64)
    for x in range(n_out):
        centre = (x + 0.5) * inv_scale
        start = max(math.ceil(centre - kernel_scale - 0.5), 0)
        end = min(math.floor(centre + kernel_scale - 0.5), n_in - 1) + 1
        for j in range(start, end):
            matrix[x, j] = max(0.0, 1.0 - abs((j + 0.5 - centre) / kernel_scale))
        total = matrix[x].sum()
        if total > 0:
            matrix[x] /= total
    return matrix.astype(np.float32)


@functools.lru_cache(maxsize=256)
def resize_taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """``(indices, weights)``, each ``[n_out, K]``: the nonzero entries of :func:`resize_matrix`
    (rows with fewer than K taps are padded with weight 0)."""
    matrix = resize_matrix(n_in, n_out)
    taps = int((matrix > 0).sum(1).max())
    indices = np.zeros((n_out, taps), np.int32)
    weights = np.zeros((n_out, taps), np.float32)
    for o in range(n_out):
        nonzero = np.nonzero(matrix[o])[0]
        indices[o, : len(nonzero)] = nonzero
        indices[o, len(nonzero) :] = nonzero[-1]
        weights[o, : len(nonzero)] = matrix[o, nonzero]
    return indices, weights


def _resize_axis(x, axis: int, n_out: int):
    indices, weights = resize_taps(int(x.shape[axis]), int(n_out))
    shape = [1, 1, 1, 1]
    shape[axis] = n_out
    out = None
    for k in range(indices.shape[1]):
        term = tf.gather(x, indices[:, k], axis=axis) * tf.reshape(weights[:, k], shape)
        out = term if out is None else out + term
    return out


def resize(images, size):
    """Anti-aliased bilinear resize of ``[B, H, W, C]`` (static H, W) to ``size`` (int or pair)."""
    h_out, w_out = (size, size) if isinstance(size, int) else size
    h_in, w_in = images.shape[1], images.shape[2]
    x = tf.cast(images, tf.float32)
    if h_in is None or w_in is None:
        return tf.image.resize(x, (h_out, w_out), antialias=True)
    if (h_in, w_in) == (h_out, w_out):
        return x
    return _resize_axis(_resize_axis(x, 1, h_out), 2, w_out)


__all__ = ["resize", "resize_matrix", "resize_taps"]
