"""All-CNN-C training throughput: kerasinv's training path against a plain tf.function step.

Both sides train the same model (All-CNN-C, paper weight decay, SGD + momentum 0.9) on 128-image
batches in one process; the runs alternate (baseline, kerasinv, baseline, kerasinv, ...) and the
median of each is reported.

- baseline: a ``tf.function`` step (forward, loss + L2 terms, gradients, SGD update) looped over
  one fixed in-memory batch: no input pipeline, no callbacks, no checkpoints;
- kerasinv: ``kerasinv.training.train`` exactly as the recipes call it (tf.data pipeline from raw
  uint8 images with the GCN+ZCA layer, shuffling, Keras ``fit``, learning-rate schedule, NaN guard,
  per-epoch resumable checkpoint). Its first epoch (tracing) is excluded; every later epoch counts,
  checkpoint writing included.

Prints images/s for both and the ratio kerasinv / baseline (target: at least 0.95).

    python benchmarks/train_throughput.py [--width 1.0] [--steps 16] [--repeats 2]
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


def baseline(width: float, x: tf.Tensor, y: tf.Tensor, steps: int) -> float:
    """Images/s of a bare tf.function SGD step on one fixed batch."""
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
    start = time.perf_counter()
    for _ in range(steps):
        loss = step(x, y)
    loss.numpy()
    return steps * int(x.shape[0]) / (time.perf_counter() - start)


class _EpochTimes(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.starts: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.starts.append(time.perf_counter())

    def on_train_end(self, logs=None):
        self.starts.append(time.perf_counter())


def kerasinv_path(width: float, splits, layer, steps: int, batch: int) -> float:
    """Images/s of kerasinv.training.train (epochs after the first)."""
    n = steps * batch
    config = training.TrainConfig(epochs=3, batch_size=batch, verbose=0, seed=0)
    train_data, test_data = training.make_datasets(
        splits.x_train[:n],
        splits.y_train[:n],
        splits.x_test[:batch],
        splits.y_test[:batch],
        layer,
        config,
    )
    timer = _EpochTimes()
    with tempfile.TemporaryDirectory() as workdir:
        training.train(
            lambda: build(width), train_data, test_data, config, workdir, callbacks=[timer]
        )
    epoch_seconds = np.diff(timer.starts)[1:]  # drop the first (tracing, cache fill)
    return n / float(np.mean(epoch_seconds))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--width", type=float, default=1.0, help="All-CNN-C width multiplier")
    parser.add_argument("--steps", type=int, default=16, help="batches per timed epoch")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    splits = load_embedded_sample()
    layer = GCNZCA().fit(splits.x_train).layer()
    x = tf.constant(np.asarray(layer(splits.x_train[: args.batch].astype("float32"))))
    y = tf.constant(splits.y_train[: args.batch].astype("int32"))

    base, ours = [], []
    for _ in range(args.repeats):
        base.append(baseline(args.width, x, y, args.steps))
        ours.append(kerasinv_path(args.width, splits, layer, args.steps, args.batch))
    b, o = statistics.median(base), statistics.median(ours)
    print(
        f"All-CNN-C width {args.width:g}, batch {args.batch}, {args.steps} steps/epoch, {args.repeats} repeats"
    )
    print(
        f"  plain tf.function step : {b:8.1f} images/s   runs: {', '.join(f'{v:.1f}' for v in base)}"
    )
    print(
        f"  kerasinv.training.train: {o:8.1f} images/s   runs: {', '.join(f'{v:.1f}' for v in ours)}"
    )
    print(f"  ratio kerasinv / plain : {o / b:.3f}   (target >= 0.95)")


if __name__ == "__main__":
    main()
