"""``perturbation_dataset``: a tf.data pipeline of (original, perturbed ...) batches for any images.

Each element is a dict of batches: ``"original"`` ``[B, H, W, C]``, ``"index"`` ``[B]`` (position of
each image in the input), ``"label"`` ``[B]`` when labels are given, and one entry per perturbation.
A perturbation is any function ``fn(images, seed) -> tensor`` (or a nest of tensors), where ``seed``
is a stateless seed ``[2]`` derived from the pipeline's seed and the batch number, so the same seed
gives the same perturbations whatever the parallelism, and two models can be fed identical inputs.

    ds = perturbation_dataset(
        images,
        {"pair": lambda x, s: random_crop_pair(x, 224, s)[:2],
         "deformed": lambda x, s: random_deformation(x, 2.0, s)[0]},
        batch_size=64, seed=0)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import tensorflow as tf

Perturbation = Callable[[tf.Tensor, tf.Tensor], object]
RESERVED = ("original", "index", "label")


def perturbation_dataset(
    images,
    perturbations: Mapping[str, Perturbation],
    labels=None,
    batch_size: int = 128,
    seed: int = 0,
    dtype=tf.float32,
) -> tf.data.Dataset:
    """Batches of originals and their perturbations (module docstring).

    Args:
        images: ``[N, H, W, C]`` array or tensor, or a ``tf.data.Dataset`` of single images (or of
            ``(image, label)`` pairs; then ``labels`` must be ``None``).
        perturbations: ``{name: fn(images, seed)}``; names must not be ``original``, ``index`` or
            ``label``.
        labels: optional ``[N]`` labels (arrays only).
        batch_size: images per batch (the last batch may be smaller).
        seed: pipeline seed.
        dtype: images are cast to this dtype before perturbing.
    """
    clash = set(perturbations) & set(RESERVED)
    if clash:
        raise ValueError(f"perturbation names {sorted(clash)} are reserved; rename them")
    if isinstance(images, tf.data.Dataset):
        if labels is not None:
            raise ValueError("give labels inside the dataset as (image, label) pairs, not labels=")
        ds = images
    else:
        ds = tf.data.Dataset.from_tensor_slices(
            images if labels is None else (images, np.asarray(labels))
        )
    has_labels = isinstance(ds.element_spec, tuple)
    ds = ds.enumerate().batch(batch_size)

    def apply(index, element):  # index: [B] positions of the images in the input
        batch_number = index[0] // batch_size
        if has_labels:
            element, label = element
        original = tf.cast(element, dtype)
        out = {"original": original, "index": index}
        if has_labels:
            out["label"] = label
        for k, (name, fn) in enumerate(sorted(perturbations.items())):
            batch_seed = tf.stack([tf.cast(seed, tf.int64), batch_number * 1009 + k])
            out[name] = fn(original, batch_seed)
        return out

    ds = ds.map(apply, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


__all__ = ["perturbation_dataset"]
