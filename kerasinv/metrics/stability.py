"""Layerwise deformation sensitivity (docs/papers.md §4; Ruderman et al. 2018's exact measure is
unverified, this is the proposal recorded there).

For a layer's representation ``r`` (flattened per image), the sensitivity of image ``x`` to a
deformation ``tau`` is the cosine distance ``d(r(x), r(tau x))``, normalised by the mean cosine
distance between representations of random pairs of different images: 0 means the layer does not
see the deformation at all, 1 means it changes the representation as much as swapping the image.
"""

from __future__ import annotations

import numpy as np


def cosine_distance(a, b) -> np.ndarray:
    """``1 - cos(a_i, b_i)`` per row of ``[N, ...]`` arrays (flattened); 0 for two zero vectors,
    1 when exactly one is zero."""
    a = np.asarray(a, np.float64).reshape(len(a), -1)
    b = np.asarray(b, np.float64).reshape(len(b), -1)
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    dot = np.einsum("nd,nd->n", a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = dot / (na * nb)
    cos = np.where((na == 0) & (nb == 0), 1.0, np.where((na == 0) | (nb == 0), 0.0, cos))
    return 1.0 - np.clip(cos, -1.0, 1.0)


def random_pair_distance(reps, pairs: int = 1000, seed: int = 0) -> float:
    """Mean cosine distance between the representations ``[N, ...]`` of random pairs of different
    images (``pairs`` draws, N >= 2)."""
    reps = np.asarray(reps)
    n = len(reps)
    if n < 2:
        raise ValueError("random_pair_distance needs at least two images")
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, pairs)
    j = (i + rng.integers(1, n, pairs)) % n  # never i
    return float(cosine_distance(reps[i], reps[j]).mean())


def deformation_sensitivity(reps, reps_deformed, pairs: int = 1000, seed: int = 0) -> np.ndarray:
    """Per-image normalised sensitivity ``[N]``: ``d(r(x), r(tau x)) / mean random-pair distance``
    (the pair distance from ``reps``)."""
    return cosine_distance(reps, reps_deformed) / random_pair_distance(reps, pairs, seed)


__all__ = [
    "cosine_distance",
    "deformation_sensitivity",
    "random_pair_distance",
]
