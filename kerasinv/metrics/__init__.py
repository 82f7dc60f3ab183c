"""Invariance metrics: pure functions of stored predictions and representations.

- :mod:`~kerasinv.metrics.invariance`: Azulay & Weiss's P(top-1 change) and MAC, Zhang's consistency
  and accuracy by offset, ImageNet-P flip probability;
- :mod:`~kerasinv.metrics.shift`: Zhang's random-shift consistency of a predictor on square images;
- :mod:`~kerasinv.metrics.stability`: layerwise deformation sensitivity (Ruderman et al., proposal);
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
    true_class_probability_by_offset,
)
from kerasinv.metrics.shift import ShiftResult, centre_crop, random_shift_consistency
from kerasinv.metrics.smoothness import gaussian_smoothness, layer_smoothness, total_variation
from kerasinv.metrics.stability import (
    cosine_distance,
    deformation_sensitivity,
    layerwise_sensitivity,
    random_pair_distance,
    representation_model,
    representations,
)

__all__ = [
    "ShiftResult",
    "accuracy",
    "accuracy_by_offset",
    "centre_crop",
    "consistency",
    "cosine_distance",
    "deformation_sensitivity",
    "flip_probability",
    "gaussian_smoothness",
    "layer_smoothness",
    "layerwise_sensitivity",
    "mean_absolute_change",
    "onepixel_changes",
    "p_top1_change",
    "random_pair_distance",
    "random_shift_consistency",
    "representation_model",
    "representations",
    "total_variation",
    "true_class_probability_by_offset",
]
