"""VGG-style CIFAR networks (the "VGG13" family Zhang 2019 uses on CIFAR-10; docs/papers.md §3.6).

Layout (the common CIFAR adaptation of Simonyan & Zisserman's configurations; Zhang's CIFAR code is
not public): 3x3 ``same`` convs with batch normalisation and ReLU, ``MaxPooling2D(2)`` after each
block (32 -> 16 -> 8 -> 4 -> 2 -> 1), then a dense classifier on the 1x1x512 map. Registered as
``vgg11-cifar``, ``vgg13-cifar`` and ``vgg16-cifar``.

With ``antialias`` each pool becomes :class:`~kerasinv.layers.MaxBlurPool2D` (max at stride 1, then
BlurPool / APS: Zhang's MaxBlurPool); no weights are added.
"""

from __future__ import annotations

import keras

from kerasinv.layers.antialias import MaxBlurPool2D, parse_antialias
from kerasinv.layers.blurpool import Pad2D
from kerasinv.models.inputs import image_input
from kerasinv.models.registry import register

#: channels per block; each block ends with a pool.
CONFIGS = {
    11: ((64,), (128,), (256, 256), (512, 512), (512, 512)),
    13: ((64, 64), (128, 128), (256, 256), (512, 512), (512, 512)),
    16: ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)),
}


def build_vgg_cifar(
    depth: int = 13,
    classes: int = 10,
    input_shape=(32, 32, 3),
    width: float = 1.0,
    batch_norm: bool = True,
    weight_decay: float = 0.0,
    input_normalization: tuple | None = None,
    antialias: str | None = None,
    conv_padding: str = "zero",
    name: str | None = None,
) -> keras.Model:
    """Build a VGG-``depth`` CIFAR network.

    Args:
        depth: 11, 13 or 16.
        classes: outputs of the classifier.
        input_shape: ``(H, W, C)``; 32x32x3 for CIFAR (five pools: 1x1 at the end).
        width: multiplier on the channel counts (at least 1 channel).
        batch_norm: conv (no bias) -> BatchNormalization -> ReLU; ``False``: conv with bias -> ReLU.
        weight_decay: Caffe-style λ on conv and dense kernels (``L2(λ / 2)``).
        input_normalization: ``(mean, std)`` per channel applied in the graph (raw pixels in).
        antialias: ``None``, ``"blur-K"`` or ``"aps[-K]"``.
        conv_padding: ``"zero"`` or ``"circular"`` (every conv and pool window wraps around the
            map, blurs pad circularly: with ``"aps"``, invariant to circular shifts).
        name: model name; defaults to ``"vgg13_cifar"``.

    Returns:
        A functional ``keras.Model`` ``[B, H, W, C] -> [B, classes]`` softmax probabilities.
    """
    if depth not in CONFIGS:
        raise ValueError(f"depth must be one of {sorted(CONFIGS)}, got {depth}")
    if not width > 0:
        raise ValueError(f"width must be positive, got {width}")
    parse_antialias(antialias)  # validates
    if conv_padding not in ("zero", "circular"):
        raise ValueError(f"conv_padding must be 'zero' or 'circular', got {conv_padding!r}")
    circular = conv_padding == "circular"
    regularizer = keras.regularizers.L2(weight_decay / 2) if weight_decay else None
    inputs, x = image_input(input_shape, input_normalization)
    count = 0
    for block, channels in enumerate(CONFIGS[depth], start=1):
        for c in channels:
            count += 1
            if circular:
                x = Pad2D(1, 1, "circular", name=f"wrap{count}")(x)
            x = keras.layers.Conv2D(
                max(1, round(c * width)),
                3,
                padding="valid" if circular else "same",
                use_bias=not batch_norm,
                activation=None if batch_norm else "relu",
                kernel_regularizer=regularizer,
                name=f"conv{count}",
            )(x)
            if batch_norm:
                x = keras.layers.BatchNormalization(momentum=0.9, name=f"bn{count}")(x)
                x = keras.layers.ReLU(name=f"relu{count}")(x)
        if antialias:
            x = MaxBlurPool2D(
                2,
                padding="circular" if circular else "same",
                antialias=antialias,
                blur_padding="circular" if circular else "reflect",
                name=f"pool{block}",
            )(x)
        else:
            x = keras.layers.MaxPooling2D(2, name=f"pool{block}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="flatten")(x)  # 1x1 on CIFAR: a flatten
    outputs = keras.layers.Dense(
        classes,
        activation="softmax",
        kernel_regularizer=regularizer,
        name="predictions",
        dtype="float32",  # the output in float32 under a mixed-precision policy too
    )(x)
    return keras.Model(inputs, outputs, name=name or f"vgg{depth}_cifar")


def _register_all() -> None:
    for depth in CONFIGS:

        def builder(classes=10, input_shape=(32, 32, 3), _d=depth, **options):
            return build_vgg_cifar(_d, classes=classes, input_shape=input_shape, **options)

        builder.__doc__ = f"VGG{depth} for CIFAR (see :func:`build_vgg_cifar`)."
        register(f"vgg{depth}-cifar")(builder)


_register_all()

__all__ = ["CONFIGS", "build_vgg_cifar"]
