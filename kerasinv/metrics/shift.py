"""Zhang's shift consistency (docs/papers.md §3.3) and centre-crop accuracy.

Consistency: for each image (``S x S``, e.g. 256), draw two offsets ``o0, o1`` uniformly from
``{0, ..., S - crop - 1}^2`` (Zhang's ``np.random.randint(S - crop, size=2)``), classify the two
``crop x crop`` windows, and score 1 if their top-1 classes agree. Averaged over images and ``trials``
passes. Accuracy uses the central ``crop x crop`` window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ShiftResult:
    """Per-image results of :func:`random_shift_consistency`.

    Attributes:
        accuracy: top-1 accuracy of the centre crops (``nan`` without labels).
        consistency: mean agreement of the two shifted crops' top-1 classes.
        agree: bool ``[trials, N]`` agreement per trial and image.
        offsets: int ``[trials, N, 2, 2]`` (crop 0/1, row/column) offsets used.
        centre_top1: int ``[N]`` top-1 class of each centre crop.
    """

    accuracy: float
    consistency: float
    agree: np.ndarray
    offsets: np.ndarray
    centre_top1: np.ndarray


def centre_crop(images: np.ndarray, crop: int) -> np.ndarray:
    """The central ``crop x crop`` window of ``[N, S, S, C]`` images."""
    top = (images.shape[1] - crop) // 2
    left = (images.shape[2] - crop) // 2
    return images[:, top : top + crop, left : left + crop]


def _top1(predict: Callable, images: np.ndarray, batch_size: int) -> np.ndarray:
    out = [
        np.argmax(np.asarray(predict(images[i : i + batch_size])), axis=-1)
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(out)


def random_shift_consistency(
    predict: Callable[[np.ndarray], np.ndarray],
    images: np.ndarray,
    labels: np.ndarray | None = None,
    crop: int = 224,
    trials: int = 5,
    seed: int = 0,
    batch_size: int = 32,
) -> ShiftResult:
    """Zhang's consistency of ``predict`` on ``images`` ``[N, S, S, C]`` (see the module doc).

    Args:
        predict: maps a batch ``[B, crop, crop, C]`` (the images' dtype and range; preprocess
            inside) to scores ``[B, classes]``.
        images: ``[N, S, S, C]`` with ``S > crop``.
        labels: optional ``[N]`` class indices for the centre-crop accuracy.
        crop: window size; offsets are drawn from ``0 .. S - crop - 1``.
        trials: passes over the images (Zhang uses 5).
        seed: NumPy seed of the offsets (the same seed gives the same offsets for every model).
        batch_size: images per ``predict`` call.
    """
    n, s = images.shape[0], images.shape[1]
    if images.shape[2] != s or s <= crop:
        raise ValueError(f"images must be square and larger than crop={crop}, got {images.shape}")
    from kerasinv import perturb  # TensorFlow only when measuring: the metrics stay NumPy

    rng = np.random.default_rng(seed)
    offsets = rng.integers(0, s - crop, size=(trials, n, 2, 2))
    centre = _top1(predict, centre_crop(images, crop), batch_size)
    agree = np.zeros((trials, n), bool)
    for t in range(trials):
        tops = [
            _top1(predict, perturb.crop(images, offsets[t, :, k], crop).numpy(), batch_size)
            for k in (0, 1)
        ]
        agree[t] = tops[0] == tops[1]
    accuracy = float(np.mean(centre == labels)) if labels is not None else float("nan")
    return ShiftResult(accuracy, float(agree.mean()), agree, offsets, centre)
