"""Custom layers: anti-aliased downsampling (BlurPool, Zhang 2019), adaptive polyphase sampling (APS)
and learnable polyphase sampling (LPS)."""

from kerasinv.layers.antialias import AvgBlurPool2D, MaxBlurPool2D, downsampler, parse_antialias
from kerasinv.layers.aps import PolyphasePool2D
from kerasinv.layers.blurpool import BlurPool2D, Pad2D, binomial_filter, pad_spatial
from kerasinv.layers.lps import LearnablePolyphasePool2D, TemperatureSchedule

__all__ = [
    "AvgBlurPool2D",
    "BlurPool2D",
    "LearnablePolyphasePool2D",
    "MaxBlurPool2D",
    "Pad2D",
    "PolyphasePool2D",
    "TemperatureSchedule",
    "binomial_filter",
    "downsampler",
    "pad_spatial",
    "parse_antialias",
]
