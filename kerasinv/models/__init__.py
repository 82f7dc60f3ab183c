"""Model builders, the registry (``kerasinv.models.get``) and the anti-aliasing rewrite."""

from kerasinv.models import allcnn, imagenet  # noqa: F401  (register the builders)
from kerasinv.models.allcnn import ALLCNN_NAMES, build_allcnn
from kerasinv.models.antialias import Change, antialias, format_report, plan_antialias
from kerasinv.models.imagenet import INPUT_SIZES, inception_resnet_v2, resnet50, vgg16
from kerasinv.models.registry import get, names, register

__all__ = [
    "ALLCNN_NAMES",
    "INPUT_SIZES",
    "Change",
    "antialias",
    "build_allcnn",
    "format_report",
    "get",
    "inception_resnet_v2",
    "names",
    "plan_antialias",
    "register",
    "resnet50",
    "vgg16",
]
