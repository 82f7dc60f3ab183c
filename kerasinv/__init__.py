"""kerasinv: invariance of convolutional networks to small shifts and deformations (Keras 3)."""

__version__ = "0.1.0"


def __getattr__(name):
    # ``kerasinv.antialias`` without importing TensorFlow when only the CLI or errors are needed
    if name == "antialias":
        from kerasinv.models.antialias import antialias

        return antialias
    raise AttributeError(f"module 'kerasinv' has no attribute {name!r}")
