"""The input of the CIFAR builders: an ``images`` input, optionally standardised inside the graph."""

from __future__ import annotations

import keras


def image_input(input_shape, input_normalization: tuple | None = None):
    """``(inputs, x)``: the ``images`` input ``[B, H, W, C]`` and the tensor the network starts from.

    With ``input_normalization = (mean, std)`` (per-channel sequences) ``x`` is
    ``(inputs - mean) / std`` (a ``Normalization`` layer named ``normalize``), so the model takes raw
    pixels; with ``None``, ``x`` is the input itself.
    """
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    if input_normalization is None:
        return inputs, inputs
    mean, std = input_normalization
    x = keras.layers.Normalization(
        mean=list(mean), variance=[float(v) ** 2 for v in std], name="normalize"
    )(inputs)
    return inputs, x


__all__ = ["image_input"]
