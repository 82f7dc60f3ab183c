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


def representation_model(model, layer_names):
    """A model mapping the inputs of ``model`` to ``{layer name: output}``: every chosen layer from
    one forward pass."""
    import keras

    missing = [n for n in layer_names if n not in {layer.name for layer in model.layers}]
    if missing:
        raise ValueError(f"model {model.name!r} has no layers {missing}")
    outputs = {name: model.get_layer(name).output for name in layer_names}
    return keras.Model(model.inputs, outputs)


def representations(probe, images, batch_size: int = 128) -> dict[str, np.ndarray]:
    """``{layer: [N, ...]}`` from a :func:`representation_model` ``probe`` on ``images``, in batches."""
    x = np.asarray(images)
    outs = [probe.predict_on_batch(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
    return {name: np.concatenate([o[name] for o in outs]) for name in outs[0]}


def layerwise_sensitivity(
    model, layer_names, images, deformed, batch_size: int = 128, pairs: int = 1000, seed: int = 0
) -> dict[str, np.ndarray]:
    """``{layer: per-image normalised sensitivity [N]}`` of ``model``'s layers between ``images`` and
    ``deformed`` (``[N, H, W, C]`` each, preprocessed as the model expects). To compare one set of
    images with several deformations, build the probe once and call :func:`representations` and
    :func:`deformation_sensitivity` directly, as the ruderman-deformation recipe does."""
    probe = representation_model(model, layer_names)
    clean = representations(probe, images, batch_size)
    moved = representations(probe, deformed, batch_size)
    return {
        name: deformation_sensitivity(clean[name], moved[name], pairs, seed) for name in layer_names
    }


__all__ = [
    "cosine_distance",
    "deformation_sensitivity",
    "layerwise_sensitivity",
    "random_pair_distance",
    "representation_model",
    "representations",
]
