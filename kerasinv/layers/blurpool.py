"""Anti-aliased downsampling: BlurPool (Zhang 2019, "Making Convolutional Networks Shift-Invariant
Again", docs/papers.md §3.1), derived from the paper's description.

``BlurPool2D`` low-pass filters every channel with the normalised outer product of a binomial row of
length ``filter_size`` and then keeps every ``strides``-th pixel:

======== ===================== =====================
size     1-D row               name in the paper
======== ===================== =====================
1        [1]                   plain subsampling
2        [1, 1]                Rect-2
3        [1, 2, 1]             Tri-3
4        [1, 3, 3, 1]          (binomial-4)
5        [1, 4, 6, 4, 1]       Bin-5
6, 7     binomial rows
======== ===================== =====================

Padding: ``floor((k-1)/2)`` before and ``ceil((k-1)/2)`` after, in both spatial dimensions, so an
``H x W`` map becomes ``ceil(H/s) x ceil(W/s)``.

Sampling grid (``offset``): the kept pixels are ``offset, offset + s, ...`` (default 0). A twin of a
stride-2 ``"same"``-padded layer must keep the pixels that layer keeps: Keras pads such a layer
``max((ceil(n/2)-1)·2 + k - n, 0) // 2`` pixels before, which on an even map is one pixel fewer than
its stride-1 version pads, so it keeps odd positions. ``offset="same-K"`` computes that grid from the
map size (at call time when the size is unknown): see :func:`same_padding_offset`. Modes:

- ``"reflect"`` (default): mirror about the edge pixel (``d c b | a b c d | c b a``). When a map is
  smaller than the padding (a 2x2 map with a 4-tap filter), the reflection repeats periodically
  (``a b | a b | a b``), as NumPy's ``np.pad(mode="reflect")`` does, instead of failing; a 1-pixel
  map is repeated.
- ``"symmetric"``: mirror including the edge pixel (``c b a | a b c | c b a``), periodic likewise.
- ``"zero"``: zeros.
- ``"circular"``: wrap around (``b c d | a b c d | a b c``), for circular-shift equivariance (APS).

The filter is a constant of the layer, not a weight, so models keep their weight lists (stock weights
load unchanged) and exported SavedModels need no Python.
"""

from __future__ import annotations

import math

import keras
import numpy as np

ops = keras.ops

PADDINGS = ("reflect", "symmetric", "zero", "circular")


def binomial_filter(filter_size: int) -> np.ndarray:
    """The normalised 2-D binomial filter ``[k, k]`` (float64, sums to 1)."""
    if not 1 <= int(filter_size) <= 7:
        raise ValueError(f"filter_size must be 1 to 7, got {filter_size}")
    row = np.array([math.comb(filter_size - 1, i) for i in range(filter_size)], np.float64)
    kernel = np.outer(row, row)
    return kernel / kernel.sum()


def extension_indices(n, before, after, mode: str):
    """Source indices ``[before + n + after]`` extending a length-n axis by reflect/symmetric/circular."""
    idx = ops.arange(-before, n + after, dtype="int32")
    if mode == "circular":
        return ops.mod(idx, n)
    if mode == "reflect":
        period = ops.maximum(2 * (n - 1), 1)
        m = ops.mod(idx, period)
        out = ops.where(m < n, m, period - m)
        return ops.where(n == 1, ops.zeros_like(out), out)
    period = 2 * n
    m = ops.mod(idx, period)
    return ops.where(m < n, m, period - 1 - m)


def pad_spatial(x, before: int, after: int, mode: str):
    """Pad ``[B, H, W, C]`` by ``before``/``after`` pixels on H and W with ``mode`` (see module doc)."""
    if before == 0 and after == 0:
        return x
    if mode == "zero":
        return ops.pad(x, [[0, 0], [before, after], [before, after], [0, 0]])
    shape = ops.shape(x)
    x = ops.take(x, extension_indices(shape[1], before, after, mode), axis=1)
    return ops.take(x, extension_indices(shape[2], before, after, mode), axis=2)


def same_padding_offset(kernel: int, n, strides: int = 2):
    """Where a ``"same"``-padded ``kernel``-tap layer with ``strides`` samples its dense (stride-1,
    ``"same"``) version on a length-``n`` axis: the first kept position. 0 on odd maps and for even
    kernels; 1 for odd kernels > 1 on even maps (stride 2). ``n`` may be a tensor."""
    if isinstance(n, int):
        m = -(-n // strides)
        return (kernel - 1) // 2 - max((m - 1) * strides + kernel - n, 0) // 2
    m = (n + strides - 1) // strides
    return (kernel - 1) // 2 - ops.maximum((m - 1) * strides + kernel - n, 0) // 2


def _parse_offset(offset) -> tuple[int | None, int | None]:
    """``(fixed offset, None)`` for an int, ``(None, K)`` for ``"same-K"``."""
    if isinstance(offset, str):
        if not offset.startswith("same-") or not offset[5:].isdigit() or int(offset[5:]) < 1:
            raise ValueError(f"offset must be an integer or 'same-K' (K >= 1), got {offset!r}")
        return None, int(offset[5:])
    if int(offset) < 0:
        raise ValueError(f"offset must be >= 0, got {offset}")
    return int(offset), None


@keras.saving.register_keras_serializable(package="kerasinv")
class BlurPool2D(keras.layers.Layer):
    """Blur with a binomial filter, then subsample: ``[B, H, W, C] -> [B, ceil(H/s), ceil(W/s), C]``.

    Args:
        filter_size: length of the binomial row, 1 to 7 (1 = plain subsampling).
        strides: subsampling factor (2 in the paper).
        padding: ``"reflect"`` (default), ``"symmetric"``, ``"zero"`` or ``"circular"``.
        offset: the first kept position on each axis (an int below ``strides``), or ``"same-K"``:
            the grid a ``"same"``-padded K-tap stride-``s`` layer keeps (see the module doc). The
            output is ``ceil((n - offset) / s)`` long.

    Example:
        >>> import numpy as np
        >>> from kerasinv.layers import BlurPool2D
        >>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
        >>> np.asarray(BlurPool2D(1, offset=1)(x))[0, :, :, 0].tolist()  # keeps odd rows, columns
        [[5.0, 7.0], [13.0, 15.0]]
    """

    def __init__(
        self,
        filter_size: int = 4,
        strides: int = 2,
        padding: str = "reflect",
        offset: int | str = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if padding not in PADDINGS:
            raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
        if int(strides) < 1:
            raise ValueError(f"strides must be a positive integer, got {strides}")
        self.filter_size = int(filter_size)
        self.strides = int(strides)
        self.padding = padding
        fixed, self._same_kernel = _parse_offset(offset)
        if fixed is not None and fixed >= self.strides:
            raise ValueError(f"offset must be below strides ({self.strides}), got {offset}")
        self.offset = offset if fixed is None else fixed
        self._filter = binomial_filter(self.filter_size)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError("BlurPool2D needs a known number of channels")
        # [k, k, C, 1] depthwise kernel: one copy of the filter per channel (a constant)
        self._kernel = np.tile(self._filter[:, :, None, None], (1, 1, int(channels), 1))

    def _first_kept(self, n):
        """The first kept position on an axis of length ``n`` (an int, or a tensor)."""
        if self._same_kernel is None:
            return self.offset
        return same_padding_offset(self._same_kernel, n, self.strides)

    def _offsets(self, inputs):
        """The first kept row and column (ints, or tensors for an unknown size)."""
        shape = ops.shape(inputs)
        return self._first_kept(shape[1]), self._first_kept(shape[2])

    def call(self, inputs):
        s = self.strides
        row, col = self._offsets(inputs)
        if self.filter_size == 1:
            return inputs[:, row::s, col::s, :]
        kernel = ops.cast(self._kernel, inputs.dtype)
        if not (isinstance(row, int) and isinstance(col, int) and row == col == 0):
            return self._blur_offset(inputs, kernel, row, col)
        before = (self.filter_size - 1) // 2
        after = self.filter_size - 1 - before
        h, w = inputs.shape[1], inputs.shape[2]
        if h is not None and w is not None and self._has_interior(h) and self._has_interior(w):
            return self._blur_static(inputs, kernel, before, after)
        x = pad_spatial(inputs, before, after, self.padding)
        return ops.depthwise_conv(x, kernel, s, "valid")

    def _blur_offset(self, inputs, kernel, row, col):
        """Blur sampled from ``(row, col)``: pad one stride further after, drop the first
        ``row``/``col`` positions, filter; ``ceil((n - offset) / s)`` outputs per axis."""
        s, k = self.strides, self.filter_size
        before = (k - 1) // 2
        after = k - 1 - before
        shape = ops.shape(inputs)
        x = pad_spatial(inputs, before, after + s, self.padding)
        y = ops.depthwise_conv(x[:, row:, col:, :], kernel, s, "valid")
        rows = (shape[1] - row + s - 1) // s
        cols = (shape[2] - col + s - 1) // s
        return y[:, :rows, :cols, :]

    def _border_outputs(self, n: int) -> tuple[int, int, int]:
        """``(t, first_bottom, m)``: outputs ``[0, t)`` and ``[first_bottom, m)`` of a length-n axis
        read padding; the rest read only the input."""
        k, s = self.filter_size, self.strides
        before = (k - 1) // 2
        m = -(-n // s)
        t = -(-before // s)
        first_bottom = min(m, (n - k + before) // s + 1)
        return t, first_bottom, m

    def _has_interior(self, n: int) -> bool:
        t, first_bottom, _ = self._border_outputs(n)
        return n >= self.filter_size and t < first_bottom

    def _zero_padded(self, x, kernel, before, after):
        """The blur with zero padding: ``"same"`` convolution where its padding is ours (it pads
        ``max((m - 1)·s + k - n, 0) // 2`` before: ``before`` for 2- and 4-tap filters), else an
        explicitly zero-padded copy."""
        k, s = self.filter_size, self.strides
        same = all(
            max((-(-n // s) - 1) * s + k - n, 0) // 2 == before
            for n in (int(x.shape[1]), int(x.shape[2]))
        )
        if same:
            return ops.depthwise_conv(x, kernel, s, "same")
        return ops.depthwise_conv(pad_spatial(x, before, after, "zero"), kernel, s, "valid")

    def _blur_static(self, x, kernel, before, after):
        """Padded blur (static H and W): the zero-padded blur for the interior, and the border rows
        and columns recomputed exactly from thin padded strips, so the map is never copied whole
        just to pad it."""
        k, s, mode = self.filter_size, self.strides, self.padding
        core = self._zero_padded(x, kernel, before, after)
        if mode == "zero":
            return core
        h, w = int(x.shape[1]), int(x.shape[2])
        ext_h = extension_indices(h, before, after, mode)
        ext_w = extension_indices(w, before, after, mode)

        def strip(axis, ext, ext_other, first, last):
            """Outputs ``[first, last)`` along ``axis``, from the padded positions they read."""
            rows = ops.take(x, ext[s * first : s * (last - 1) + k], axis=axis)
            rows = ops.take(rows, ext_other, axis=3 - axis)
            return ops.depthwise_conv(rows, kernel, s, "valid")

        y = core
        for axis, ext, ext_other, n in ((1, ext_h, ext_w, h), (2, ext_w, ext_h, w)):
            t, fb, m = self._border_outputs(n)
            interior = y[:, t:fb] if axis == 1 else y[:, :, t:fb]
            parts = [strip(axis, ext, ext_other, 0, t)] if t > 0 else []
            parts.append(interior)
            if fb < m:
                parts.append(strip(axis, ext, ext_other, fb, m))
            y = ops.concatenate(parts, axis=axis) if len(parts) > 1 else interior
        return y

    def compute_output_shape(self, input_shape):
        def out(n):
            if n is None:
                return None
            return -(-(n - self._first_kept(int(n))) // self.strides)

        b, h, w, c = input_shape
        return (b, out(h), out(w), c)

    def get_config(self):
        return {
            **super().get_config(),
            "filter_size": self.filter_size,
            "strides": self.strides,
            "padding": self.padding,
            "offset": self.offset,
        }


@keras.saving.register_keras_serializable(package="kerasinv")
class Pad2D(keras.layers.Layer):
    """Pad H and W of ``[B, H, W, C]`` by ``before``/``after`` pixels with a mode of :data:`PADDINGS`.

    ``Pad2D(1, 1, "circular")`` before a ``padding="valid"`` 3x3 conv gives a circular conv.

    Example:
        >>> import numpy as np
        >>> from kerasinv.layers import Pad2D
        >>> x = np.arange(3, dtype="float32").reshape(1, 1, 3, 1)
        >>> np.asarray(Pad2D(1, 1, "circular")(x))[0, 1, :, 0].tolist()  # the middle row, wrapped
        [2.0, 0.0, 1.0, 2.0, 0.0]
    """

    def __init__(self, before: int = 1, after: int = 1, mode: str = "circular", **kwargs):
        super().__init__(**kwargs)
        if mode not in PADDINGS:
            raise ValueError(f"mode must be one of {PADDINGS}, got {mode!r}")
        self.before, self.after, self.mode = int(before), int(after), mode

    def call(self, inputs):
        return pad_spatial(inputs, self.before, self.after, self.mode)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        extra = self.before + self.after
        return (b, None if h is None else h + extra, None if w is None else w + extra, c)

    def get_config(self):
        return {
            **super().get_config(),
            "before": self.before,
            "after": self.after,
            "mode": self.mode,
        }
