"""A gather-based bilinear sampler: the base of every warp in :mod:`kerasinv.perturb`.

**Coordinate convention** (every op of the package): pixel ``(row, col)`` of an image has its centre
at the integer coordinates ``(row, col)``; ``(0, 0)`` is the centre of the top-left pixel, rows grow
downwards and columns rightwards. Sampling an image at its own integer grid returns it exactly.

**Borders** (``border=``) say what lies outside ``[0, H-1] x [0, W-1]``:

- ``"constant"``: pixels outside hold ``fill``; a point between the edge pixel and the outside blends
  them (SciPy's ``map_coordinates(mode="grid-constant")``);
- ``"edge"``: the edge pixel repeats (SciPy ``"nearest"``);
- ``"reflect"``: mirror about the edge pixel's centre, ``d c b | a b c d | c b a`` (SciPy ``"mirror"``);
- ``"symmetric"``: mirror about the image's edge, ``c b a | a b c | c b a`` (SciPy ``"reflect"``).

``keras.ops.image.map_coordinates`` is not used: it has had border bugs on the TensorFlow backend and
its mirror mode fails there; this sampler is plain ``tf.gather`` arithmetic, compiles under
XLA and is differentiable with respect to both the image and the coordinates.
"""

from __future__ import annotations

import tensorflow as tf

BORDERS = ("constant", "edge", "reflect", "symmetric")


def _fold(index, n, border: str):
    """Map integer indices onto ``[0, n)`` for the edge / reflect / symmetric borders."""
    if border == "edge":
        return tf.clip_by_value(index, 0, n - 1)
    if border == "reflect":
        period = tf.maximum(2 * (n - 1), 1)
        m = tf.math.floormod(index, period)
        return tf.where(m < n, m, period - m) * tf.cast(n > 1, index.dtype)
    m = tf.math.floormod(index, 2 * n)  # symmetric
    return tf.where(m < n, m, 2 * n - 1 - m)


def bilinear_sample(images, coords, border: str = "constant", fill=0.0):
    """Sample ``images`` at real-valued ``coords`` by bilinear interpolation.

    Args:
        images: ``[B, H, W, C]`` float tensor.
        coords: ``[B, ..., 2]`` float ``(row, col)`` positions in the convention above; any number of
            middle dimensions (``[B, H', W', 2]`` for a dense warp).
        border: ``"constant"``, ``"edge"``, ``"reflect"`` or ``"symmetric"`` (module docstring).
        fill: value outside the image for ``"constant"``: a scalar or one value per channel.

    Returns:
        ``[B, ..., C]`` with the images' dtype.
    """
    if border not in BORDERS:
        raise ValueError(f"border must be one of {BORDERS}, got {border!r}")
    images = tf.convert_to_tensor(images)
    dtype = images.dtype
    coords = tf.cast(coords, tf.float32)
    shape = tf.shape(images)
    h, w = shape[1], shape[2]
    floor = tf.floor(coords)
    frac = coords - floor
    base = tf.cast(floor, tf.int32)
    r0, c0 = base[..., 0], base[..., 1]
    fr, fc = frac[..., 0:1], frac[..., 1:2]
    # gathers from the flattened batch [B*H*W, C] with int32 linear indices: under XLA 30 % faster
    # than gather_nd on 128x32x32 batches, the same on 16x224x224
    flat = tf.reshape(images, [-1, shape[3]])
    ones = tf.ones(tf.rank(r0) - 1, tf.int32)
    offset = tf.reshape(tf.range(shape[0]) * h * w, tf.concat([[-1], ones], 0))
    if border == "constant":
        fill = tf.cast(tf.convert_to_tensor(fill), tf.float32)

        def at(r, c):
            inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
            r, c = tf.clip_by_value(r, 0, h - 1), tf.clip_by_value(c, 0, w - 1)
            value = tf.cast(tf.gather(flat, r * w + c + offset), tf.float32)
            return tf.where(inside[..., None], value, fill)

    else:

        def at(r, c):
            index = _fold(r, h, border) * w + _fold(c, w, border) + offset
            return tf.cast(tf.gather(flat, index), tf.float32)

    rows, cols = (r0, r0 + 1), (c0, c0 + 1)
    top = at(rows[0], cols[0]) * (1 - fc) + at(rows[0], cols[1]) * fc
    bottom = at(rows[1], cols[0]) * (1 - fc) + at(rows[1], cols[1]) * fc
    return tf.cast(top * (1 - fr) + bottom * fr, dtype)
