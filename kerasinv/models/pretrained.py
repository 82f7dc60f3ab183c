"""ImageNet weights for the keras.applications architectures: Keras's own download and cache, with a
fast, explicit failure when the file is not cached and the download server cannot be reached.

Keras keeps downloaded weights in ``$KERAS_HOME/models`` (default ``~/.keras/models``; ``/tmp/.keras``
when the home folder is not writable). Offline, copy the file named in the error message there, or pass
its path as ``weights=PATH``.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from kerasinv.errors import ConfigError, DataNotFoundError

HOST = "storage.googleapis.com"
_BASE = f"https://{HOST}/tensorflow/keras-applications/"


@dataclass(frozen=True)
class WeightsFile:
    """One keras.applications weights file: its cache name, origin URL and MD5."""

    fname: str
    origin: str
    md5: str


#: architecture -> (folder of its files on the server, MD5 with the top, MD5 without), as in
#: keras.applications; the file names follow one pattern (see ``_weights_file``).
_FILES = {
    "vgg16": ("vgg16", "64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc"),
    "resnet50": ("resnet", "2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "inception_resnet_v2": (
        "inception_resnet_v2",
        "e693bd0210a403b3192acc6073ad2e96",
        "d19885ff4a710c122648d3b5c3b684e4",
    ),
}


def _weights_file(arch: str, include_top: bool) -> WeightsFile:
    folder, md5_top, md5_notop = _FILES[arch]
    fname = f"{arch}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
    return WeightsFile(fname, f"{_BASE}{folder}/{fname}", md5_top if include_top else md5_notop)


#: (architecture, include_top) -> the file keras.applications downloads for ``weights="imagenet"``.
IMAGENET_WEIGHTS = {
    (arch, top): _weights_file(arch, top) for arch in _FILES for top in (True, False)
}


def keras_cache_dir() -> Path:
    """Where ``keras.utils.get_file(..., cache_subdir="models")`` keeps files."""
    base = os.environ.get("KERAS_HOME")
    if base is None:
        home = os.path.expanduser("~")
        base = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    if not os.access(base, os.W_OK) and os.path.exists(base):
        base = os.path.join("/tmp", ".keras")
    return Path(base) / "models"


def reachable(host: str = HOST, port: int = 443, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to ``host`` opens within ``timeout`` seconds (DNS included)."""
    result: list[bool] = []

    def probe():
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)  # a hanging DNS lookup is abandoned, not waited for
    return bool(result and result[0])


def ensure_imagenet_weights(arch: str, include_top: bool) -> Path:
    """The cached ImageNet weights file of ``arch``, downloaded through Keras if it is missing.

    Raises:
        DataNotFoundError: in under 5 s, when the file is not cached and cannot be downloaded
            (offline, or ``KERASINV_OFFLINE=1``); the message names the file and the cache path.
    """
    file = IMAGENET_WEIGHTS[(arch, bool(include_top))]
    cached = keras_cache_dir() / file.fname
    if cached.is_file():
        return cached
    offline = os.environ.get("KERASINV_OFFLINE", "") not in ("", "0")
    if offline or not reachable():
        why = "KERASINV_OFFLINE is set" if offline else f"{HOST} cannot be reached"
        raise DataNotFoundError(
            f"ImageNet weights for {arch} are not cached and {why}. Expected file: {cached} "
            f"(download {file.origin} on a machine with network and copy it there, or pass "
            f"weights=PATH / --weights PATH with the file's location)."
        )
    import keras

    return Path(
        keras.utils.get_file(
            file.fname, file.origin, cache_subdir="models", file_hash=file.md5, hash_algorithm="md5"
        )
    )


def check_weights_argument(weights, include_top: bool, classes: int) -> None:
    """Validate ``weights`` as keras.applications does, with actionable messages."""
    if weights is None or weights == "imagenet":
        if weights == "imagenet" and include_top and classes != 1000:
            raise ConfigError(
                f"weights='imagenet' with include_top=True needs classes=1000, got {classes}; "
                "use include_top=False for a new head, or weights=None"
            )
        return
    if not isinstance(weights, str | os.PathLike) or not Path(weights).is_file():
        raise DataNotFoundError(
            f"weights must be None, 'imagenet' or the path of a weights file; {weights!r} is not a "
            "file"
        )


__all__ = [
    "IMAGENET_WEIGHTS",
    "WeightsFile",
    "check_weights_argument",
    "ensure_imagenet_weights",
    "keras_cache_dir",
    "reachable",
]
