"""Zhang's three replacements (papers.md §3.2) as building blocks, and the ``antialias=`` spec.

- MaxPool -> :class:`MaxBlurPool2D`: the max at stride 1 (same pool size and padding), then BlurPool;
- strided Conv -> Conv at stride 1, its activation, then BlurPool (blur after the nonlinearity);
- AvgPool -> BlurPool.

``antialias`` strings: ``None`` (plain), ``"blur-K"`` (BlurPool with the K-tap binomial filter,
K = 1..7; ``"blur"`` means K = 4) and ``"aps"`` / ``"aps-K"`` (adaptive polyphase sampling, optionally
blurred with the K-tap filter first).
"""

from __future__ import annotations

import re

import keras

from kerasinv.layers.aps import PolyphasePool2D
from kerasinv.layers.blurpool import BlurPool2D

_SPEC = re.compile(r"^(blur|aps)(?:-([1-7]))?$")


def parse_antialias(spec: str | None) -> tuple[str, int] | None:
    """``None`` or ``(method, filter_size)`` from an ``antialias`` string (see module doc)."""
    if spec is None:
        return None
    match = _SPEC.match(str(spec).strip().lower())
    if not match:
        raise ValueError(
            f"antialias must be None, 'blur-K' or 'aps[-K]' with K from 1 to 7, got {spec!r}"
        )
    method, size = match.groups()
    return method, int(size) if size else (4 if method == "blur" else 1)


def downsampler(method: str, filter_size: int, padding: str = "reflect", name: str | None = None):
    """The stride-2 layer that replaces plain subsampling: BlurPool2D or PolyphasePool2D."""
    if method == "blur":
        return BlurPool2D(filter_size, strides=2, padding=padding, name=name)
    return PolyphasePool2D(filter_size=filter_size, name=name)


@keras.saving.register_keras_serializable(package="kerasinv")
class MaxBlurPool2D(keras.layers.Layer):
    """Max-pool at stride 1, then anti-aliased subsampling: the anti-aliased twin of
    ``MaxPooling2D(pool_size, strides=2, padding)``, with the same output size for even inputs.

    Sampling grid: BlurPool keeps even positions (0, 2, 4, ...), as Zhang's reference does. Keras's
    stride-2 ``"same"`` pools and convs on even-sized maps keep odd positions of the dense map, so
    with ``"same"`` padding the twin's grid is shifted by one pixel from the stock layer's (same
    shapes, same weights); with ``"valid"`` 2x2 pools (VGG) the grids coincide.

    Args:
        pool_size: the max-pool window.
        padding: the max-pool's padding (``"valid"`` or ``"same"``), as in the layer it replaces.
        antialias: ``"blur-K"`` or ``"aps[-K]"``.
        blur_padding: padding mode of the blur (see :class:`BlurPool2D`).
    """

    _pool_class = keras.layers.MaxPooling2D

    def __init__(
        self, pool_size=2, padding="valid", antialias="blur-4", blur_padding="reflect", **kwargs
    ):
        super().__init__(**kwargs)
        parsed = parse_antialias(antialias)
        if parsed is None:
            raise ValueError("MaxBlurPool2D needs an antialias method, e.g. 'blur-4' or 'aps'")
        self.pool_size, self.padding = pool_size, padding
        self.antialias, self.blur_padding = antialias, blur_padding
        self._max = self._pool_class(pool_size, strides=1, padding=padding)
        self._down = downsampler(*parsed, padding=blur_padding)

    def build(self, input_shape):
        self._max.build(input_shape)
        self._down.build(self._max.compute_output_shape(input_shape))

    def call(self, inputs):
        return self._down(self._max(inputs))

    def compute_output_shape(self, input_shape):
        return self._down.compute_output_shape(self._max.compute_output_shape(input_shape))

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "padding": self.padding,
            "antialias": self.antialias,
            "blur_padding": self.blur_padding,
        }


@keras.saving.register_keras_serializable(package="kerasinv")
class AvgBlurPool2D(MaxBlurPool2D):
    """Average pool at stride 1, then anti-aliased subsampling: the twin of a strided
    ``AveragePooling2D(pool_size, strides=2, padding)`` (arguments as :class:`MaxBlurPool2D`)."""

    _pool_class = keras.layers.AveragePooling2D
