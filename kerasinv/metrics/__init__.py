"""Invariance metrics: pure NumPy functions of stored predictions, representations and kernels.

Nothing here runs a model or a perturbation: :mod:`kerasinv.measure` does that and keeps the
predictions per image; these functions turn them into the papers' numbers.

- :mod:`~kerasinv.metrics.invariance`: Azulay & Weiss's P(top-1 change) and MAC, Zhang's consistency
  and accuracy by offset, ImageNet-P flip probability, AFC's accuracy under the worst shift;
- :mod:`~kerasinv.metrics.stability`: deformation sensitivity of representations (Ruderman et al.,
  proposal);
- :mod:`~kerasinv.metrics.smoothness`: filter total variation and Gaussian-smoothing ratio (proposals).
"""

from kerasinv.metrics.invariance import (
    accuracy,
    accuracy_by_offset,
    consistency,
    flip_probability,
    mean_absolute_change,
    onepixel_changes,
    p_top1_change,
    pair_consistency,
    true_class_probability_by_offset,
    worst_shift_accuracy,
)
from kerasinv.metrics.smoothness import gaussian_smoothness, total_variation
from kerasinv.metrics.stability import (
    cosine_distance,
    deformation_sensitivity,
    random_pair_distance,
)

__all__ = [
    "accuracy",
    "accuracy_by_offset",
    "consistency",
    "cosine_distance",
    "deformation_sensitivity",
    "flip_probability",
    "gaussian_smoothness",
    "mean_absolute_change",
    "onepixel_changes",
    "p_top1_change",
    "pair_consistency",
    "random_pair_distance",
    "total_variation",
    "true_class_probability_by_offset",
    "worst_shift_accuracy",
]
