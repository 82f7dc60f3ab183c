"""VGG16, ResNet50 and InceptionResNetV2 with the keras.applications contract plus ``antialias``.

Each builder builds the stock ``keras.applications`` network (so with ``antialias=None`` it *is*
keras.applications: same layer names, weights and outputs), loads the requested weights into it, and,
with ``antialias``, returns its anti-aliased twin made by :func:`kerasinv.models.twins.antialias`,
which keeps every weight and name. Placement (Zhang 2019, docs/papers.md §3.2, mapped onto the Keras
graphs):

- **VGG16**: the five ``MaxPooling2D(2, 2)`` become max-pool 2x2 at stride 1, then blur.
- **ResNet50** (Keras's v1 puts the stride on the first 1x1 conv of a stage and on the projection
  shortcut): ``conv1_conv`` (7x7/2 stem) unchanged, as in Zhang's ResNets; ``pool1_pool`` becomes
  max-pool 3x3 at stride 1, then blur; each strided 1x1 conv becomes blur, then the 1x1 conv at
  stride 1 (branch and shortcut each blur their input, inside the 1x1 conv layer).
- **InceptionResNetV2**: every stride-2 layer of the stem and of the two reduction blocks
  (``mixed_6a``, ``mixed_7a``) — 3x3/2 convs (conv at stride 1, BN, ReLU, then blur) and 3x3/2
  max-pools — including the first conv, as the issue asks; that first conv sees 3 channels, so running
  it densely is cheap.

With ``"aps[-K]"`` the same layers use adaptive polyphase sampling instead of BlurPool.
"""

from __future__ import annotations

import keras

from kerasinv.layers.antialias import parse_antialias
from kerasinv.layers.blurpool import PADDINGS
from kerasinv.models.pretrained import check_weights_argument, ensure_imagenet_weights
from kerasinv.models.registry import register
from kerasinv.models.twins import antialias as make_twin

_STOCK = {
    "vgg16": ("VGG16", True),  # (keras.applications name, leave the stem conv alone)
    "resnet50": ("ResNet50", True),
    "inception_resnet_v2": ("InceptionResNetV2", False),
}


def _build(
    arch: str,
    include_top: bool,
    weights,
    input_tensor,
    input_shape,
    pooling,
    classes: int,
    classifier_activation,
    name: str | None,
    antialias: str | None,
    antialias_padding: str,
) -> keras.Model:
    parsed = parse_antialias(antialias)  # validates before anything is built
    if antialias_padding not in PADDINGS:
        raise ValueError(f"antialias_padding must be one of {PADDINGS}, got {antialias_padding!r}")
    check_weights_argument(weights, include_top, classes)
    if weights == "imagenet":
        ensure_imagenet_weights(arch, include_top)  # Keras then finds it in its cache
    keras_name, leave_stem = _STOCK[arch]
    options = {"name": name} if name is not None else {}
    stock = getattr(keras.applications, keras_name)(
        include_top=include_top,
        weights=None if weights is None else str(weights),
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        **options,
    )
    if parsed is None:
        return stock
    twin = make_twin(stock, antialias, padding=antialias_padding, leave_stem=leave_stem)
    if name is not None:
        twin.name = name  # the caller's name; else antialias's "vgg16_blur4", apart from stock
    if input_tensor is None:
        return twin
    # connect the twin to the caller's input tensor, as keras.applications does
    connected = keras.models.clone_model(twin, input_tensors=stock.inputs)
    for layer in connected.layers:
        if layer.weights:
            layer.set_weights(twin.get_layer(layer.name).get_weights())
    return connected


_ARGS_DOC = """
    Args:
        include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation,
            name: as ``keras.applications.{keras}``. ``weights``: ``None``, ``"imagenet"`` (Keras's
            download and cache; offline and not cached, a ``DataNotFoundError`` naming the file and
            cache path within 5 s) or the path of a weights file saved from the stock model.
        antialias: ``None`` (stock), ``"blur-K"`` (K = 1..7; ``"blur"`` = 4) or ``"aps[-K]"``.
        antialias_padding: padding of the blur: ``"reflect"`` (default), ``"symmetric"``,
            ``"zero"`` or ``"circular"``.

    Returns:
        A functional ``keras.Model``; inputs ``[B, {size}, {size}, 3]`` preprocessed as
        ``keras.applications.{module}.preprocess_input`` expects.
"""


def vgg16(
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
    antialias=None,
    antialias_padding="reflect",
) -> keras.Model:
    """VGG16 (Simonyan & Zisserman 2015), optionally anti-aliased (see the module docstring)."""
    return _build("vgg16", **locals())


def resnet50(
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
    antialias=None,
    antialias_padding="reflect",
) -> keras.Model:
    """ResNet50 v1 (He et al. 2016), optionally anti-aliased (see the module docstring)."""
    return _build("resnet50", **locals())


def inception_resnet_v2(
    include_top=True,
    weights="imagenet",
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
    antialias=None,
    antialias_padding="reflect",
) -> keras.Model:
    """InceptionResNetV2 (Szegedy et al. 2017), optionally anti-aliased (see the module docstring)."""
    return _build("inception_resnet_v2", **locals())


for _fn, _keras, _size, _module in (
    (vgg16, "VGG16", 224, "vgg16"),
    (resnet50, "ResNet50", 224, "resnet50"),
    (inception_resnet_v2, "InceptionResNetV2", 299, "inception_resnet_v2"),
):
    _fn.__doc__ += _ARGS_DOC.format(keras=_keras, size=_size, module=_module)

    def _registered(classes=1000, input_shape=None, _fn=_fn, weights=None, **options):
        return _fn(classes=classes, input_shape=input_shape, weights=weights, **options)

    _registered.__doc__ = f"Registry entry for :func:`{_fn.__name__}` (weights=None by default)."
    register(_fn.__name__.replace("_", "-"))(_registered)

__all__ = ["inception_resnet_v2", "resnet50", "vgg16"]
