"""Model builders and the registry (``kerasinv.models.get``)."""

from kerasinv.models import allcnn  # noqa: F401  (registers the All-CNN family)
from kerasinv.models.allcnn import ALLCNN_NAMES, build_allcnn
from kerasinv.models.registry import get, names, register

__all__ = ["ALLCNN_NAMES", "build_allcnn", "get", "names", "register"]
