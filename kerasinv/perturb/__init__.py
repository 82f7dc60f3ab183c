"""Batched image perturbations as pure TensorFlow ops (docs/papers.md §2.2, §3.3, §4, §5).

Every op takes and returns ``[B, H, W, C]`` batches, runs in ``tf.data``, on a GPU and under
``tf.function(jit_compile=True)``. Coordinates: pixel centres at integer ``(row, col)``, ``(0, 0)``
top-left (see :mod:`kerasinv.perturb.sampling`). Random ops take a stateless ``seed`` (two integers),
so the same seed gives the same perturbation everywhere.
"""

from kerasinv.perturb.fourier import fourier_shift
from kerasinv.perturb.inpaint import binomial_taps, inpaint
from kerasinv.perturb.pipeline import perturbation_dataset
from kerasinv.perturb.protocols import ONEPIXEL_PROTOCOLS, onepixel_sequence
from kerasinv.perturb.resize import resize, resize_matrix
from kerasinv.perturb.sampling import BORDERS, bilinear_sample
from kerasinv.perturb.shifts import (
    TORCHVISION_MEAN_RGB,
    background_value,
    centre_crop,
    centred_offsets,
    circular_shift,
    crop,
    diagonal_offsets,
    diagonal_sweep,
    embed,
    random_circular_shift,
    random_crop_pair,
    random_offsets,
    rescale,
    shift_pair_offsets,
)
from kerasinv.perturb.tps import (
    control_grid,
    evaluate_tps,
    fit_tps,
    grid_interpolation_matrix,
    pixel_grid,
    random_deformation,
    random_displacements,
    warp,
)

__all__ = [
    "BORDERS",
    "ONEPIXEL_PROTOCOLS",
    "TORCHVISION_MEAN_RGB",
    "background_value",
    "bilinear_sample",
    "binomial_taps",
    "centre_crop",
    "centred_offsets",
    "circular_shift",
    "control_grid",
    "crop",
    "diagonal_offsets",
    "diagonal_sweep",
    "embed",
    "evaluate_tps",
    "fit_tps",
    "fourier_shift",
    "grid_interpolation_matrix",
    "inpaint",
    "onepixel_sequence",
    "perturbation_dataset",
    "pixel_grid",
    "random_circular_shift",
    "random_crop_pair",
    "random_deformation",
    "random_displacements",
    "random_offsets",
    "rescale",
    "resize",
    "resize_matrix",
    "shift_pair_offsets",
    "warp",
]
