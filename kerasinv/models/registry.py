"""The one model registry: ``get(name, classes=None, input_shape=None, **options)``."""

from __future__ import annotations

from collections.abc import Callable

import keras

from kerasinv.errors import UnknownNameError

Builder = Callable[..., keras.Model]
_BUILDERS: dict[str, Builder] = {}


def register(name: str) -> Callable[[Builder], Builder]:
    """Decorator that registers ``builder`` under ``name`` (lower case, hyphenated)."""

    def wrap(builder: Builder) -> Builder:
        if name in _BUILDERS:
            raise ValueError(f"model name {name!r} is registered twice")
        _BUILDERS[name] = builder
        return builder

    return wrap


#: The modules whose builders register themselves on import (imported on first use of the registry).
BUILDER_MODULES = ("allcnn", "downsampling_cnn", "imagenet", "vgg_cifar")


def _load_builders() -> None:
    import importlib

    for module in BUILDER_MODULES:
        importlib.import_module(f"kerasinv.models.{module}")


def names() -> list[str]:
    """All registered model names, in registration order."""
    _load_builders()
    return list(_BUILDERS)


def get(name: str, classes: int | None = None, input_shape=None, **options) -> keras.Model:
    """Build the registered model ``name``.

    Args:
        name: a registered name, e.g. ``"all-cnn-c"`` (see :func:`names`).
        classes: number of output classes; ``None`` = the builder's default, as
            keras.applications has it (10 for the CIFAR networks, 1,000 for the ImageNet ones).
        input_shape: ``(H, W, C)`` of one input image; ``None`` = the builder's default (32x32x3
            for the All-CNN family, 224x224x3 / 299x299x3 for the ImageNet architectures).
        **options: builder-specific options (All-CNN family: ``width``, ``class_relu``,
            ``dropout``, ``weight_decay``, ``antialias``; ImageNet architectures: the
            keras.applications arguments plus ``antialias``, with ``weights=None`` by default).

    Returns:
        An uncompiled ``keras.Model`` mapping ``[B, H, W, C]`` float32 to ``[B, classes]`` softmax
        probabilities.

    Raises:
        UnknownNameError: ``name`` is not registered.
    """
    _load_builders()
    key = name.strip().lower().replace("_", "-")
    if key not in _BUILDERS:
        raise UnknownNameError("model", name, _BUILDERS)
    if input_shape is not None:
        options["input_shape"] = tuple(input_shape)
    if classes is not None:
        options["classes"] = classes
    return _BUILDERS[key](**options)
