"""The twelve CIFAR networks of Springenberg et al. 2015, "Striving for Simplicity" (Tables 1–2).

Names: ``{model,strided-cnn,convpool-cnn,all-cnn}-{a,b,c}`` (docs/papers.md §1.1–1.2).

Layout (docs/papers.md §1.3; the paper does not give padding, this reproduces its 6x6 head):

- every conv before the head and every stride-2 conv: ``padding="same"``, ReLU;
- pooling: ``MaxPooling2D(3, strides=2, padding="same")`` (Caffe's ceil rounding: 32 -> 16 -> 8);
- head: 3x3 conv 192 ``valid`` (8 -> 6), 1x1 conv 192, 1x1 conv ``classes`` (ReLU as in the paper's
  table, ``class_relu=False`` drops it), global average over 6x6, softmax;
- dropout 20 % on the input and 50 % after each pool or the layer replacing it (for Strided-CNN, after
  the strided conv: the paper is ambiguous there, this is our reading).

Derived models: Strided-CNN removes each pool and gives the conv before it stride 2; ConvPool-CNN adds a
3x3 conv (stride 1, same channels) before each pool; All-CNN replaces each pool by that 3x3 conv at
stride 2. With 10 classes and ``width=1`` the parameter counts are exactly docs/papers.md §1.3's
(All-CNN-C: 1,369,738).
"""

from __future__ import annotations

import keras

from kerasinv.layers.antialias import MaxBlurPool2D, downsampler, parse_antialias
from kerasinv.layers.blurpool import Pad2D
from kerasinv.models.inputs import image_input
from kerasinv.models.registry import register

#: (kernel size, channels) of the convs in the two stages before each pool, per base model.
_STAGES = {
    "a": ([(5, 96)], [(5, 192)]),
    "b": ([(5, 96), (1, 96)], [(5, 192), (1, 192)]),
    "c": ([(3, 96), (3, 96)], [(3, 192), (3, 192)]),
}
_VARIANTS = ("model", "strided-cnn", "convpool-cnn", "all-cnn")
ALLCNN_NAMES = tuple(f"{v}-{b}" for b in "abc" for v in _VARIANTS)


def _scaled(channels: int, width: float) -> int:
    return max(1, round(channels * width))


def build_allcnn(
    variant: str,
    base: str,
    classes: int = 10,
    input_shape=(32, 32, 3),
    width: float = 1.0,
    class_relu: bool = True,
    dropout: bool = True,
    weight_decay: float = 0.0,
    kernel_initializer: str = "glorot_uniform",
    bias_decay: bool = False,
    sampling_grid: str = "keras",
    conv_padding: str = "zero",
    batch_norm: bool = False,
    input_normalization: tuple | None = None,
    antialias: str | None = None,
    name: str | None = None,
) -> keras.Model:
    """Build one Springenberg network.

    Args:
        variant: ``"model"``, ``"strided-cnn"``, ``"convpool-cnn"`` or ``"all-cnn"``.
        base: ``"a"``, ``"b"`` or ``"c"`` (paper Table 1).
        classes: number of classes of the final 1x1 conv.
        input_shape: ``(H, W, C)``; 32x32x3 for CIFAR (gives the paper's 6x6 head).
        width: multiplier on the 96/192 channel counts (for small presets); the class conv keeps
            ``classes`` channels.
        class_relu: keep the ReLU on the class conv (the paper's Table 1 writes "1x1 conv. 10 ReLU").
        dropout: include the paper's dropout layers.
        weight_decay: the paper's λ in Caffe's convention (gradient ``λ·w``), applied to every conv
            kernel as ``keras.regularizers.L2(λ / 2)``.
        kernel_initializer: Keras initializer for the conv kernels. The paper does not say; the
            Caffe reproduction used Caffe's ``xavier`` filler, which is fan-in scaled by default,
            U(±√(3/fan_in)): Keras's ``"lecun_uniform"`` (not ``"glorot_uniform"``, whose spread
            for the first layer, fan-in 27 and fan-out 864, is 4x smaller).
        bias_decay: decay the conv biases too (Caffe decays every parameter unless told otherwise;
            the reproduction did).
        sampling_grid: which positions a stride-2 conv samples on an even-sized map. ``"keras"``:
            ``padding="same"`` (the padding goes after, so it samples positions 1, 3, 5, …);
            ``"even"``: explicit zero padding of ``k // 2`` on every side, then a ``valid``
            conv, which samples positions 0, 2, 4, … as Caffe's ``pad: 1`` (and PyTorch's
            ``padding=1``) do. Weights are identical either way.
        batch_norm: not in the paper (it predates batch normalisation): every conv but the class
            conv becomes conv (no bias) -> BatchNormalization -> ReLU. Trains in far fewer epochs;
            used by the shipped model and the short presets of zhang-blurpool.
        input_normalization: ``(mean, std)`` per channel (sequences of ``C`` floats) applied in
            the graph as the first layer, so the model takes raw 0–255 pixels; ``None`` = the
            model expects already-preprocessed input (the paper's GCN + ZCA runs outside it).
        conv_padding: ``"zero"`` (the paper's) or ``"circular"``: every convolution and pool
            window wraps around the map (the final 3x3 conv then keeps its 8x8 size), and blurs pad
            circularly; with ``antialias="aps"`` the network is invariant to circular shifts (the
            APS paper's circular variant).
        antialias: ``None``, ``"blur-K"`` or ``"aps[-K]"`` (see :mod:`kerasinv.layers.antialias`):
            each max-pool becomes :class:`~kerasinv.layers.MaxBlurPool2D` and each stride-2 conv
            a stride-1 conv, its ReLU, then BlurPool / APS (Zhang 2019). No weights are added:
            the weight list and layer names equal the plain model's.
        name: model name; defaults to e.g. ``"all_cnn_c"``.

    Returns:
        A functional ``keras.Model`` from ``[B, H, W, C]`` to ``[B, classes]`` softmax probabilities.
    """
    if variant not in _VARIANTS:
        raise ValueError(f"variant must be one of {_VARIANTS}, got {variant!r}")
    if base not in _STAGES:
        raise ValueError(f"base must be 'a', 'b' or 'c', got {base!r}")
    aa = parse_antialias(antialias)
    if not width > 0:
        raise ValueError(f"width must be positive, got {width}")
    if sampling_grid not in ("keras", "even"):
        raise ValueError(f"sampling_grid must be 'keras' or 'even', got {sampling_grid!r}")
    if conv_padding not in ("zero", "circular"):
        raise ValueError(f"conv_padding must be 'zero' or 'circular', got {conv_padding!r}")
    circular = conv_padding == "circular"
    blur_padding = "circular" if circular else "reflect"
    regularizer = keras.regularizers.L2(weight_decay / 2) if weight_decay else None
    bias_regularizer = regularizer if bias_decay else None
    count = 0

    def conv(x, kernel, channels, strides=1, padding="same", relu=True, norm=batch_norm):
        nonlocal count
        count += 1
        if circular and kernel > 1:
            x = Pad2D((kernel - 1) // 2, kernel // 2, "circular", name=f"wrap{count}")(x)
            padding = "valid"
        elif strides == 2 and not aa and sampling_grid == "even" and padding == "same":
            x = keras.layers.ZeroPadding2D(kernel // 2, name=f"pad{count}")(x)
            padding = "valid"
        layer = keras.layers.Conv2D(
            channels,
            kernel,
            strides=1 if aa else strides,  # anti-aliased: dense conv, ReLU, then downsample
            padding=padding,
            activation="relu" if relu and not norm else None,
            use_bias=not norm,
            kernel_initializer=kernel_initializer,
            kernel_regularizer=regularizer,
            bias_regularizer=bias_regularizer if not norm else None,
            name=f"conv{count}",
        )
        x = layer(x)
        if norm:
            x = keras.layers.BatchNormalization(momentum=0.9, name=f"bn{count}")(x)
            if relu:
                x = keras.layers.ReLU(name=f"relu{count}")(x)
        if aa and strides == 2:
            x = downsampler(*aa, padding=blur_padding, name=f"{aa[0]}_conv{count}")(x)
        return x

    def pool(x, stage):
        if aa:
            return MaxBlurPool2D(
                3,
                padding="circular" if circular else "same",
                antialias=antialias,
                blur_padding=blur_padding,
                name=f"pool{stage}",
            )(x)
        if circular:
            x = Pad2D(1, 1, "circular", name=f"wrap_pool{stage}")(x)
        return keras.layers.MaxPooling2D(
            3, strides=2, padding="valid" if circular else "same", name=f"pool{stage}"
        )(x)

    inputs, x = image_input(input_shape, input_normalization)
    if dropout:
        x = keras.layers.Dropout(0.2, name="drop_input")(x)
    for stage, layers in enumerate(_STAGES[base], start=1):
        channels = _scaled(layers[-1][1], width)
        for i, (kernel, c) in enumerate(layers):
            last = i == len(layers) - 1
            strides = 2 if (variant == "strided-cnn" and last) else 1
            x = conv(x, kernel, _scaled(c, width), strides=strides)
        if variant == "model":
            x = pool(x, stage)
        elif variant == "convpool-cnn":
            x = conv(x, 3, channels)
            x = pool(x, stage)
        elif variant == "all-cnn":
            x = conv(x, 3, channels, strides=2)
        if dropout:
            x = keras.layers.Dropout(0.5, name=f"drop{stage}")(x)
    x = conv(x, 3, _scaled(192, width), padding="valid")
    x = conv(x, 1, _scaled(192, width))
    x = conv(x, 1, classes, relu=class_relu, norm=False)
    x = keras.layers.GlobalAveragePooling2D(name="global_average")(x)
    # float32 under a mixed-precision policy too, as Keras advises for the output
    outputs = keras.layers.Activation("softmax", name="probabilities", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name or f"{variant}-{base}".replace("-", "_"))


def _register_all() -> None:
    for model_name in ALLCNN_NAMES:
        variant, base = model_name.rsplit("-", 1)

        def builder(classes=10, input_shape=(32, 32, 3), _v=variant, _b=base, **options):
            return build_allcnn(_v, _b, classes=classes, input_shape=input_shape, **options)

        builder.__doc__ = f"Springenberg et al. 2015 {model_name} (see :func:`build_allcnn`)."
        register(model_name)(builder)


_register_all()
