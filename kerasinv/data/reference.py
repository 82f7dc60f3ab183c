"""Published learning curves of other implementations, shipped with kerasinv (read offline).

``all_cnn_c_caffe_test_curve.csv``: the test-set log of the public Caffe reproduction of All-CNN-C
on CIFAR-10 (GitHub mateuszbuda/ALL-CNN, file ``ALL_CNN_C.log.test``, commit 37bd7305): test
accuracy and loss on all 10,000 test images every 200 SGD iterations of batch 256, 70,000 iterations
in all (best 90.25 %). Its setup, where the paper is silent, is what the springenberg recipes'
``paper`` protocol follows: batch 256, γ 0.05, momentum 0.9, weight decay 0.001 on weights and
biases, Caffe's fan-in ``xavier`` initialisation, GCN + ZCA, dropout 0.2 on the input.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

import numpy as np

CAFFE_BATCH = 256


@dataclass(frozen=True)
class ReferenceCurve:
    """A test curve: ``accuracy[i]`` after ``iterations[i]`` SGD steps of ``batch_size`` images."""

    source: str
    iterations: np.ndarray
    accuracy: np.ndarray
    loss: np.ndarray
    batch_size: int

    def images_seen(self) -> np.ndarray:
        return self.iterations * self.batch_size

    def accuracy_at(self, images_seen: float) -> float | None:
        """Test accuracy after ``images_seen`` training images, linearly interpolated between
        logged points; ``None`` beyond the end of the log."""
        return self._at(self.accuracy, images_seen)

    def loss_at(self, images_seen: float) -> float | None:
        """Test cross-entropy (the data term: Caffe's logged loss leaves weight decay out) after
        ``images_seen`` training images, interpolated as :meth:`accuracy_at`."""
        return self._at(self.loss, images_seen)

    def _at(self, values: np.ndarray, images_seen: float) -> float | None:
        seen = self.images_seen()
        if images_seen < seen[0] or images_seen > seen[-1]:
            return None
        return float(np.interp(images_seen, seen, values))


def caffe_all_cnn_c() -> ReferenceCurve:
    """The Caffe All-CNN-C test curve (see the module docstring)."""
    text = (
        resources.files("kerasinv.data")
        .joinpath("reference/all_cnn_c_caffe_test_curve.csv")
        .read_text(encoding="utf-8")
    )
    rows = list(csv.DictReader(text.splitlines()))
    return ReferenceCurve(
        source="Caffe All-CNN-C reproduction (github.com/mateuszbuda/ALL-CNN, ALL_CNN_C.log.test)",
        iterations=np.array([float(r["NumIters"]) for r in rows]),
        accuracy=np.array([float(r["accuracy"]) for r in rows]),
        loss=np.array([float(r["loss"]) for r in rows]),
        batch_size=CAFFE_BATCH,
    )


__all__ = ["CAFFE_BATCH", "ReferenceCurve", "caffe_all_cnn_c"]
