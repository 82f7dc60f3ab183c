"""Custom layers: anti-aliased downsampling (BlurPool, Zhang 2019)."""

from kerasinv.layers.blurpool import BlurPool2D, binomial_filter, pad_spatial

__all__ = ["BlurPool2D", "binomial_filter", "pad_spatial"]
