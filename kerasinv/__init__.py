"""kerasinv: invariance of convolutional networks to small shifts and deformations (Keras 3)."""

__version__ = "0.1.0"
