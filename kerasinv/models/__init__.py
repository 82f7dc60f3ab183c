"""Model builders, the registry (``kerasinv.models.get``), loading, the per-architecture table and
the anti-aliasing rewrite.

Names are imported on first use, so ``kerasinv.models.architectures`` (and the CLI's checks) do not
pay for Keras and TensorFlow.

- :mod:`~kerasinv.models.registry`: ``get(name, ...)`` / ``names()`` over every builder;
- :mod:`~kerasinv.models.allcnn`, :mod:`~kerasinv.models.vgg_cifar`,
  :mod:`~kerasinv.models.downsampling_cnn`, :mod:`~kerasinv.models.imagenet`: the builders;
- :mod:`~kerasinv.models.twins`: ``antialias(model)``, the anti-aliased twin of any Keras CNN;
- :mod:`~kerasinv.models.architectures`: input size, preprocessing and crop ratio per architecture;
- :mod:`~kerasinv.models.loading`: any ``.keras`` file, SavedModel or ``keras.Model`` as a predictor;
  :mod:`~kerasinv.models.deployed`: ``.tflite`` and ``.onnx`` files; both give a
  :class:`~kerasinv.models.loaded.LoadedModel`.
"""

import importlib

#: public name -> the submodule that defines it
_EXPORTS = {
    "ALLCNN_NAMES": "allcnn",
    "build_allcnn": "allcnn",
    "AntialiasError": "twins",
    "Change": "twins",
    "antialias": "twins",
    "format_report": "twins",
    "plan_antialias": "twins",
    "ARCHITECTURES": "architectures",
    "architecture": "architectures",
    "photo_size": "architectures",
    "preprocessing_for": "architectures",
    "DOWNSAMPLING": "downsampling_cnn",
    "build_downsampling_cnn": "downsampling_cnn",
    "probe_layers": "downsampling_cnn",
    "inception_resnet_v2": "imagenet",
    "resnet50": "imagenet",
    "vgg16": "imagenet",
    "decode_predictions": "preprocessing",
    "preprocess_input": "preprocessing",
    "LoadedModel": "loading",
    "from_keras": "loading",
    "load_model": "loading",
    "get": "registry",
    "names": "registry",
    "register": "registry",
    "build_vgg_cifar": "vgg_cifar",
}


#: submodules reachable as attributes (``kerasinv.models.architectures``)
_SUBMODULES = ("allcnn", "architectures", "downsampling_cnn", "imagenet", "loading", "pretrained",
               "preprocessing", "registry", "shipped", "twins", "vgg_cifar")  # fmt: skip


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"kerasinv.models.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kerasinv.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"kerasinv.models.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*_EXPORTS, *_SUBMODULES})


__all__ = sorted(_EXPORTS)
