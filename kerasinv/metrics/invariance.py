"""Output-level invariance metrics: pure NumPy functions of stored predictions.

Azulay & Weiss (docs/papers.md §2.1, their ``JaggedNess()``): for consecutive pairs ``(x_t, x_{t+1})`` of a
one-pixel sequence with softmax outputs ``p_t``, ``p_{t+1}`` and ``k* = argmax p_t``:

- P(top-1 change) = mean of ``1[argmax p_t != argmax p_{t+1}]``;
- MAC (mean absolute change) = mean of ``|p_t(k*) - p_{t+1}(k*)|``: the change in the probability of
  the *first* image's top-1 class.

Zhang (§3.3): consistency = mean agreement of the top-1 classes of two shifted inputs; accuracy versus
offset along the diagonal sweep. ImageNet-P (Hendrycks & Dietterich 2019): the flip probability of
a sequence, against the previous frame (translations) or the first frame (noise sequences).
"""

from __future__ import annotations

import numpy as np


def _probs(probs, name: str = "probs", rank: int = 3) -> np.ndarray:
    probs = np.asarray(probs, np.float64)
    if probs.ndim != rank:
        shape = "[N, T, classes]" if rank == 3 else "[N, classes]"
        raise ValueError(f"{name} must be {shape}, got shape {probs.shape}")
    return probs


def onepixel_changes(probs) -> tuple[np.ndarray, np.ndarray]:
    """Per-pair results of a sequence: ``probs`` ``[N, T, K]`` -> ``(changed, abs_change)``, each
    ``[N, T-1]``: top-1 changed between steps t and t+1, and ``|p_t(k*) - p_{t+1}(k*)|``."""
    probs = _probs(probs)
    first, second = probs[:, :-1], probs[:, 1:]
    top = first.argmax(-1)
    changed = top != second.argmax(-1)
    p1 = np.take_along_axis(first, top[..., None], -1)[..., 0]
    p2 = np.take_along_axis(second, top[..., None], -1)[..., 0]
    return changed, np.abs(p1 - p2)


def p_top1_change(probs) -> float:
    """Azulay & Weiss's P(top-1 change) over all consecutive pairs of ``[N, T, K]`` sequences."""
    return float(onepixel_changes(probs)[0].mean())


def mean_absolute_change(probs) -> float:
    """Azulay & Weiss's MAC over all consecutive pairs of ``[N, T, K]`` sequences."""
    return float(onepixel_changes(probs)[1].mean())


def accuracy(probs, labels) -> float:
    """Top-1 accuracy of ``[N, K]`` scores."""
    probs = _probs(probs, rank=2)
    return float(np.mean(probs.argmax(-1) == np.asarray(labels)))


def pair_consistency(top1_a, top1_b) -> float:
    """Zhang's consistency from stored top-1 classes: the fraction of pairs (any equal shapes, e.g.
    ``[trials, N]``) whose two classes agree."""
    a, b = np.asarray(top1_a), np.asarray(top1_b)
    if a.shape != b.shape:
        raise ValueError(f"top-1 arrays must have equal shapes, got {a.shape} and {b.shape}")
    return float(np.mean(a == b))


def consistency(probs_a, probs_b) -> float:
    """Zhang's consistency: how often two ``[N, K]`` predictions agree on the top-1 class."""
    a, b = _probs(probs_a, "probs_a", 2), _probs(probs_b, "probs_b", 2)
    return pair_consistency(a.argmax(-1), b.argmax(-1))


def worst_shift_accuracy(top1, labels) -> float:
    """Accuracy under the worst shift of a grid (Michaeli et al. 2023's adversarial shift accuracy,
    docs/papers.md §6): the fraction of images whose top-1 class ``top1`` ``[N, G]`` equals the label
    under every one of the ``G`` shifts (the grid holds the unshifted image). Images labelled -1
    (unknown) are left out."""
    top1, labels = np.asarray(top1), np.asarray(labels)
    if top1.ndim != 2 or len(top1) != len(labels):
        raise ValueError(f"top1 must be [N, G] for N = {len(labels)} labels, got {top1.shape}")
    known = labels >= 0
    if not known.any():
        raise ValueError("no labelled image: the worst-shift accuracy needs labels")
    return float(np.mean(np.all(top1[known] == labels[known, None], axis=1)))


def accuracy_by_offset(probs, labels) -> np.ndarray:
    """Accuracy at each offset of a sweep: ``[N, S, K]`` -> ``[S]`` (Zhang's diagonal plot)."""
    probs = _probs(probs)
    return (probs.argmax(-1) == np.asarray(labels)[:, None]).mean(0)


def true_class_probability_by_offset(probs, labels) -> np.ndarray:
    """Mean probability of the correct class at each offset: ``[N, S, K]`` -> ``[S]``."""
    probs = _probs(probs)
    index = np.broadcast_to(np.asarray(labels)[:, None, None], (*probs.shape[:2], 1))
    return np.take_along_axis(probs, index, -1)[..., 0].mean(0)


def flip_probability(probs, reference: str = "previous") -> float:
    """ImageNet-P flip probability of ``[N, T, K]`` sequences: the fraction of frames whose top-1
    differs from the previous frame (``"previous"``, for translations) or from the first frame
    (``"first"``, for noise sequences)."""
    probs = _probs(probs)
    top = probs.argmax(-1)
    if reference == "previous":
        return float(np.mean(top[:, 1:] != top[:, :-1]))
    if reference == "first":
        return float(np.mean(top[:, 1:] != top[:, :1]))
    raise ValueError(f"reference must be 'previous' or 'first', got {reference!r}")


__all__ = [
    "accuracy",
    "accuracy_by_offset",
    "consistency",
    "flip_probability",
    "mean_absolute_change",
    "onepixel_changes",
    "p_top1_change",
    "pair_consistency",
    "true_class_probability_by_offset",
    "worst_shift_accuracy",
]
