"""All-CNN-C training throughput: kerasinv's training path against a plain tf.function step.

Both sides train the same model (All-CNN-C, paper weight decay, SGD + momentum 0.9) on 128-image
batches in one process; the runs alternate (baseline, kerasinv, baseline, kerasinv, ...) and the
median of each is reported.

- baseline: a ``tf.function`` step (forward, loss + L2 terms, gradients, SGD update) looped over
  one fixed in-memory batch: no input pipeline, no callbacks, no checkpoints;
- kerasinv: ``kerasinv.training.train`` exactly as the recipes call it (tf.data pipeline from raw
  uint8 images with the GCN+ZCA layer, shuffling, Keras ``fit``, learning-rate schedule, NaN guard,
  per-epoch resumable checkpoint). Its first epoch (tracing, cache filling) is excluded.

Prints images/s for both and the ratio kerasinv / baseline (target: at least 0.95).

``--precision mixed_bfloat16`` (or ``mixed_float16``) also times kerasinv's path in that precision,
alternating with the float32 runs, and prints its speed as a ratio to float32 (refused, as in the
recipes, where the hardware lacks the units).

    python benchmarks/train_throughput.py [--width 1.0] [--steps 16] [--repeats 2] [--precision P]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import tensorflow as tf

from kerasinv import models, training
from kerasinv.data.preprocessing import GCNZCA
from kerasinv.data.samples import load_embedded_sample


def build(width):
    return models.get("all-cnn-c", width=width, weight_decay=1e-3)


def baseline(width: float, x: tf.Tensor, y: tf.Tensor, steps: int) -> list[float]:
    """Seconds per step of a bare tf.function SGD step on one fixed batch (after a warm-up step)."""
    keras.utils.set_random_seed(0)
    model = build(width)
    optimizer = keras.optimizers.SGD(0.05, momentum=0.9)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            probs = model(x, training=True)
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, probs))
            loss += tf.add_n(model.losses)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    step(x, y).numpy()  # trace + warm up
    times = [time.perf_counter()]
    for _ in range(steps):
        step(x, y).numpy()
        times.append(time.perf_counter())
    return list(np.diff(times))


class _StepTimes(keras.callbacks.Callback):
    """Intervals between consecutive batch ends: step, input pipeline and callbacks all included.

    The first interval of each epoch also spans the epoch boundary (end-of-epoch callbacks such
    as the checkpoint, a new iterator); it is kept apart in ``boundaries``.
    """

    def __init__(self):
        super().__init__()
        self.steps: list[float] = []
        self.boundaries: list[float] = []
        self.last: float | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        if self.last is not None and self.epoch > 0:  # epoch 0: tracing and cache filling
            (self.boundaries if batch == 0 else self.steps).append(now - self.last)
        self.last = now


def kerasinv_path(
    width: float, splits, layer, steps: int, batch: int, precision: str = "float32"
) -> _StepTimes:
    """Step and epoch-boundary times of kerasinv.training.train, epochs after the first."""
    n = steps * batch
    config = training.TrainConfig(
        epochs=3, batch_size=batch, verbose=0, seed=0, precision=precision
    )
    train_data, test_data = training.make_datasets(
        splits.x_train[:n],
        splits.y_train[:n],
        splits.x_test[:batch],
        splits.y_test[:batch],
        layer,
        config,
    )
    timer = _StepTimes()
    with tempfile.TemporaryDirectory() as workdir:
        training.train(
            lambda: build(width), train_data, test_data, config, workdir, callbacks=[timer]
        )
    return timer


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--width", type=float, default=1.0, help="All-CNN-C width multiplier")
    parser.add_argument("--steps", type=int, default=16, help="batches per epoch / baseline run")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", default="float32", help="also time this mixed precision")
    args = parser.parse_args()
    if args.precision != "float32":
        from kerasinv.precision import check_precision

        check_precision(args.precision)

    splits = load_embedded_sample()
    layer = GCNZCA().fit(splits.x_train).layer()
    x = tf.constant(np.asarray(layer(splits.x_train[: args.batch].astype("float32"))))
    y = tf.constant(splits.y_train[: args.batch].astype("int32"))

    base, ours, bounds, mixed = [], [], [], []
    for _ in range(args.repeats):
        base += baseline(args.width, x, y, args.steps)
        timer = kerasinv_path(args.width, splits, layer, args.steps, args.batch)
        ours += timer.steps
        bounds += timer.boundaries
        if args.precision != "float32":
            mixed += kerasinv_path(
                args.width, splits, layer, args.steps, args.batch, args.precision
            ).steps
    b_med, o_med = statistics.median(base), statistics.median(ours)
    b_mean, o_mean = statistics.mean(base), statistics.mean(ours)
    stall = statistics.mean(bounds) - o_med  # extra time at an epoch boundary
    per_epoch = -(-50_000 // args.batch)  # steps in one full CIFAR-10 epoch
    epoch_ratio = (per_epoch * b_mean) / (per_epoch * o_mean + stall)

    def rate(seconds):
        return f"{args.batch / seconds:9.1f} img/s"

    print(f"All-CNN-C width {args.width:g}, batch {args.batch}, {args.repeats} alternating repeats")
    print(f"  {'':24} {'median step':>15} {'mean step':>15}   steps timed")
    print(f"  {'plain tf.function step':24} {rate(b_med)} {rate(b_mean)}   {len(base)}")
    print(f"  {'kerasinv.training.train':24} {rate(o_med)} {rate(o_mean)}   {len(ours)}")
    print(f"  ratio kerasinv / plain, median step: {b_med / o_med:.3f}   (target >= 0.95)")
    print(f"  ratio kerasinv / plain, mean step:   {b_mean / o_mean:.3f}")
    print(
        f"  epoch boundaries: {len(bounds)} timed, {stall:+.2f} s each beyond a step "
        f"(max {max(bounds) - o_med:+.2f} s)"
    )
    print(
        f"  ratio for a full CIFAR-10 epoch ({per_epoch} steps, mean steps + one boundary): "
        f"{epoch_ratio:.3f}"
    )
    if mixed:
        m_med = statistics.median(mixed)
        print(f"  {'kerasinv, ' + args.precision:24} {rate(m_med)} {rate(statistics.mean(mixed))}")
        print(
            f"  ratio {args.precision} / float32 (kerasinv path, median step): {o_med / m_med:.3f}"
        )


if __name__ == "__main__":
    main()
