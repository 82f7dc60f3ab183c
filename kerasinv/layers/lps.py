"""Learnable polyphase sampling (LPS; Rojas-Gomez, Lim, Schwing, Do, Yeh, NeurIPS 2022, "Learnable
Polyphase Sampling for Shift Invariant and Equivariant Convolutional Networks", docs/papers.md §6),
derived from the paper's description.

APS (:mod:`kerasinv.layers.aps`) keeps the polyphase component of largest norm. LPS learns the
choice: a small network scores each of the four components, and the layer keeps the best-scored
one. The score must not depend on where the content sits inside a component, so that a circular
shift of the input, which permutes the components (and circularly shifts each), permutes the
scores with them: here two 3x3 convolutions with circular padding and a ReLU between them, then the
mean over positions. With circular padding in the network, the output is then 100 % consistent
under circular shifts by construction, at initialisation as after training.

Training cannot back-propagate through a hard choice, so during training the layer mixes the four
components with Gumbel-softmax weights (the scores plus Gumbel noise, divided by a temperature,
through a softmax); lowering the temperature during training (:class:`TemperatureSchedule`,
geometric from 1 to 0.05 over the run: our choice, the paper anneals without a schedule we could
source) makes the weights nearly one-hot. At inference the layer takes the component of highest
score (first on ties), a hard choice.
"""

from __future__ import annotations

import keras

from kerasinv.layers.aps import PolyphaseLayer, first_max_one_hot
from kerasinv.layers.blurpool import Pad2D


@keras.saving.register_keras_serializable(package="kerasinv")
class LearnablePolyphasePool2D(PolyphaseLayer):
    """LPS downsampling by 2: ``[B, H, W, C] -> [B, ceil(H/2), ceil(W/2), C]`` (odd sizes are first
    padded circularly to even, as in APS).

    Args:
        filter_size: blur with the binomial filter of this size (stride 1, circular) first; 1 = none.
        hidden: channels of the scoring network (default: ``max(4, C // 4)``).
        temperature: the Gumbel-softmax temperature at the start (a non-trainable weight that
            :class:`TemperatureSchedule` lowers during training).
        seed: seed of the Gumbel noise.

    Example:
        >>> import numpy as np
        >>> from kerasinv.layers import LearnablePolyphasePool2D
        >>> x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
        >>> layer = LearnablePolyphasePool2D()
        >>> y = np.asarray(layer(x))  # inference: one component, chosen by the learned score
        >>> y.shape
        (2, 4, 4, 3)
        >>> shifted = np.asarray(layer(np.roll(x, (1, 3), axis=(1, 2))))
        >>> bool(np.allclose(np.sort(shifted.ravel()), np.sort(y.ravel()), atol=1e-5))
        True
    """

    def __init__(
        self,
        filter_size: int = 1,
        hidden: int | None = None,
        temperature: float = 1.0,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(filter_size, **kwargs)
        self.hidden = hidden
        self.initial_temperature, self.seed = float(temperature), seed
        if self.initial_temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self._seeds = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        hidden = int(self.hidden or max(4, channels // 4))
        super().build(input_shape)
        self._pad = Pad2D(1, 1, "circular", dtype=self.dtype_policy)
        self._score1 = keras.layers.Conv2D(
            hidden, 3, activation="relu", name="score1", dtype=self.dtype_policy
        )
        self._score2 = keras.layers.Conv2D(1, 3, name="score2", dtype=self.dtype_policy)
        self._score1.build((None, None, None, channels))
        self._score2.build((None, None, None, hidden))
        self.temperature = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(self.initial_temperature),
            trainable=False,
            name="temperature",
        )

    def components(self, inputs):
        """The four polyphase components ``[B, 4, h, w, C]``, in the order (0,0), (0,1), (1,0),
        (1,1) (after the blur and the circular padding to even sizes)."""
        ops = keras.ops
        x = self.even(inputs)
        shape = ops.shape(x)
        h, w, c = shape[1] // 2, shape[2] // 2, x.shape[3]
        phases = ops.transpose(ops.reshape(x, (-1, h, 2, w, 2, c)), (0, 2, 4, 1, 3, 5))
        return ops.reshape(phases, (-1, 4, h, w, c))

    def scores(self, components):
        """The logit of each component ``[B, 4]``: the scoring network, averaged over positions."""
        ops = keras.ops
        shape = ops.shape(components)
        flat = ops.reshape(components, (-1, shape[2], shape[3], components.shape[4]))
        logits = self._score2(self._pad(self._score1(self._pad(flat))))
        return ops.reshape(ops.mean(logits, axis=(1, 2, 3)), (-1, 4))

    def call(self, inputs, training=None):
        ops = keras.ops
        components = self.components(inputs)
        logits = self.scores(components)
        if training:
            uniform = keras.random.uniform(
                ops.shape(logits), minval=1e-6, maxval=1.0 - 1e-6, seed=self._seeds
            )
            gumbel = -ops.log(-ops.log(uniform))
            temperature = ops.cast(self.temperature, logits.dtype)
            weights = ops.softmax((logits + ops.cast(gumbel, logits.dtype)) / temperature, axis=1)
        else:
            weights = first_max_one_hot(logits)
        weights = ops.cast(weights, components.dtype)[:, :, None, None, None]
        return ops.sum(weights * components, axis=1)

    def get_config(self):
        return {
            **super().get_config(),
            "hidden": self.hidden,
            "temperature": self.initial_temperature,
            "seed": self.seed,
        }


def lps_layers(model) -> list[LearnablePolyphasePool2D]:
    """Every LPS layer in ``model``: on its own, inside a ``Blurred<Layer>`` or a
    ``MaxBlurPool2D`` (their downsampler), or in a nested model."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += lps_layers(layer)
        elif isinstance(layer, LearnablePolyphasePool2D):
            found.append(layer)
        elif isinstance(getattr(layer, "_down", None), LearnablePolyphasePool2D):
            found.append(layer._down)
    return found


class TemperatureSchedule(keras.callbacks.Callback):
    """Lower every LPS layer's Gumbel-softmax temperature geometrically from ``start`` (first
    epoch) to ``end`` (last epoch of ``epochs``), set at each epoch's start (so a resumed run
    continues the schedule)."""

    def __init__(self, epochs: int, start: float = 1.0, end: float = 0.05):
        super().__init__()
        self.epochs, self.start, self.end = int(epochs), float(start), float(end)

    def value(self, epoch: int) -> float:
        progress = min(epoch / max(self.epochs - 1, 1), 1.0)
        return self.start * (self.end / self.start) ** progress

    def on_epoch_begin(self, epoch, logs=None):
        for layer in lps_layers(self.model):
            layer.temperature.assign(self.value(epoch))


__all__ = ["LearnablePolyphasePool2D", "TemperatureSchedule", "lps_layers"]
