"""Adaptive polyphase sampling (APS; Chaman & Dokmanić 2021, "Truly shift-invariant convolutional
neural networks", papers.md §5), derived from the paper's description.

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


@keras.saving.register_keras_serializable(package="kerasinv")
class PolyphasePool2D(keras.layers.Layer):
    """APS downsampling by 2: ``[B, H, W, C] -> [B, ceil(H/2), ceil(W/2), C]``.

    Args:
        filter_size: blur with the binomial filter of this size (stride 1, circular padding) before
            choosing; 1 = no blur (the paper's APS), 2..7 = "APS + LPF".
        criterion: norm of a component: ``"l2"`` (paper default), ``"l1"`` or ``"linf"``.
    """

    def __init__(self, filter_size: int = 1, criterion: str = "l2", **kwargs):
        super().__init__(**kwargs)
        if criterion not in CRITERIA:
            raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
        self.filter_size = int(filter_size)
        self.criterion = criterion
        self._blur = (
            BlurPool2D(self.filter_size, strides=1, padding="circular", dtype=self.dtype_policy)
            if self.filter_size > 1
            else None
        )

    def build(self, input_shape):
        if self._blur is not None:
            self._blur.build(input_shape)

    def _norms(self, components):
        """Norm of each component: ``[B, 4, h, w, C] -> [B, 4]``."""
        ops = keras.ops
        x = ops.cast(components, "float32")
        if self.criterion == "l2":
            return ops.sqrt(ops.sum(ops.square(x), axis=(2, 3, 4)))
        if self.criterion == "l1":
            return ops.sum(ops.abs(x), axis=(2, 3, 4))
        return ops.max(ops.abs(x), axis=(2, 3, 4))

    def call(self, inputs):
        ops = keras.ops
        x = self._blur(inputs) if self._blur is not None else inputs
        shape = ops.shape(x)
        # circularly pad odd sizes to even (no-op for even sizes)
        x = ops.take(x, extension_indices(shape[1], 0, shape[1] % 2, "circular"), axis=1)
        x = ops.take(x, extension_indices(shape[2], 0, shape[2] % 2, "circular"), axis=2)
        components = ops.stack([x[:, i::2, j::2, :] for i in (0, 1) for j in (0, 1)], axis=1)
        choice = ops.argmax(self._norms(components), axis=1)
        onehot = ops.cast(ops.one_hot(choice, 4), components.dtype)  # exact selection, XLA friendly
        return ops.einsum("bk,bkhwc->bhwc", onehot, components)

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (b, None if h is None else -(-h // 2), None if w is None else -(-w // 2), c)

    def get_config(self):
        return {
            **super().get_config(),
            "filter_size": self.filter_size,
            "criterion": self.criterion,
        }


__all__ = ["PolyphasePool2D"]
