"""The paper's CIFAR preprocessing: global contrast normalisation then ZCA whitening.

Springenberg et al. 2015 follow Goodfellow et al. 2013 (Maxout), i.e. pylearn2's
``make_cifar10_gcn_whitened.py`` (docs/papers.md §1.4):

1. GCN, per image over all ``H·W·C`` values: ``x ← scale · (x − mean(x)) / ‖x − mean(x)‖₂`` with
   ``scale = 55`` (a norm below ``1e-8`` is left undivided, as pylearn2 does);
2. ZCA fitted on the **training split only**: ``μ = mean(X)``, ``Σ = (X−μ)ᵀ(X−μ)/N``,
   ``Σ + b·I = V diag(λ) Vᵀ`` with filter bias ``b = 0.1``, ``P = V diag(λ^−½) Vᵀ``;
   applied to every split as ``(x − μ) P``.

Flattening is channels-last; ZCA is equivariant to any fixed ordering of the pixels, so the result
equals pylearn2's channel-major flattening. :class:`ContrastWhitening` is the same transform as a Keras
layer on raw 0–255 pixels, used inside exported SavedModels.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from kerasinv.errors import DataFormatError
from kerasinv.io import atomic_path

GCN_SCALE = 55.0
ZCA_FILTER_BIAS = 0.1
_MIN_DIVISOR = 1e-8


def global_contrast_normalize(x: np.ndarray, scale: float = GCN_SCALE) -> np.ndarray:
    """Per-image GCN. ``x``: ``[N, ...]`` any dtype -> float32 of the same shape."""
    flat = np.asarray(x, np.float32).reshape(len(x), -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    norms = np.sqrt((flat.astype(np.float64) ** 2).sum(axis=1, keepdims=True)) / scale
    norms[norms < _MIN_DIVISOR] = 1.0
    return (flat / norms.astype(np.float32)).reshape(np.shape(x))


class GCNZCA:
    """GCN followed by ZCA whitening, fitted on training images.

    Attributes (after :meth:`fit`):
        mean: ``float32 [D]`` mean of the GCN'd training images, ``D = H·W·C``.
        matrix: ``float32 [D, D]`` symmetric whitening matrix ``P``.
        image_shape: ``(H, W, C)``.
    """

    def __init__(self, scale: float = GCN_SCALE, filter_bias: float = ZCA_FILTER_BIAS):
        self.scale = float(scale)
        self.filter_bias = float(filter_bias)
        self.mean: np.ndarray | None = None
        self.matrix: np.ndarray | None = None
        self.image_shape: tuple[int, ...] | None = None

    def fit(self, x_train: np.ndarray) -> GCNZCA:
        """Fit on ``[N, H, W, C]`` raw training pixels (never on the test split)."""
        x_train = np.asarray(x_train)
        if x_train.ndim != 4:
            raise DataFormatError(f"expected images [N, H, W, C], got shape {x_train.shape}")
        self.image_shape = tuple(int(d) for d in x_train.shape[1:])
        g = global_contrast_normalize(x_train, self.scale).reshape(len(x_train), -1)
        mean = g.mean(axis=0, dtype=np.float64)
        g -= mean.astype(np.float32)
        cov = (g.T @ g).astype(np.float64) / len(g)
        cov[np.diag_indices_from(cov)] += self.filter_bias
        eigenvalues, eigenvectors = np.linalg.eigh(cov)
        matrix = (eigenvectors * (1.0 / np.sqrt(eigenvalues))) @ eigenvectors.T
        self.mean = mean.astype(np.float32)
        self.matrix = matrix.astype(np.float32)
        return self

    def _require_fit(self) -> None:
        if self.matrix is None:
            raise RuntimeError("GCNZCA is not fitted: call fit(x_train) or GCNZCA.load(path) first")

    def transform(self, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Apply to ``[N, H, W, C]`` raw pixels -> float32 ``[N, H, W, C]``."""
        self._require_fit()
        x = np.asarray(x)
        if tuple(x.shape[1:]) != self.image_shape:
            raise DataFormatError(f"fitted on images {self.image_shape}, got {tuple(x.shape[1:])}")
        from kerasinv import progress

        out = np.empty(x.shape, np.float32)
        starts = range(0, len(x), batch_size)
        for i in progress.track(starts, "GCN + ZCA", unit=f"batches of {batch_size} images"):
            g = global_contrast_normalize(x[i : i + batch_size], self.scale).reshape(
                -1, self.mean.size
            )
            out[i : i + batch_size] = ((g - self.mean) @ self.matrix).reshape(
                (-1, *self.image_shape)
            )
        return out

    def layer(self, name: str = "contrast_whitening") -> ContrastWhitening:
        """The same transform as a Keras layer on raw 0–255 pixels ``[B, H, W, C]``."""
        self._require_fit()
        layer = ContrastWhitening(
            image_shape=self.image_shape,
            scale=self.scale,
            mean=self.mean,
            matrix=self.matrix,
            name=name,
        )
        layer.build((None, *self.image_shape))  # eagerly, so it can be used inside tf.data maps
        return layer

    def save(self, path: str | Path) -> None:
        """Write ``mean``, ``matrix`` and settings to an ``.npz`` file (atomically)."""
        self._require_fit()
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(
                f,
                mean=self.mean,
                matrix=self.matrix,
                image_shape=np.asarray(self.image_shape),
                scale=self.scale,
                filter_bias=self.filter_bias,
            )

    @classmethod
    def load(cls, path: str | Path) -> GCNZCA:
        """Read a file written by :meth:`save`."""
        try:
            with np.load(path, allow_pickle=False) as z:
                obj = cls(float(z["scale"]), float(z["filter_bias"]))
                obj.mean, obj.matrix = z["mean"], z["matrix"]
                obj.image_shape = tuple(int(d) for d in z["image_shape"])
        except (OSError, KeyError, ValueError) as e:
            raise DataFormatError(
                f"{path} is not a kerasinv preprocessing file (written by GCNZCA.save): {e}"
            ) from None
        return obj


@keras.saving.register_keras_serializable(package="kerasinv")
class ContrastWhitening(keras.layers.Layer):
    """GCN + ZCA as a layer: raw pixels ``[B, H, W, C]`` (0–255) -> whitened float32, same shape.

    ``mean`` and ``matrix`` are non-trainable weights, so they travel in ``.keras`` files and
    SavedModels (a 32x32x3 whitening matrix is 3072² floats, about 38 MB).
    """

    def __init__(self, image_shape, scale=GCN_SCALE, mean=None, matrix=None, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.scale = float(scale)
        self._initial = (mean, matrix)
        self.dim = int(np.prod(self.image_shape))

    def build(self, input_shape):
        self.mean = self.add_weight(
            shape=(self.dim,), initializer="zeros", trainable=False, name="mean"
        )
        self.matrix = self.add_weight(
            shape=(self.dim, self.dim), initializer="zeros", trainable=False, name="matrix"
        )
        mean, matrix = self._initial
        if mean is not None:
            self.mean.assign(np.asarray(mean, np.float32))
            self.matrix.assign(np.asarray(matrix, np.float32))
        self._initial = (None, None)

    def call(self, images):
        ops = keras.ops
        x = ops.reshape(ops.cast(images, "float32"), (-1, self.dim))
        x = x - ops.mean(x, axis=1, keepdims=True)
        norm = ops.sqrt(ops.sum(ops.square(x), axis=1, keepdims=True)) / self.scale
        norm = ops.where(norm < _MIN_DIVISOR, ops.ones_like(norm), norm)
        x = ops.matmul(x / norm - self.mean, self.matrix)
        return ops.reshape(x, (-1, *self.image_shape))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.image_shape)

    def get_config(self):
        return {**super().get_config(), "image_shape": self.image_shape, "scale": self.scale}


def fit_gcn_zca(x_train: np.ndarray) -> GCNZCA:
    """``GCNZCA().fit(x_train)``, kept on disk keyed by the images' SHA-256.

    The eigendecomposition of the 3072x3072 covariance costs seconds for the embedded sample and
    about a minute for all of CIFAR-10; every smoke run and every test fitted it again. The cache
    (``$KERASINV_CACHE_DIR``, default ``~/.cache/kerasinv``) is an optimisation only: an unreadable
    entry is refitted, an unwritable folder is ignored.
    """
    import hashlib

    from kerasinv.io import cache_dir

    x_train = np.ascontiguousarray(x_train)
    key = hashlib.sha256(
        f"{x_train.shape}|{x_train.dtype}|{GCN_SCALE}|{ZCA_FILTER_BIAS}".encode()
        + x_train.tobytes()
    ).hexdigest()[:24]
    path = cache_dir() / f"gcn-zca-{key}.npz"
    if path.is_file():
        try:
            return GCNZCA.load(path)
        except DataFormatError:
            pass  # refit below
    prep = GCNZCA().fit(x_train)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        prep.save(path)
    except OSError:
        pass
    return prep
