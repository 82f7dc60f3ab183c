"""``preprocess_input`` and ``decode_predictions`` as keras.applications users expect them, for the
architectures in :mod:`kerasinv.models.architectures`, offline (the class index ships with kerasinv).

    >>> from kerasinv import models
    >>> x = models.preprocess_input(photos, "vgg16")                     # doctest: +SKIP
    >>> models.decode_predictions(model.predict(x), top=3)[0]             # doctest: +SKIP
    [('n02123045', 'tabby', 0.71), ...]
"""

from __future__ import annotations

import numpy as np

from kerasinv.errors import ConfigError
from kerasinv.models.architectures import ARCHITECTURES, architecture

#: keras.applications preprocessing modes
MODES = ("caffe", "tf", "torch", "none")
_CAFFE_MEAN_RGB = np.array([123.68, 116.779, 103.939], np.float32)  # "caffe" (pixels)
_TORCH_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_TORCH_STD = np.array([0.229, 0.224, 0.225], np.float32)


def preprocessing_mode(name: str) -> str:
    """The mode of an architecture (``"vgg16"``, ``"inception-resnet-v2"``, ``"mobilenet_1.00_224"``)
    or a mode itself.

    Raises:
        ConfigError: neither an architecture kerasinv knows nor a mode.
    """
    if name in MODES:
        return name
    try:
        return architecture(name).preprocess
    except KeyError:
        raise ConfigError(
            f"no preprocessing known for {name!r}: give one of {', '.join(ARCHITECTURES)} "
            f"or a mode ({', '.join(MODES)})"
        ) from None


def preprocess_input(images, name: str) -> np.ndarray:
    """0..255 RGB images ``[..., 3]`` to what architecture (or mode) ``name`` takes, as
    keras.applications does: ``caffe`` (BGR, ImageNet mean subtracted), ``tf`` ([-1, 1]),
    ``torch`` ([0, 1], ImageNet mean and std), ``none``. A NumPy copy; the input is not changed."""
    x = np.array(images, dtype=np.float32, copy=True)
    if x.shape[-1] != 3:
        raise ConfigError(f"preprocess_input needs RGB images [..., 3], got shape {x.shape}")
    mode = preprocessing_mode(name)
    if mode == "caffe":
        return (x - _CAFFE_MEAN_RGB)[..., ::-1]
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "torch":
        return (x / 255.0 - _TORCH_MEAN) / _TORCH_STD
    return x


def decode_predictions(scores, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """ImageNet class scores ``[N, 1000]`` to ``[(wnid, name, score)]`` lists, best first, from
    kerasinv's copy of the Keras class index (no download)."""
    from kerasinv.data.imagenet import class_index

    scores = np.asarray(scores)
    index = class_index()
    if scores.ndim != 2 or scores.shape[1] != len(index):
        raise ConfigError(
            f"decode_predictions needs ImageNet scores [N, {len(index)}], got shape {scores.shape}"
        )
    out = []
    for row in scores:
        best = np.argsort(row)[::-1][:top]
        out.append([(index[i][0], index[i][1], float(row[i])) for i in best])
    return out


__all__ = ["MODES", "decode_predictions", "preprocess_input", "preprocessing_mode"]
