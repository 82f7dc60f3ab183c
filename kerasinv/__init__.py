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


def __getattr__(name):
    # ``kerasinv.antialias`` without importing TensorFlow when only the CLI or errors are needed
    if name == "antialias":
        from kerasinv.models.antialias import antialias

        return antialias
    raise AttributeError(f"module 'kerasinv' has no attribute {name!r}")
