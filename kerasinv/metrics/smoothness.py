"""Filter smoothness of convolution kernels.

Both measures are **our proposals** (docs/papers.md §3.6 and §4): Zhang reports that anti-aliasing
"induces spatially-smoother learned convolutional kernels" and Ruderman et al. that deformation
stability follows filter smoothness, but neither formula could be verified.

- **Normalised total variation** of a 2-D filter ``W`` (one input channel of one output channel):
  ``TV(W) = (sum |W[i+1, j] - W[i, j]| + sum |W[i, j+1] - W[i, j]|) / sum |W|``; 0 for a constant
  filter, large for a checkerboard.
- **Gaussian-smoothing ratio**: ``||G_sigma * W|| / ||W||`` (2-norms, zero-padded 'same' convolution
  with a normalised Gaussian of std ``sigma`` pixels): near 1 for smooth filters, small for filters
  dominated by high frequencies.
"""

from __future__ import annotations

import numpy as np


def filters(kernel) -> np.ndarray:
    """The 2-D filters of a conv kernel ``[kh, kw, in, out]`` (or depthwise ``[kh, kw, in, mult]``)
    as ``[in * out, kh, kw]``; filter ``i * out + o`` maps input channel i to output o."""
    kernel = np.asarray(kernel, np.float64)
    if kernel.ndim != 4:
        raise ValueError(f"expected a [kh, kw, in, out] kernel, got shape {kernel.shape}")
    kh, kw = kernel.shape[:2]
    return np.moveaxis(kernel.reshape(kh, kw, -1), -1, 0)


def total_variation(kernel) -> np.ndarray:
    """Normalised total variation of every 2-D filter of ``kernel`` (module docstring): ``[in*out]``;
    all-zero filters give 0."""
    w = filters(kernel)
    tv = np.abs(np.diff(w, axis=1)).sum((1, 2)) + np.abs(np.diff(w, axis=2)).sum((1, 2))
    mass = np.abs(w).sum((1, 2))
    return np.where(mass > 0, tv / np.where(mass > 0, mass, 1.0), 0.0)


def _gaussian(sigma: float) -> np.ndarray:
    radius = max(1, int(np.ceil(3 * sigma)))
    g = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return g / g.sum()


def gaussian_smoothness(kernel, sigma: float = 1.0) -> np.ndarray:
    """``||G_sigma * W|| / ||W||`` for every 2-D filter of ``kernel``: ``[in*out]``; 1 for
    all-zero filters."""
    w = filters(kernel)
    blurred = _blur_same(w, _gaussian(sigma))
    norm = np.linalg.norm(w.reshape(len(w), -1), axis=1)
    out = np.linalg.norm(blurred.reshape(len(w), -1), axis=1)
    return np.where(norm > 0, out / np.where(norm > 0, norm, 1.0), 1.0)


def _blur_same(w: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Zero-padded 'same' separable convolution of ``[F, kh, kw]`` filters with a symmetric ``g``."""
    r = len(g) // 2
    padded = np.pad(w, [(0, 0), (r, r), (r, r)])
    kh, kw = w.shape[1:]
    rows = sum(g[t] * padded[:, t : t + kh, :] for t in range(len(g)))
    return sum(g[t] * rows[:, :, t : t + kw] for t in range(len(g)))


__all__ = ["filters", "gaussian_smoothness", "total_variation"]
