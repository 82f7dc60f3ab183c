"""The one model registry: ``get(name, classes=10, input_shape=(32, 32, 3), **options)``."""

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


def names() -> list[str]:
    """All registered model names, in registration order."""
    return list(_BUILDERS)


def get(name: str, classes: int = 10, input_shape=(32, 32, 3), **options) -> keras.Model:
    """Build the registered model ``name``.

    Args:
        name: a registered name, e.g. ``"all-cnn-c"`` (see :func:`names`).
        classes: number of output classes.
        input_shape: ``(H, W, C)`` of one input image.
        **options: builder-specific options (for the All-CNN family: ``width``, ``class_relu``,
            ``dropout``, ``weight_decay``, ``antialias``).

    Returns:
        An uncompiled ``keras.Model`` mapping ``[B, H, W, C]`` float32 to ``[B, classes]`` softmax
        probabilities.

    Raises:
        UnknownNameError: ``name`` is not registered.
    """
    key = name.strip().lower().replace("_", "-")
    if key not in _BUILDERS:
        raise UnknownNameError("model", name, _BUILDERS)
    return _BUILDERS[key](classes=classes, input_shape=tuple(input_shape), **options)
