"""Adaptive polyphase sampling (APS; Chaman & Dokmanić 2021, "Truly shift-invariant convolutional
neural networks", docs/papers.md §5), derived from the paper's description.

Stride-2 subsampling keeps one of four polyphase components of a map: offsets (0,0), (0,1), (1,0),
(1,1). Plain subsampling always keeps (0,0), so a one-pixel shift of the input changes what is kept.
APS keeps, per example, the component with the largest norm over all positions and channels; a
circular shift of the input permutes the components, so the same content is kept (shifted). With
circular padding in every convolution and a global average at the end, a network's output is then
invariant to circular shifts of its input.

Odd sizes are first padded by one pixel circularly to even, so the output is ``ceil(H/2) x ceil(W/2)``.
"""

from __future__ import annotations

import keras

from kerasinv.layers.blurpool import BlurPool2D, extension_indices

CRITERIA = ("l2", "l1", "linf")


def circular_pad_to_even(x):
    """``[B, H, W, C]`` with an odd H or W padded by one row or column taken circularly from the
    other side (skipped where a size is statically even): what polyphase sampling needs."""
    ops = keras.ops
    static, shape = x.shape, ops.shape(x)
    for axis in (1, 2):
        n = static[axis]
        if n is None or n % 2:
            x = ops.take(
                x, extension_indices(shape[axis], 0, shape[axis] % 2, "circular"), axis=axis
            )
    return x


def first_max_one_hot(scores):
    """One-hot ``[B, K]`` (int32) of the first maximum of ``scores`` per row (as argmax), with
    comparisons and a cumulative sum: ops every export format has (``ops.argmax`` is not)."""
    ops = keras.ops
    largest = ops.cast(scores >= ops.max(scores, axis=1, keepdims=True), "int32")
    return largest * ops.cast(ops.cumsum(largest, axis=1) == 1, "int32")


class PolyphaseLayer(keras.layers.Layer):
    """What polyphase downsamplings by 2 share (APS here, LPS in :mod:`kerasinv.layers.lps`): an
    optional binomial blur of ``filter_size`` taps (stride 1, circular padding), the map padded
    circularly to even sizes (:meth:`even`), and the output ``[B, ceil(H/2), ceil(W/2), C]``."""

    def __init__(self, filter_size: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.filter_size = int(filter_size)
        self._blur = (
            BlurPool2D(self.filter_size, strides=1, padding="circular", dtype=self.dtype_policy)
            if self.filter_size > 1
            else None
        )

    def build(self, input_shape):
        if self._blur is not None:
            self._blur.build(input_shape)

    def even(self, inputs):
        """``inputs`` blurred (if asked) and padded circularly to even sizes."""
        return circular_pad_to_even(self._blur(inputs) if self._blur is not None else inputs)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (b, None if h is None else -(-h // 2), None if w is None else -(-w // 2), c)

    def get_config(self):
        return {**super().get_config(), "filter_size": self.filter_size}


@keras.saving.register_keras_serializable(package="kerasinv")
class PolyphasePool2D(PolyphaseLayer):
    """APS downsampling by 2: ``[B, H, W, C] -> [B, ceil(H/2), ceil(W/2), C]``.

    Args:
        filter_size: blur with the binomial filter of this size (stride 1, circular padding) before
            choosing; 1 = no blur (the paper's APS), 2..7 = "APS + LPF".
        criterion: norm of a component: ``"l2"`` (paper default), ``"l1"`` or ``"linf"``.

    Example:
        >>> import numpy as np
        >>> from kerasinv.layers import PolyphasePool2D
        >>> x = np.zeros((1, 4, 4, 1), "float32"); x[0, 1, 3, 0] = 5.0  # energy in phase (1, 1)
        >>> y = PolyphasePool2D()(x)  # keeps the component with the largest norm
        >>> tuple(y.shape), float(np.max(y))
        ((1, 2, 2, 1), 5.0)
        >>> float(np.max(PolyphasePool2D()(np.roll(x, (1, 1), axis=(1, 2)))))  # shifted: same
        5.0
    """

    def __init__(self, filter_size: int = 1, criterion: str = "l2", **kwargs):
        super().__init__(filter_size, **kwargs)
        if criterion not in CRITERIA:
            raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
        self.criterion = criterion

    def _norms(self, phases):
        """Norm of each polyphase component: ``[B, h, 2, w, 2, C] -> [B, 2, 2]`` (float32)."""
        ops = keras.ops
        x = ops.cast(phases, "float32")
        # reduce the contiguous channel axis first: far faster on CPU than one 3-axis reduction
        if self.criterion == "l2":
            return ops.sqrt(ops.sum(ops.sum(x * x, axis=5), axis=(1, 3)))
        if self.criterion == "l1":
            return ops.sum(ops.sum(ops.abs(x), axis=5), axis=(1, 3))
        return ops.max(ops.max(ops.abs(x), axis=5), axis=(1, 3))

    def call(self, inputs):
        ops = keras.ops
        x = self.even(inputs)
        shape = ops.shape(x)
        b, h, w, c = shape[0], shape[1] // 2, shape[2] // 2, x.shape[3]
        # a free reshape exposes the four components: x[b, 2i + p, 2j + q, c] = phases[b, i, p, j, q, c]
        phases = ops.reshape(x, (-1, h, 2, w, 2, c))
        # the first component of largest norm (first on ties, as argmax) and its row and column
        # phases p, q: by comparisons and a cumulative sum, not ops.argmax and // or % by 2, which
        # TensorFlow lowers to Bitcast and BitwiseAnd: ops neither TFLite nor ONNX has
        first = first_max_one_hot(ops.reshape(self._norms(phases), (-1, 4)))  # one-hot [B, 4]
        row = first[:, 2] + first[:, 3]  # components (1, 0) and (1, 1)
        col = first[:, 1] + first[:, 3]  # components (0, 1) and (1, 1)
        # pick the component with two gathers of contiguous rows (small index vectors; a
        # take_along_axis materialises an index per element: with it the APS twins of VGG16 and
        # ResNet50 ran at 1.44 and 1.64x plain in benchmarks/antialias_overhead.py):
        # rows [B*h*2, W*C] by 2*(b*h + i) + p, then pixels [B*h*w*2, C] by 2*(b*h*w + k) + q
        rows = ops.reshape(x, (-1, 2 * w * c))
        index = 2 * (ops.arange(b)[:, None] * h + ops.arange(h)[None]) + row[:, None]
        picked = ops.take(rows, ops.reshape(index, (-1,)), axis=0)
        pixels = ops.reshape(picked, (-1, c))
        index = 2 * (ops.arange(b)[:, None] * (h * w) + ops.arange(h * w)[None]) + col[:, None]
        out = ops.take(pixels, ops.reshape(index, (-1,)), axis=0)
        return ops.reshape(out, (-1, h, w, c))

    def get_config(self):
        return {**super().get_config(), "criterion": self.criterion}


__all__ = ["PolyphaseLayer", "PolyphasePool2D", "circular_pad_to_even", "first_max_one_hot"]
