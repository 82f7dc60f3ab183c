"""Overhead of the invariance evaluation over bare inference, same run.

``kerasinv.evaluation.evaluate`` (perturbation frames compiled by XLA, model forward passes, metrics)
against bare ``predict_on_batch`` on the same number of already-made frames in the same batch size.
Rounds alternate (bare, evaluate, ...) after a warm-up of both; reported per protocol: forward passes
per second of each and the ratio evaluate / bare (target: at least 0.9).

    python benchmarks/eval_overhead.py [--model resnet50] [--photos 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from kerasinv import evaluation, measure, models, perturb
from kerasinv.models.architectures import photo_size
from kerasinv.models.loading import LoadedModel

SHIFT_TRIALS = 5


def frames_of(photos, protocol: str, size: int) -> np.ndarray:
    """The frames evaluate classifies per photo: nine for a one-pixel protocol; for ``shift``, the
    centre crop and ``SHIFT_TRIALS`` random pairs."""
    if protocol != "shift":
        return np.asarray(measure.onepixel_frames(photos, protocol, size))
    offsets = perturb.shift_pair_offsets(0, len(photos), photos.shape[1] - size, SHIFT_TRIALS)
    crops = [perturb.centre_crop(photos, size)] + [
        perturb.crop(photos, offsets[t, :, k], size) for t in range(SHIFT_TRIALS) for k in (0, 1)
    ]
    return np.stack([np.asarray(c) for c in crops], 1)


BUILDERS = {
    "resnet50": lambda: models.resnet50(weights=None),
    "vgg16": lambda: models.vgg16(weights=None),
    "all-cnn-c": lambda: models.get("all-cnn-c"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=sorted(BUILDERS), default="resnet50")
    parser.add_argument("--photos", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=8, help="photos per batch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--protocols", default="crop,black,scale,shift")
    args = parser.parse_args()
    keras_model = BUILDERS[args.model]()
    size = int(keras_model.input_shape[1])

    def predict(x):
        return np.asarray(keras_model.predict_on_batch(x))

    loaded = LoadedModel(args.model, "built", size, predict, [])
    side = photo_size(size)
    photos = (
        np.random.default_rng(0).uniform(0, 255, (args.photos, side, side, 3)).astype(np.float32)
    )
    print(f"{args.model} at {size}x{size}, {args.photos} photos, {args.batch_size} per batch")
    print(f"  {'protocol':10s} {'bare fwd/s':>11s} {'evaluate fwd/s':>15s} {'ratio':>7s}")
    for protocol in args.protocols.split(","):
        frames = np.concatenate(
            [np.asarray(frames_of(photos[i : i + args.batch_size], protocol, size))
             for i in range(0, args.photos, args.batch_size)]
        )  # fmt: skip
        per_photo = frames.shape[1]
        flat = frames.reshape(-1, size, size, 3)
        chunk = args.batch_size * per_photo

        def bare(flat=flat, chunk=chunk):
            for i in range(0, len(flat), chunk):
                predict(flat[i : i + chunk])

        def full(protocol=protocol):
            evaluation.evaluate(
                loaded, photos, None, [protocol], batch_size=args.batch_size,
                shift_trials=SHIFT_TRIALS,
            )  # fmt: skip

        bare(), full()  # warm-up: tracing and XLA compilation
        t_bare, t_full = [], []
        for _ in range(args.rounds):
            start = time.perf_counter()
            bare()
            t_bare.append(time.perf_counter() - start)
            start = time.perf_counter()
            full()
            t_full.append(time.perf_counter() - start)
        n = len(flat)
        m_bare, m_full = statistics.median(t_bare), statistics.median(t_full)
        print(
            f"  {protocol:10s} {n / m_bare:11.1f} {n / m_full:15.1f} {m_bare / m_full:7.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
