"""Anti-aliased bilinear resizing as two constant matrices: XLA-compilable and fast.

``tf.image.resize(..., antialias=True)`` (TensorFlow's ``ScaleAndTranslate``, the PIL-like resize
Azulay & Weiss's torchvision pipeline uses) has no XLA kernel. For static sizes the same resize is
separable and linear: ``out = R_h @ image @ R_w^T`` with ``[out, in]`` matrices of triangle-filter
weights (the filter widened by ``in / out`` when shrinking, half-pixel centres, weights cut at the
border and renormalised). This module builds those matrices in NumPy and applies them with two
matmuls; a test checks it against ``tf.image.resize``.
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


def resize(images, size):
    """Anti-aliased bilinear resize of ``[B, H, W, C]`` (static H, W) to ``size`` (int or pair)."""
    h_out, w_out = (size, size) if isinstance(size, int) else size
    h_in, w_in = images.shape[1], images.shape[2]
    x = tf.cast(images, tf.float32)
    if h_in is None or w_in is None:
        return tf.image.resize(x, (h_out, w_out), antialias=True)
    rows = tf.constant(resize_matrix(int(h_in), int(h_out)))
    cols = tf.constant(resize_matrix(int(w_in), int(w_out)))
    x = tf.einsum("oh,bhwc->bowc", rows, x)
    return tf.einsum("pw,bowc->bopc", cols, x)


__all__ = ["resize", "resize_matrix"]
