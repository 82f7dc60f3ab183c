"""Throughput of every perturbation against a bilinear-resample floor and a SciPy TPS baseline.

For each batch shape (128x32x32x3 and 16x224x224x3) every op runs in one ``tf.function``, both as a
TensorFlow graph and compiled by XLA (``jit_compile=True``), is warmed up, and is timed in alternating
rounds with the floor: one ``tf.image.resize`` (bilinear, TensorFlow's own fused kernel, in a graph) of
the batch to the same output size. Reported: images/s of each op and the ratio op time / floor time
(targets: crop and embed at most 2, TPS warp at most 3). The TPS
warp is also compared with SciPy doing the same per image (``RBFInterpolator`` thin-plate spline
through the control-point displacements, evaluated at every pixel, then
``ndimage.map_coordinates(order=1)`` per channel): ratio SciPy time / ours (target: at least 20).

    python benchmarks/perturb_throughput.py [--rounds 5] [--scipy-images 16]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf
from scipy import ndimage
from scipy.interpolate import RBFInterpolator

from kerasinv import perturb

SHAPES = ((128, 32), (16, 224))
GRID = 5
STRENGTH = 2.0


def ops(size: int) -> dict:
    """name -> fn(images, seed): each returns one batch of ``size x size`` (or close) images."""
    small = size * 3 // 4
    window = size - 4

    def crop(x, seed):
        offsets = perturb.random_offsets(seed, tf.shape(x)[0], size - window + 1)
        return perturb.crop(x, offsets, window)

    def embed(x, seed):
        offsets = perturb.random_offsets(seed, tf.shape(x)[0], size - small + 1)
        return perturb.embed(x, offsets, size, size=small)

    def inpaint(x, seed):
        offsets = perturb.random_offsets(seed, tf.shape(x)[0], size - small + 1)
        canvas, mask = perturb.embed(x, offsets, size, size=small, return_mask=True)
        return perturb.inpaint(canvas, mask)

    return {
        "crop": (crop, window),
        "embed (resize + paste)": (embed, size),
        "rescale": (lambda x, s: perturb.rescale(x, small + 1, size), size),
        "inpaint (embed + fill)": (inpaint, size),
        "random crop pair": (lambda x, s: perturb.random_crop_pair(x, window, s)[:2], window),
        "circular shift": (lambda x, s: perturb.random_circular_shift(x, s)[0], size),
        "tps warp": (
            lambda x, s: perturb.random_deformation(x, STRENGTH, s, grid=GRID)[0],
            size,
        ),
    }


def timed(fn, args, calls: int) -> list[float]:
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        result = fn(*args)
        for t in tf.nest.flatten(result):
            t.numpy()
        out.append(time.perf_counter() - start)
    return out


def scipy_tps_warp(images: np.ndarray, displacements: np.ndarray) -> np.ndarray:
    """The same random deformation, per image, with SciPy (the baseline)."""
    b, h, w, c = images.shape
    control = perturb.control_grid(h, w, GRID)
    grid = np.stack(np.meshgrid(np.arange(h), np.arange(w), indexing="ij"), -1).reshape(-1, 2)
    out = np.empty_like(images)
    for i in range(b):
        field = RBFInterpolator(control, displacements[i], kernel="thin_plate_spline", degree=1)(
            grid
        )
        coords = (grid + field).T.reshape(2, h, w)
        for ch in range(c):
            out[i, :, :, ch] = ndimage.map_coordinates(
                images[i, :, :, ch], coords, order=1, mode="mirror"
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    parser.add_argument("--calls", type=int, default=3, help="timed calls per round")
    parser.add_argument("--scipy-images", type=int, default=16, help="images timed with SciPy")
    args = parser.parse_args()
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores")
    seed = tf.constant([1, 2], tf.int64)
    for batch, size in SHAPES:
        x = tf.constant(
            np.random.default_rng(0).uniform(0, 255, (batch, size, size, 3)).astype(np.float32)
        )
        print(f"\n{batch}x{size}x{size}x3")
        print(
            f"  {'op':24s} {'graph img/s':>11s} {'XLA img/s':>10s} {'floor img/s':>12s} "
            f"{'graph/floor':>12s} {'XLA/floor':>10s}"
        )
        for name, (fn, out_size) in ops(size).items():
            graph = tf.function(fn)
            xla = tf.function(fn, jit_compile=True)
            floor = tf.function(
                lambda x, out_size=out_size: tf.image.resize(x, (out_size, out_size))
            )
            for f, a in ((graph, (x, seed)), (xla, (x, seed)), (floor, (x,))):
                timed(f, a, 2)
            t_graph, t_xla, t_floor = [], [], []
            for _ in range(args.rounds):
                t_graph += timed(graph, (x, seed), args.calls)
                t_xla += timed(xla, (x, seed), args.calls)
                t_floor += timed(floor, (x,), args.calls)
            m_graph, m_xla = statistics.median(t_graph), statistics.median(t_xla)
            m_floor = statistics.median(t_floor)
            m_op = min(m_graph, m_xla)
            print(
                f"  {name:24s} {batch / m_graph:11.0f} {batch / m_xla:10.0f} {batch / m_floor:12.0f} "
                f"{m_graph / m_floor:12.2f} {m_xla / m_floor:10.2f}",
                flush=True,
            )
            if name == "tps warp":
                n = min(args.scipy_images, batch)
                _, disp = perturb.random_deformation(x[:n], STRENGTH, seed, grid=GRID)
                start = time.perf_counter()
                scipy_tps_warp(x[:n].numpy(), disp.numpy())
                t_scipy = (time.perf_counter() - start) / n
                print(
                    f"  {'tps warp, SciPy':24s} {1 / t_scipy:11.0f}   SciPy time / ours (best of "
                    f"graph and XLA): {t_scipy / (m_op / batch):.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
