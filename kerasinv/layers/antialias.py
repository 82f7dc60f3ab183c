"""Zhang's three replacements (docs/papers.md §3.2) as building blocks, and the ``antialias=`` spec.

- MaxPool -> :class:`MaxBlurPool2D`: the max at stride 1 (same pool size and padding), then BlurPool;
- strided Conv -> Conv at stride 1, its activation, then BlurPool (blur after the nonlinearity);
- AvgPool -> BlurPool.

``antialias`` strings: ``None`` (plain), ``"blur-K"`` (BlurPool with the K-tap binomial filter,
K = 1..7; ``"blur"`` means K = 4) and ``"aps"`` / ``"aps-K"`` (adaptive polyphase sampling, optionally
blurred with the K-tap filter first).
"""

from __future__ import annotations

import keras

from kerasinv.antialias_spec import parse_antialias
from kerasinv.layers.aps import PolyphasePool2D
from kerasinv.layers.blurpool import BlurPool2D, Pad2D
from kerasinv.layers.lps import LearnablePolyphasePool2D


def downsampler(
    method: str,
    filter_size: int,
    padding: str = "reflect",
    name: str | None = None,
    offset: int | str = 0,
):
    """The stride-2 layer that replaces plain subsampling: BlurPool2D (sampling from ``offset``,
    see :class:`BlurPool2D`), PolyphasePool2D (which picks its grid per image) or
    LearnablePolyphasePool2D (which learns to)."""
    if method == "blur":
        return BlurPool2D(filter_size, strides=2, padding=padding, offset=offset, name=name)
    if method == "lps":
        return LearnablePolyphasePool2D(filter_size=filter_size, name=name)
    return PolyphasePool2D(filter_size=filter_size, name=name)


@keras.saving.register_keras_serializable(package="kerasinv")
class MaxBlurPool2D(keras.layers.Layer):
    """Max-pool at stride 1, then anti-aliased subsampling: the anti-aliased twin of
    ``MaxPooling2D(pool_size, strides=2, padding)``, with the same output size for even inputs.

    Sampling grid: the blur keeps the pixels the stock layer keeps. A ``"valid"`` pool keeps
    positions 0, 2, 4, ... of its stride-1 version; a ``"same"`` pool with an odd window on an
    even-sized map keeps 1, 3, 5, ... (``offset="same-K"``, the default for ``"same"``), so
    ``"blur-1"`` computes exactly the stock pool.

    Args:
        pool_size: the max-pool window.
        padding: the max-pool's padding (``"valid"`` or ``"same"``), as in the layer it replaces,
            or ``"circular"`` (the window wraps around the map: for circular-shift equivariance).
        antialias: ``"blur-K"`` or ``"aps[-K]"``.
        blur_padding: padding mode of the blur (see :class:`BlurPool2D`).
        offset: the blur's sampling grid (see :class:`BlurPool2D`); ``None`` = the stock layer's.

    Example:
        >>> import numpy as np
        >>> from kerasinv.layers import MaxBlurPool2D
        >>> x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
        >>> tuple(MaxBlurPool2D(2, antialias="blur-3")(x).shape)
        (2, 4, 4, 3)
        >>> stock = keras.layers.MaxPooling2D(3, strides=2, padding="same")(x)
        >>> bool(np.allclose(MaxBlurPool2D(3, "same", antialias="blur-1")(x), stock))  # no blur
        True
    """

    _pool_class = keras.layers.MaxPooling2D

    def __init__(
        self,
        pool_size=2,
        padding="valid",
        antialias="blur-4",
        blur_padding="reflect",
        offset=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        parsed = parse_antialias(antialias)
        if parsed is None:
            raise ValueError("MaxBlurPool2D needs an antialias method, e.g. 'blur-4' or 'aps'")
        self.pool_size, self.padding = pool_size, padding
        self.antialias, self.blur_padding = antialias, blur_padding
        window = pool_size if isinstance(pool_size, int) else pool_size[0]
        if offset is None:
            offset = f"same-{window}" if padding == "same" else 0
        self.offset = offset
        self._wrap = None
        if padding == "circular":
            self._wrap = Pad2D((window - 1) // 2, window // 2, "circular")
        self._max = self._pool_class(
            pool_size, strides=1, padding="valid" if padding == "circular" else padding
        )
        self._down = downsampler(*parsed, padding=blur_padding, offset=offset)

    def _dense(self, x):
        return self._max(self._wrap(x) if self._wrap is not None else x)

    def _dense_shape(self, input_shape):
        if self._wrap is not None:
            input_shape = self._wrap.compute_output_shape(input_shape)
        return self._max.compute_output_shape(input_shape)

    def build(self, input_shape):
        wrapped = self._wrap.compute_output_shape(input_shape) if self._wrap else input_shape
        self._max.build(wrapped)
        self._down.build(self._max.compute_output_shape(wrapped))

    def call(self, inputs):
        return self._down(self._dense(inputs))

    def compute_output_shape(self, input_shape):
        return self._down.compute_output_shape(self._dense_shape(input_shape))

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "padding": self.padding,
            "antialias": self.antialias,
            "blur_padding": self.blur_padding,
            "offset": self.offset,
        }


@keras.saving.register_keras_serializable(package="kerasinv")
class AvgBlurPool2D(MaxBlurPool2D):
    """Average pool at stride 1, then anti-aliased subsampling: the twin of a strided
    ``AveragePooling2D(pool_size, strides=2, padding)`` (arguments as :class:`MaxBlurPool2D`)."""

    _pool_class = keras.layers.AveragePooling2D


class _Blurred:
    """Mixin: the layer's own computation, with anti-aliased stride-2 subsampling before or after.

    :func:`kerasinv.models.antialias` (:mod:`kerasinv.models.twins`) swaps a layer for ``Blurred<Layer>`` (a subclass: the same
    variables, names and weight order, so stock weights load positionally and by name) instead of
    adding a layer, which would reorder a functional model's weights.
    """

    def __init__(
        self, *args, antialias="blur-4", blur_padding="reflect", offset=0, blur="after", **kwargs
    ):
        super().__init__(*args, **kwargs)
        parsed = parse_antialias(antialias)
        if parsed is None:
            raise ValueError(f"{type(self).__name__} needs an antialias method, e.g. 'blur-4'")
        if blur not in ("before", "after"):
            raise ValueError(f"blur must be 'before' or 'after', got {blur!r}")
        self.antialias, self.blur_padding, self.offset, self.blur = (
            antialias,
            blur_padding,
            offset,
            blur,
        )
        self._down = downsampler(*parsed, padding=blur_padding, offset=offset)

    def build(self, input_shape):
        if self.blur == "before":
            self._down.build(input_shape)
            super().build(self._down.compute_output_shape(input_shape))
        else:
            super().build(input_shape)
            self._down.build(super().compute_output_shape(input_shape))

    def _blurred_call(self, inputs, **kwargs):
        if self.blur == "before":
            return super().call(self._down(inputs), **kwargs)
        return self._down(super().call(inputs, **kwargs))

    def call(self, inputs):
        return self._blurred_call(inputs)

    def compute_output_shape(self, input_shape):
        if self.blur == "before":
            return super().compute_output_shape(self._down.compute_output_shape(input_shape))
        return self._down.compute_output_shape(super().compute_output_shape(input_shape))

    def get_config(self):
        return {
            **super().get_config(),
            "antialias": self.antialias,
            "blur_padding": self.blur_padding,
            "offset": self.offset,
            "blur": self.blur,
        }


def _blurred_class(base, mixin=None):
    """``Blurred<base>``: registered as ``kerasinv>Blurred<base>``, but with ``__name__`` equal to
    the base's, because Keras weight files name a model's layers by class name and position
    (``conv2d_12``): a twin then reads and writes the same weight files as the original."""
    name = f"Blurred{base.__name__}"
    cls = type(
        base.__name__,
        (mixin or _Blurred, base),
        {
            "__doc__": f"``keras.layers.{base.__name__}`` with anti-aliased stride-2 subsampling "
            "before or after it (see :class:`_Blurred`).",
            "__module__": __name__,
            "__qualname__": name,
        },
    )
    return keras.saving.register_keras_serializable(package="kerasinv", name=name)(cls)


class _BlurredWithTraining(_Blurred):
    def call(self, inputs, training=None, mask=None):
        return self._blurred_call(inputs, training=training, mask=mask)


BlurredConv2D = _blurred_class(keras.layers.Conv2D)
BlurredDepthwiseConv2D = _blurred_class(keras.layers.DepthwiseConv2D)
BlurredSeparableConv2D = _blurred_class(keras.layers.SeparableConv2D)
BlurredActivation = _blurred_class(keras.layers.Activation)
BlurredReLU = _blurred_class(keras.layers.ReLU)
BlurredLeakyReLU = _blurred_class(keras.layers.LeakyReLU)
BlurredPReLU = _blurred_class(keras.layers.PReLU)
BlurredELU = _blurred_class(keras.layers.ELU)
BlurredBatchNormalization = _blurred_class(keras.layers.BatchNormalization, _BlurredWithTraining)

#: Keras layer class name -> its blurred twin class.
BLURRED = {
    cls.__name__: cls
    for cls in (
        BlurredConv2D,
        BlurredDepthwiseConv2D,
        BlurredSeparableConv2D,
        BlurredActivation,
        BlurredReLU,
        BlurredLeakyReLU,
        BlurredPReLU,
        BlurredELU,
        BlurredBatchNormalization,
    )
}
