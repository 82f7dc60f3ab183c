"""Azulay & Weiss's one-pixel protocols (docs/papers.md §2.2) as sequences of perturbed images.

Each image yields ``steps + 1`` versions (9 by default, so 8 consecutive one-pixel comparisons):

- ``"crop"``: ``crop x crop`` windows of the (larger) image at the diagonal offsets
  ``c - 4 .. c + 4``, ``c = int((size - crop - 1) / 2)`` as in the authors' code (224 windows of a
  234 image: offsets 0..8);
- ``"black"``: the image resized to ``size`` and pasted on a ``canvas`` at the diagonal offsets
  around the centre, on ``background`` (``"black"`` = pixel 0; ``"mean"`` = the authors' code);
- ``"inpaint"``: as ``"black"``, then the canvas filled by :func:`~kerasinv.perturb.inpaint`;
- ``"scale"``: the image resized to ``size - 4 .. size + 4`` and centred on the canvas.
"""

from __future__ import annotations

import tensorflow as tf

from kerasinv.perturb.inpaint import inpaint
from kerasinv.perturb.resize import resize
from kerasinv.perturb.shifts import (
    TORCHVISION_MEAN_RGB,
    centred_offsets,
    crop,
    diagonal_offsets,
    embed,
    rescale,
)

ONEPIXEL_PROTOCOLS = ("crop", "black", "inpaint", "scale")


def onepixel_sequence(
    images,
    protocol: str,
    *,
    canvas: int = 224,
    size: int | None = None,
    steps: int = 8,
    background="black",
    mean=TORCHVISION_MEAN_RGB,
    max_passes: int = 80,
    stop_below: int = 0,
):
    """The protocol's sequence for every image: ``[B, H, W, C] -> [B, steps + 1, canvas, canvas, C]``.

    Args:
        images: ``[B, H, W, C]``; for ``"crop"`` larger than ``canvas`` by at least ``steps``.
        protocol: ``"crop"``, ``"black"``, ``"inpaint"`` or ``"scale"``.
        canvas: output size (the crop window for ``"crop"``).
        size: size of the embedded image (``"black"``, ``"inpaint"``, ``"scale"``).
        steps: one-pixel steps (8 in the paper).
        background, mean: canvas colour (``"black"``, ``"mean"`` or a value).
        max_passes, stop_below: inpainting options.
    """
    if protocol not in ONEPIXEL_PROTOCOLS:
        raise ValueError(f"protocol must be one of {ONEPIXEL_PROTOCOLS}, got {protocol!r}")
    batch = tf.shape(images)[0]
    if protocol == "crop":
        offsets = diagonal_offsets(images.shape[1], canvas, steps)
        if offsets[0] < 0 or offsets[-1] + canvas > images.shape[1]:
            raise ValueError(
                f"crop needs images of at least {canvas + steps + 1}x{canvas + steps + 1} for "
                f"{steps} steps "
                f"of a {canvas} window, got {images.shape[1]}x{images.shape[2]}"
            )
        frames = [crop(images, tf.fill([batch, 2], o), canvas) for o in offsets]
    elif size is None:
        raise ValueError(f"protocol {protocol!r} needs size= (the embedded image's size)")
    elif protocol == "scale":
        sizes = [size + k - steps // 2 for k in range(steps + 1)]
        frames = [rescale(images, s, canvas, background, mean) for s in sizes]
    else:
        resized = resize(images, size)
        frames = []
        for o in diagonal_offsets(canvas, size, steps):
            offsets = centred_offsets(batch, canvas, size, shift=o - (canvas - size) // 2)
            pasted, mask = embed(resized, offsets, canvas, None, background, mean, return_mask=True)
            if protocol == "inpaint":
                pasted = inpaint(pasted, mask, max_passes=max_passes, stop_below=stop_below)
            frames.append(tf.cast(pasted, images.dtype))
    return tf.stack(frames, axis=1)


__all__ = ["ONEPIXEL_PROTOCOLS", "onepixel_sequence"]
