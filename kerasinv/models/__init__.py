"""Model builders, the registry (``kerasinv.models.get``) and the anti-aliasing rewrite."""

from kerasinv.models import (  # noqa: F401  (register the builders)
    allcnn,
    downsampling_cnn,
    imagenet,
    vgg_cifar,
)
from kerasinv.models.allcnn import ALLCNN_NAMES, build_allcnn
from kerasinv.models.antialias import (
    AntialiasError,
    Change,
    antialias,
    format_report,
    plan_antialias,
)
from kerasinv.models.downsampling_cnn import DOWNSAMPLING, build_downsampling_cnn, probe_layers
from kerasinv.models.imagenet import INPUT_SIZES, inception_resnet_v2, resnet50, vgg16
from kerasinv.models.registry import get, names, register
from kerasinv.models.vgg_cifar import build_vgg_cifar

__all__ = [
    "ALLCNN_NAMES",
    "DOWNSAMPLING",
    "INPUT_SIZES",
    "AntialiasError",
    "Change",
    "antialias",
    "build_allcnn",
    "build_downsampling_cnn",
    "build_vgg_cifar",
    "format_report",
    "get",
    "inception_resnet_v2",
    "names",
    "plan_antialias",
    "probe_layers",
    "register",
    "resnet50",
    "vgg16",
]
