"""Thin-plate splines and random smooth deformations (docs/papers.md §4; the deformation model is our
proposal there, since Ruderman et al.'s exact generator is unverified).

A thin-plate spline maps 2-D points ``x`` to ``f(x) = a0 + A x + sum_i w_i U(|x - p_i|)`` with the
kernel ``U(r) = r**2 log r`` (``U(0) = 0``) and the side conditions ``sum w_i = 0``,
``sum w_i p_i = 0``. Fitting solves, per batch element,

    [[K + lambda I, P], [P^T, 0]] [w; a] = [v; 0],   K_ij = U(|p_i - p_j|),  P = [1, p]

(SciPy's ``RBFInterpolator(kernel="thin_plate_spline", degree=1, smoothing=lambda)``). Coordinates
are ``(row, col)`` pixels (:mod:`kerasinv.perturb.sampling`); the fit runs in float64 on points
scaled to about unit size, which the spline is equivariant to, so float32 inputs keep 1e-4 accuracy.

Random deformations displace a fixed ``k x k`` grid of control points (corners included) by i.i.d.
``U[-C, C]`` pixels per axis and warp the image by the *backward* map: output pixel ``p`` shows the
input at ``p + d(p)``, where ``d`` is the spline through the displacements. On a fixed grid the map
from displacements to the dense field is a constant ``[H*W, k*k]`` matrix, so a batch costs one
matmul and one bilinear sample. ``C = 0`` is exactly the identity.
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from kerasinv.perturb.sampling import bilinear_sample


def _kernel(r2):
    """``U`` from squared distances: ``r**2 log r = 0.5 r2 log r2`` (0 at 0)."""
    safe = tf.where(r2 > 0, r2, tf.ones_like(r2))
    return tf.where(r2 > 0, 0.5 * r2 * tf.math.log(safe), tf.zeros_like(r2))


def _sq_dist(a, b):
    """``[B, M, 2] x [B, N, 2] -> [B, M, N]`` squared distances."""
    diff = a[:, :, None, :] - b[:, None, :, :]
    return tf.reduce_sum(diff * diff, axis=-1)


def _scale(points):
    """Centre and scale of a point set ``[B, N, 2]`` (for conditioning)."""
    centre = tf.reduce_mean(points, axis=1, keepdims=True)
    spread = tf.reduce_max(tf.abs(points - centre), axis=[1, 2], keepdims=True)
    return centre, tf.maximum(spread, 1e-12)


def fit_tps(control, targets, regularization: float = 0.0):
    """Fit thin-plate splines mapping ``control`` to ``targets``, batched.

    Args:
        control: ``[B, N, 2]`` control points (N >= 3, not all on a line).
        targets: ``[B, N, D]`` values at the control points (D = 2 for a map of the plane).
        regularization: ``lambda >= 0``; 0 interpolates exactly.

    Returns:
        A dict of float64 tensors: ``control``, ``centre``, ``spread``, ``weights`` ``[B, N, D]``
        and ``affine`` ``[B, 3, D]``, for :func:`evaluate_tps`.
    """
    control = tf.cast(control, tf.float64)
    targets = tf.cast(targets, tf.float64)
    centre, spread = _scale(control)
    p = (control - centre) / spread
    n = tf.shape(p)[1]
    batch = tf.shape(p)[0]
    k = _kernel(_sq_dist(p, p))
    # smoothing in unit coordinates: U scales by spread**2 (plus an affine term), so scale lambda too
    k += tf.cast(regularization, tf.float64) / (spread**2) * tf.eye(n, dtype=tf.float64)[None]
    ones = tf.ones([batch, n, 1], tf.float64)
    poly = tf.concat([ones, p], axis=-1)  # [B, N, 3]
    top = tf.concat([k, poly], axis=-1)
    bottom = tf.concat([tf.transpose(poly, [0, 2, 1]), tf.zeros([batch, 3, 3], tf.float64)], -1)
    system = tf.concat([top, bottom], axis=1)  # [B, N+3, N+3]
    rhs = tf.concat([targets, tf.zeros([batch, 3, tf.shape(targets)[-1]], tf.float64)], axis=1)
    solution = tf.linalg.solve(system, rhs)
    return {
        "control": p,
        "centre": centre,
        "spread": spread,
        "weights": solution[:, :n],
        "affine": solution[:, n:],
    }


def evaluate_tps(params, points):
    """Evaluate fitted splines at ``points`` ``[B, M, 2]`` -> ``[B, M, D]`` (float32)."""
    q = (tf.cast(points, tf.float64) - params["centre"]) / params["spread"]
    u = _kernel(_sq_dist(q, params["control"]))
    poly = tf.concat([tf.ones_like(q[..., :1]), q], axis=-1)
    out = tf.matmul(u, params["weights"]) + tf.matmul(poly, params["affine"])
    return tf.cast(out, tf.float32)


def pixel_grid(height: int, width: int):
    """``[H, W, 2]`` float32 ``(row, col)`` centres of every pixel."""
    rows, cols = tf.meshgrid(tf.range(height), tf.range(width), indexing="ij")
    return tf.cast(tf.stack([rows, cols], axis=-1), tf.float32)


def warp(images, field, border: str = "reflect", fill=0.0):
    """Backward warp: output pixel ``p`` shows ``images`` at ``p + field[p]``.

    Args:
        images: ``[B, H, W, C]``.
        field: ``[B, H, W, 2]`` displacements in pixels, ``(row, col)``.
        border, fill: as :func:`~kerasinv.perturb.sampling.bilinear_sample`.
    """
    shape = tf.shape(images)
    coords = pixel_grid(shape[1], shape[2])[None] + tf.cast(field, tf.float32)
    return bilinear_sample(images, coords, border=border, fill=fill)


def control_grid(height: int, width: int, grid: int) -> np.ndarray:
    """``[grid * grid, 2]`` control points on a regular grid spanning the image, corners included."""
    rows = np.linspace(0.0, height - 1.0, grid)
    cols = np.linspace(0.0, width - 1.0, grid)
    return np.stack(np.meshgrid(rows, cols, indexing="ij"), -1).reshape(-1, 2)


@functools.lru_cache(maxsize=32)
def grid_interpolation_matrix(height: int, width: int, grid: int) -> np.ndarray:
    """The constant ``[H*W, grid*grid]`` float32 matrix taking displacements at the control grid to
    the dense thin-plate-spline field (interpolating, no regularisation)."""
    points = control_grid(height, width, grid)
    centre = points.mean(0)
    spread = max(np.abs(points - centre).max(), 1e-12)
    p = (points - centre) / spread
    n = len(p)

    def kern(r2):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(r2 > 0, 0.5 * r2 * np.log(np.where(r2 > 0, r2, 1.0)), 0.0)

    system = np.zeros((n + 3, n + 3))
    system[:n, :n] = kern(((p[:, None] - p[None]) ** 2).sum(-1))
    system[:n, n] = 1.0
    system[:n, n + 1 :] = p
    system[n, :n] = 1.0
    system[n + 1 :, :n] = p.T
    inverse = np.linalg.inv(system)[:, :n]  # [N+3, N]: maps values (plus zeros) to [w; a]
    q = (
        np.stack(np.meshgrid(np.arange(height), np.arange(width), indexing="ij"), -1).reshape(-1, 2)
        - centre
    ) / spread
    features = np.concatenate(
        [kern(((q[:, None] - p[None]) ** 2).sum(-1)), np.ones((len(q), 1)), q], axis=1
    )
    return (features @ inverse).astype(np.float32)


def random_displacements(seed, batch, grid: int, strength):
    """I.i.d. ``U[-C, C]`` displacements ``[B, grid*grid, 2]``; ``strength`` C is a scalar or ``[B]``."""
    unit = tf.random.stateless_uniform(
        [batch, grid * grid, 2], seed=seed, minval=-1.0, maxval=1.0, alg="philox"
    )
    strength = tf.reshape(tf.cast(strength, tf.float32), [-1, 1, 1])
    return unit * strength


def random_deformation(images, strength, seed, grid: int = 5, border: str = "reflect", fill=0.0):
    """Random smooth deformations of each image (module docstring).

    Args:
        images: ``[B, H, W, C]`` with static H and W.
        strength: C in pixels, a scalar or a ``[B]`` tensor (one strength per image); 0 = identity.
        seed: stateless seed (two integers).
        grid: control points per side (k).
        border, fill: how to sample outside the image.

    Returns:
        ``(deformed, displacements)``: ``[B, H, W, C]`` and ``[B, k*k, 2]``.
    """
    h, w = int(images.shape[1]), int(images.shape[2])
    batch = tf.shape(images)[0]
    displacements = random_displacements(seed, batch, grid, strength)
    matrix = tf.constant(grid_interpolation_matrix(h, w, grid))  # [H*W, N]
    field = tf.einsum("pn,bnd->bpd", matrix, displacements)
    field = tf.reshape(field, [batch, h, w, 2])
    return warp(images, field, border=border, fill=fill), displacements


__all__ = [
    "control_grid",
    "evaluate_tps",
    "fit_tps",
    "grid_interpolation_matrix",
    "pixel_grid",
    "random_deformation",
    "random_displacements",
    "warp",
]
