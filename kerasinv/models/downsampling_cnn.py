"""Networks that differ only in how they downsample (Ruderman et al. 2018; docs/papers.md §4 proposal).

Four 3x3 conv + ReLU stages with ``32·w, 64·w, 128·w, 256·w`` channels; between stages 1–2, 2–3
and 3–4 the map is halved (32 -> 16 -> 8 -> 4) by one of:

- ``"max"``: ``MaxPooling2D(2)``;  ``"avg"``: ``AveragePooling2D(2)``;
- ``"subsample"``: keep every second pixel (``BlurPool2D(1)``: no filtering);
- ``"blur"``: binomial blur, then subsample (``BlurPool2D(filter_size)``, Zhang's filter without a max);
- ``"strided"``: the stage's conv itself has stride 2 (no separate layer);
- ``"none"``: no downsampling at all (the map stays 32x32 up to the global average).

Then global average pooling and a dense softmax classifier (``logits`` is the dense layer before the
softmax). Probe points, one per stage, are named ``stage1`` .. ``stage4`` (the stage's output after
its downsampling), plus ``logits``: see :func:`probe_layers`. Registered as ``downsampling-<kind>``.
"""

from __future__ import annotations

import keras

from kerasinv.layers.blurpool import BlurPool2D
from kerasinv.models.inputs import image_input
from kerasinv.models.registry import register

DOWNSAMPLING = ("max", "avg", "subsample", "blur", "strided", "none")
CHANNELS = (32, 64, 128, 256)


def build_downsampling_cnn(
    downsampling: str = "max",
    classes: int = 10,
    input_shape=(32, 32, 3),
    width: float = 1.0,
    filter_size: int = 4,
    input_normalization: tuple | None = None,
    kernel_initializer: str = "he_normal",
    name: str | None = None,
) -> keras.Model:
    """Build the network with the given ``downsampling`` (see the module docstring).

    Args:
        downsampling: one of :data:`DOWNSAMPLING`.
        classes: outputs of the classifier.
        input_shape: ``(H, W, C)``.
        width: multiplier on :data:`CHANNELS`.
        filter_size: the binomial filter of ``"blur"`` (1–7).
        input_normalization: ``(mean, std)`` per channel applied in the graph (raw pixels in).
        kernel_initializer: of the convs and the classifier.
        name: model name; defaults to ``"downsampling_<kind>"``.

    Returns:
        A functional ``keras.Model`` ``[B, H, W, C] -> [B, classes]`` softmax probabilities.
    """
    if downsampling not in DOWNSAMPLING:
        raise ValueError(f"downsampling must be one of {DOWNSAMPLING}, got {downsampling!r}")
    if not width > 0:
        raise ValueError(f"width must be positive, got {width}")
    inputs, x = image_input(input_shape, input_normalization)
    last = len(CHANNELS)
    for stage, channels in enumerate(CHANNELS, start=1):
        down = stage < last and downsampling != "none"
        strided = down and downsampling == "strided"
        x = keras.layers.Conv2D(
            max(1, round(channels * width)),
            3,
            strides=2 if strided else 1,
            padding="same",
            activation="relu",
            kernel_initializer=kernel_initializer,
            name=f"stage{stage}" if strided or not down else f"conv{stage}",
        )(x)
        if down and not strided:
            name = f"stage{stage}"
            if downsampling == "max":
                x = keras.layers.MaxPooling2D(2, name=name)(x)
            elif downsampling == "avg":
                x = keras.layers.AveragePooling2D(2, name=name)(x)
            elif downsampling == "subsample":
                x = BlurPool2D(1, strides=2, name=name)(x)
            else:
                x = BlurPool2D(filter_size, strides=2, name=name)(x)
    x = keras.layers.GlobalAveragePooling2D(name="global_average")(x)
    x = keras.layers.Dense(classes, kernel_initializer=kernel_initializer, name="logits")(x)
    # float32 under a mixed-precision policy too, as Keras advises for the output
    outputs = keras.layers.Activation("softmax", name="probabilities", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name or f"downsampling_{downsampling}")


def probe_layers(model: keras.Model | None = None) -> list[str]:
    """The layers whose outputs the deformation-sensitivity measurement reads, in depth order."""
    return [f"stage{i}" for i in range(1, len(CHANNELS) + 1)] + ["logits"]


def _register_all() -> None:
    for kind in DOWNSAMPLING:

        def builder(classes=10, input_shape=(32, 32, 3), _k=kind, **options):
            return build_downsampling_cnn(_k, classes=classes, input_shape=input_shape, **options)

        builder.__doc__ = (
            f"Four-stage CNN downsampling by {kind} (see :func:`build_downsampling_cnn`)."
        )
        register(f"downsampling-{kind}")(builder)


_register_all()

__all__ = ["CHANNELS", "DOWNSAMPLING", "build_downsampling_cnn", "probe_layers"]
