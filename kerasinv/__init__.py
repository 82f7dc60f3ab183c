"""kerasinv: invariance of convolutional networks to small shifts and deformations (Keras 3).

``import kerasinv`` registers kerasinv's Keras layers (BlurPool2D, the ``Blurred<Layer>`` twins, …),
so ``.keras`` files holding them load with plain ``keras.saving.load_model``. It does so as soon as
Keras is imported (at once if it already is), and not before: the CLI checks its arguments without
paying for TensorFlow.
"""

import importlib.abc
import importlib.machinery
import sys

__version__ = "0.1.0"


def _register_layers() -> None:
    import kerasinv.layers  # noqa: F401  (registers the custom layers with Keras)


class _RegisterAfterKeras(importlib.abc.MetaPathFinder):
    """Import :mod:`kerasinv.layers` right after ``keras`` itself finishes importing.

    Every lookup of ``keras`` gets a spec whose loader registers afterwards (TensorFlow looks Keras
    up before it imports it); the finder leaves ``sys.meta_path`` once Keras has been imported.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "keras":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            _register_layers()

        spec.loader.exec_module = exec_then_register
        return spec


if "keras" in sys.modules:
    _register_layers()
elif not any(isinstance(f, _RegisterAfterKeras) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterAfterKeras())


#: the submodules ``kerasinv.<name>`` gives, imported on first use (so ``import kerasinv`` and the
#: CLI stay fast, and TensorFlow loads only when something needs it)
_SUBMODULES = (
    "data", "evaluation", "export", "layers", "measure", "metrics", "models", "perturb", "recipes",
    "training",
)  # fmt: skip
#: functions at the top level: name -> (module, attribute)
_FUNCTIONS = {
    "antialias": ("kerasinv.models.twins", "antialias"),
    "evaluate": ("kerasinv.evaluation", "evaluate"),
}


def __getattr__(name):
    import importlib

    if name in _FUNCTIONS:
        module, attribute = _FUNCTIONS[name]
        value = getattr(importlib.import_module(module), attribute)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"kerasinv.{name}")
    else:
        raise AttributeError(f"module 'kerasinv' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():  # the public API only
    return sorted({"__version__", *_SUBMODULES, *_FUNCTIONS})


__all__ = ["__version__", *_SUBMODULES, *_FUNCTIONS]
