"""Crops, embeddings, rescaling and shifts: Azulay & Weiss's one-pixel protocols (docs/papers.md §2.2),
Zhang's random shift pairs and diagonal sweep (§3.3), and circular shifts (§5).

Offsets are integer ``(row, col)`` tensors ``[B, 2]``, one per image: the position of the crop
window's (or the embedded image's) top-left pixel. A positive offset moves the window or the pasted
image down and to the right. Sizes are Python ints or ``(height, width)`` pairs (they fix the output
shape). Every op is a pure TensorFlow op on ``[B, H, W, C]`` batches and compiles under XLA.
"""

from __future__ import annotations

import tensorflow as tf

from kerasinv.perturb.resize import resize

#: ImageNet mean colour in 0..255 pixels (the torchvision normalisation mean x 255): what Azulay &
#: Weiss's zero canvas is in pixel space, since their code pastes after normalising.
TORCHVISION_MEAN_RGB = (123.675, 116.28, 103.53)


def _pair(size) -> tuple[int, int]:
    return (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))


def _gather_window(images, offsets, size):
    """Rows ``o_r .. o_r + h - 1`` and columns ``o_c .. o_c + w - 1`` of each image, with a mask of
    which indices fall inside the image (indices outside are clamped)."""
    h, w = size
    offsets = tf.cast(offsets, tf.int32)
    shape = tf.shape(images)
    rows = offsets[:, 0:1] + tf.range(h)[None]  # [B, h]
    cols = offsets[:, 1:2] + tf.range(w)[None]  # [B, w]
    inside_r = (rows >= 0) & (rows < shape[1])
    inside_c = (cols >= 0) & (cols < shape[2])
    out = tf.gather(images, tf.clip_by_value(rows, 0, shape[1] - 1), axis=1, batch_dims=1)
    out = tf.gather(out, tf.clip_by_value(cols, 0, shape[2] - 1), axis=2, batch_dims=1)
    return out, inside_r[:, :, None] & inside_c[:, None, :]


def crop(images, offsets, size):
    """Windows of ``size`` at ``offsets``: ``[B, H, W, C] -> [B, h, w, C]``.

    Windows must lie inside the images (``0 <= offset <= H - h``); checked outside XLA.
    """
    h, w = _pair(size)
    offsets = tf.cast(offsets, tf.int32)
    shape = tf.shape(images)
    limits = tf.stack([shape[1] - h, shape[2] - w])
    checks = [
        tf.debugging.assert_greater_equal(offsets, 0, message="crop offsets must be >= 0"),
        tf.debugging.assert_less_equal(
            offsets, limits[None], message="crop windows must lie inside the images"
        ),
    ]
    with tf.control_dependencies(checks):
        out, _ = _gather_window(images, offsets, (h, w))
    return out


def background_value(background, channels: int, mean=TORCHVISION_MEAN_RGB):
    """The canvas colour: ``"black"`` (pixel 0), ``"mean"`` (``mean``, ImageNet's in 0..255 by
    default: the authors' zero-after-normalisation canvas), or a number / one number per channel."""
    if isinstance(background, str):
        if background == "black":
            return tf.zeros([channels])
        if background == "mean":
            return tf.broadcast_to(tf.constant(mean, tf.float32), [channels])
        raise ValueError(f"background must be 'black', 'mean' or a value, got {background!r}")
    return tf.broadcast_to(tf.cast(background, tf.float32), [channels])


def embed(
    images,
    offsets,
    canvas,
    size=None,
    background="black",
    mean=TORCHVISION_MEAN_RGB,
    return_mask: bool = False,
):
    """Paste each image (resized to ``size`` first, if given) onto a canvas at ``offsets``.

    Args:
        images: ``[B, H, W, C]``.
        offsets: int ``[B, 2]`` canvas position of the image's top-left pixel; parts falling outside
            the canvas are cut off.
        canvas: canvas size, int or ``(height, width)``.
        size: resize the images to this size first (bilinear, anti-aliased like PIL's resize);
            ``None`` keeps them as they are.
        background: ``"black"``, ``"mean"`` or a value (see :func:`background_value`).
        return_mask: also return the ``[B, h, w, 1]`` float mask of pasted pixels.

    Returns:
        ``[B, h, w, C]`` canvases in the images' dtype (and the mask).
    """
    images = tf.convert_to_tensor(images)
    dtype = images.dtype
    if size is not None:
        images = resize(images, _pair(size))
    ch, cw = _pair(canvas)
    offsets = tf.cast(offsets, tf.int32)
    # canvas pixel (r, c) shows image pixel (r - o_r, c - o_c) when that pixel exists
    pasted, inside = _gather_window(images, -offsets, (ch, cw))
    fill = background_value(background, images.shape[-1], mean)
    out = tf.where(inside[..., None], tf.cast(pasted, tf.float32), fill)
    out = tf.cast(out, dtype)
    if return_mask:
        return out, tf.cast(inside[..., None], tf.float32)
    return out


def centred_offsets(batch, canvas, size, shift=0):
    """Offsets ``[B, 2]`` that centre a ``size`` image or window in ``canvas`` (floor), plus ``shift``
    pixels diagonally."""
    ch, cw = _pair(canvas)
    h, w = _pair(size)
    centre = tf.constant([(ch - h) // 2 + shift, (cw - w) // 2 + shift], tf.int32)
    return tf.tile(centre[None], [batch, 1])


def diagonal_offsets(canvas, size, steps: int = 8):
    """Azulay & Weiss's ``steps + 1`` consecutive diagonal positions around the centre:
    ``c - steps/2 .. c + steps/2`` with ``c = int((canvas - size - 1) / 2)``, the authors' centre
    (one-pixel steps): frames 0..8 of a 234-px image for 224 windows, 21..29 for a 172-px image
    on a 224 canvas."""
    ch, _ = _pair(canvas)
    h, _ = _pair(size)
    centre = max(ch - h - 1, 0) // 2
    return [centre + k - steps // 2 for k in range(steps + 1)]


def rescale(images, size, canvas, background="black", mean=TORCHVISION_MEAN_RGB):
    """The image resized to ``size`` and centred on the canvas: the "scale" protocol compares
    ``size`` with ``size + 1``."""
    batch = tf.shape(images)[0]
    return embed(images, centred_offsets(batch, canvas, size), canvas, size, background, mean)


def random_offsets(seed, batch, max_offset):
    """Stateless uniform int offsets ``[B, 2]`` in ``0 .. max_offset - 1`` (Zhang's
    ``np.random.randint(max_offset, size=2)`` per image)."""
    return shift_pair_offsets(seed, batch, max_offset)[0, :, 0]


def _seed_pair(seed):
    seed = tf.cast(seed, tf.int64)
    return tf.stack([seed, tf.constant(0, tf.int64)]) if seed.shape.rank == 0 else seed


def shift_pair_offsets(seed, count, max_offset, trials: int = 1):
    """The one generator of random shift pairs: int offsets ``[trials, count, 2, 2]`` (trial, image,
    first / second shift, row / column), uniform in ``0 .. max_offset - 1``.

    Every consistency measurement (``kerasinv evaluate --protocols shift``, the zhang-blurpool recipe,
    fine-tuning reports) draws its pairs here, so one seed gives the same pairs for every model and
    every batch size. ``seed``: an int or a stateless pair of ints; Philox, as TensorFlow's stateless ops.
    """
    return tf.random.stateless_uniform(
        [trials, count, 2, 2], seed=_seed_pair(seed), minval=0, maxval=max_offset,
        dtype=tf.int32, alg="philox",
    )  # fmt: skip


def random_crop_pair(images, crop_size, seed):
    """Zhang's consistency input: two random ``crop_size`` windows of each image.

    Offsets come from :func:`shift_pair_offsets` with ``max_offset = S - crop_size`` (224 from 256:
    0..31; 32 from 40: 0..7).

    Returns:
        ``(first, second, offsets)``: two ``[B, crop, crop, C]`` batches and int ``[B, 2, 2]``.
    """
    batch = tf.shape(images)[0]
    max_offset = images.shape[1] - _pair(crop_size)[0]
    offsets = shift_pair_offsets(seed, batch, max_offset)[0]
    first = crop(images, offsets[:, 0], crop_size)
    return first, crop(images, offsets[:, 1], crop_size), offsets


def centre_crop(images, size):
    """The central ``size`` window (floor offsets): ``[B, H, W, C] -> [B, h, w, C]``."""
    h, w = _pair(size)
    shape = images.shape
    top, left = (shape[1] - h) // 2, (shape[2] - w) // 2
    return images[:, top : top + h, left : left + w]


def diagonal_sweep(images, crop_size):
    """Zhang's diagonal shifts: windows at ``(k, k)`` for ``k = 0 .. S - crop``:
    ``[B, S, S, C] -> [B, S - crop + 1, crop, crop, C]`` (33 windows of 224 from 256)."""
    h, w = _pair(crop_size)
    steps = images.shape[1] - h + 1
    batch = tf.shape(images)[0]
    windows = [crop(images, tf.fill([batch, 2], k), (h, w)) for k in range(steps)]
    return tf.stack(windows, axis=1)


def circular_shift(images, shifts):
    """Roll each image by its own ``shifts`` ``[B, 2]`` (rows, cols; positive = down / right)."""
    shifts = tf.cast(shifts, tf.int32)
    shape = tf.shape(images)
    rows = tf.math.floormod(tf.range(shape[1])[None] - shifts[:, 0:1], shape[1])
    cols = tf.math.floormod(tf.range(shape[2])[None] - shifts[:, 1:2], shape[2])
    out = tf.gather(images, rows, axis=1, batch_dims=1)
    return tf.gather(out, cols, axis=2, batch_dims=1)


def random_circular_shift(images, seed, max_shift=None):
    """Circular shifts by random offsets in ``0 .. max_shift - 1`` (default: the full image size),
    the first shift of :func:`shift_pair_offsets`.

    Returns:
        ``(shifted, shifts)``.
    """
    batch = tf.shape(images)[0]
    max_shift = max_shift or images.shape[1]
    shifts = random_offsets(seed, batch, max_shift)
    return circular_shift(images, shifts), shifts


__all__ = [
    "TORCHVISION_MEAN_RGB",
    "background_value",
    "centre_crop",
    "centred_offsets",
    "circular_shift",
    "crop",
    "diagonal_offsets",
    "diagonal_sweep",
    "embed",
    "random_circular_shift",
    "random_crop_pair",
    "random_offsets",
    "rescale",
    "shift_pair_offsets",
]
