"""Paper training for the CIFAR recipes: SGD + momentum, step schedule, weight decay, tf.distribute.

Springenberg et al. 2015 (papers.md §1.4): SGD with momentum 0.9, a learning rate γ chosen from
{0.25, 0.1, 0.05, 0.01}, γ multiplied by 0.1 after epochs 200, 250 and 300 of 350, weight decay
λ = 0.001. The paper gives no batch size (we default to 128) and no initialisation (Glorot uniform,
Caffe's "xavier"). Our default γ = 0.05 is the one value of the set with a documented full
reproduction (the Caffe All-CNN-C at 90.25 %); 0.25 diverges with the class-conv ReLU in our runs.
Weight decay is applied to the conv kernels by the model builder (``weight_decay=``).

Shorter runs keep the schedule's shape: the drops happen after ``round(E·200/350)``,
``round(E·250/350)`` and ``round(E·300/350)`` epochs of ``E``.

Training resumes after an interruption from its last completed epoch (``keras.callbacks.BackupAndRestore``
in ``workdir/backup``), stops with :class:`~kerasinv.errors.TrainingDivergedError` when the loss
becomes NaN or infinite, and is repeatable on one machine for a given ``seed``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kerasinv.errors import ConfigError, TrainingDivergedError

PAPER_EPOCHS = 350
PAPER_DROPS = (200, 250, 300)
PAPER_LEARNING_RATES = (0.25, 0.1, 0.05, 0.01)
STRATEGIES = ("default", "mirrored", "multi-worker")


@dataclass
class TrainConfig:
    """Settings of one training run (defaults: the paper's protocol with batch 128).

    Attributes:
        epochs: number of epochs (paper: 350).
        batch_size: global batch size, split over replicas (paper: not given).
        learning_rate: initial γ (paper: one of 0.25, 0.1, 0.05, 0.01).
        momentum: SGD momentum (paper: 0.9).
        drops: epochs of ``PAPER_EPOCHS`` after which γ is multiplied by ``drop_factor``.
        drop_factor: multiplier at each drop (paper: 0.1).
        augment: horizontal flips and translations up to ``max_shift`` px (paper's Table 4 row).
        max_shift: translation range of the augmentation, in pixels.
        seed: seeds Python, NumPy and TensorFlow (``keras.utils.set_random_seed``).
        strategy: ``"default"``, ``"mirrored"`` or ``"multi-worker"`` (tf.distribute).
        jit_compile: XLA for the train step (off: on CPU it is about 2x slower for these nets).
        verbose: Keras progress output (0 silent, 1 bar, 2 one line per epoch).
    """

    epochs: int = PAPER_EPOCHS
    batch_size: int = 128
    learning_rate: float = 0.05
    momentum: float = 0.9
    drops: tuple[int, ...] = PAPER_DROPS
    drop_factor: float = 0.1
    augment: bool = False
    max_shift: int = 5
    seed: int = 0
    strategy: str = "default"
    jit_compile: bool = False
    verbose: int = 2

    def __post_init__(self):
        if self.epochs < 1:
            raise ConfigError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ConfigError(f"batch size must be at least 1, got {self.batch_size}")
        if not self.learning_rate > 0:
            raise ConfigError(f"learning rate must be positive, got {self.learning_rate}")
        if self.strategy not in STRATEGIES:
            raise ConfigError(
                f"strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}"
            )


def drop_epochs(epochs: int, drops=PAPER_DROPS, total: int = PAPER_EPOCHS) -> list[int]:
    """The paper's drop epochs scaled to a run of ``epochs`` (``[200, 250, 300]`` for 350)."""
    return [round(epochs * d / total) for d in drops]


def learning_rate_at(epoch: int, config: TrainConfig) -> float:
    """γ for 0-based ``epoch``: base γ times ``drop_factor`` per drop epoch already reached."""
    passed = sum(epoch >= d for d in drop_epochs(config.epochs, config.drops))
    return config.learning_rate * config.drop_factor**passed


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow; same seed + same machine = same numbers.

    Checked on CPU (two processes, All-CNN-C, augmentation on: bit-identical weights). On GPUs,
    add ``tf.config.experimental.enable_op_determinism()`` for bit-exact runs, at some speed cost.
    """
    keras.utils.set_random_seed(seed)


def make_strategy(name: str) -> tf.distribute.Strategy:
    """A tf.distribute strategy by name.

    ``"mirrored"`` replicates over every GPU, or over every logical CPU device when there is no GPU
    (so it can be exercised on a CPU split into logical devices); ``"multi-worker"`` reads the
    cluster from ``TF_CONFIG`` as usual.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi-worker":
        if "TF_CONFIG" not in os.environ:
            raise ConfigError(
                "--strategy multi-worker needs the cluster in the TF_CONFIG environment variable "
                "(see tf.distribute.MultiWorkerMirroredStrategy)"
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ConfigError(f"strategy must be one of {', '.join(STRATEGIES)}, got {name!r}")


class StopOnNonFinite(keras.callbacks.Callback):
    """Raise :class:`TrainingDivergedError` as soon as the batch loss is NaN or infinite."""

    def __init__(self, learning_rate: float):
        super().__init__()
        self.learning_rate = learning_rate
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise TrainingDivergedError(
                f"training diverged: the loss became {float(loss)} at epoch {self.epoch + 1}, batch "
                f"{batch + 1} (learning rate {self.learning_rate}). Lower --lr (the paper's grid is "
                f"{', '.join(map(str, PAPER_LEARNING_RATES))}) or change --seed, then run again."
            )


def _augment(image, seed, max_shift: int):
    """Random horizontal flip and translation up to ``max_shift`` px (zero padding), stateless."""
    flip_seed, crop_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    image = tf.image.stateless_random_flip_left_right(image, flip_seed)
    if max_shift:
        h, w, c = image.shape
        padded = tf.pad(image, [[max_shift, max_shift], [max_shift, max_shift], [0, 0]])
        image = tf.image.stateless_random_crop(padded, (h, w, c), crop_seed)
    return image


def make_datasets(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    preprocess: Callable | None,
    config: TrainConfig,
) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """tf.data pipelines: preprocess once (cached), shuffle, augment, batch, prefetch.

    Args:
        x_train, x_test: raw ``uint8 [N, H, W, C]`` images.
        y_train, y_test: ``int [N]`` labels.
        preprocess: batched map ``float32 [B, H, W, C] -> float32 [B, H, W, C]`` (e.g. the fitted
            :class:`~kerasinv.data.preprocessing.ContrastWhitening` layer), applied once and cached,
            so training and the exported model share one implementation.
        config: batch size, augmentation and seed.
    """
    autotune = tf.data.AUTOTUNE
    # tf.data derives its shuffle/random seeds from the global seed too: set it first.
    seed_everything(config.seed)

    def prepared(x, y):
        ds = tf.data.Dataset.from_tensor_slices((x, np.asarray(y, np.int32))).batch(1024)
        ds = ds.map(lambda a, b: (tf.cast(a, tf.float32), b))
        if preprocess is not None:
            ds = ds.map(lambda a, b: (preprocess(a), b))
        # unbatch() forgets the size; restoring it lets Keras show progress and not warn.
        return ds.unbatch().apply(tf.data.experimental.assert_cardinality(len(x))).cache()

    train = prepared(x_train, y_train).shuffle(len(x_train), seed=config.seed)
    if config.augment:
        noise = tf.data.Dataset.random(seed=config.seed, rerandomize_each_iteration=True).batch(2)
        train = tf.data.Dataset.zip(train, noise).map(
            lambda xy, s: (_augment(xy[0], s, config.max_shift), xy[1]), num_parallel_calls=autotune
        )
    train = train.batch(config.batch_size).prefetch(autotune)
    test = prepared(x_test, y_test).batch(max(config.batch_size, 256)).prefetch(autotune)
    return train, test


@dataclass
class TrainResult:
    """What :func:`train` returns."""

    model: keras.Model
    test_accuracy: float
    history: dict = field(default_factory=dict)
    epochs_run: int = 0
    resumed_from_epoch: int = 0

    @property
    def test_error(self) -> float:
        return 1.0 - self.test_accuracy


class StepSchedule(keras.callbacks.Callback):
    """Set γ at the start of each epoch (:func:`learning_rate_at`) and rescale the SGD velocity with it.

    Keras's SGD keeps γ inside its velocity (``v ← μv − γg; w ← w + v``), so after a drop the old,
    large velocity keeps moving the weights for about ``1/(1 − μ)`` steps at the old size. In our
    runs (batch-normalised All-CNN-C, γ 0.1 → 0.001, μ 0.9) that undid the training: training
    accuracy fell from 0.35 to 0.17 within the epoch after the drop, and the same happened with
    γ = 0. Multiplying the velocity by ``γ_new / γ_old`` at the change gives PyTorch's formulation
    (``v ← μv + g; w ← w − γv``), the one Zhang's and the APS authors' training code uses; with it the
    drop lowers the loss as it should. Resumed runs are handled too: the velocity restored from a
    checkpoint is rescaled from the γ saved with it.
    """

    def __init__(self, config: TrainConfig):
        super().__init__()
        self.config = config

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        new = learning_rate_at(epoch, self.config)
        old = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        if new != old and old > 0:
            for velocity in getattr(optimizer, "momentums", []):
                velocity.assign(velocity * (new / old))
        optimizer.learning_rate = new

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(
                keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
            )


class _EpochTracker(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs: list[int] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def train(
    build: Callable[[], keras.Model],
    train_data: tf.data.Dataset,
    test_data: tf.data.Dataset,
    config: TrainConfig,
    workdir: str | Path,
    callbacks: list[keras.callbacks.Callback] | None = None,
) -> TrainResult:
    """Train ``build()`` with the paper's optimiser and schedule, resuming from ``workdir`` if possible.

    Args:
        build: returns a fresh uncompiled model (called inside the strategy scope).
        train_data, test_data: batched ``(images, labels)`` datasets (see :func:`make_datasets`).
        config: the run's settings.
        workdir: folder for the resumable checkpoint (``workdir/backup``; removed after success).
        callbacks: extra Keras callbacks.

    Returns:
        A :class:`TrainResult` with the trained model and its test accuracy.

    Raises:
        TrainingDivergedError: the loss became NaN or infinite.
    """
    seed_everything(config.seed)
    strategy = make_strategy(config.strategy)
    with strategy.scope():
        model = build()
        model.compile(
            optimizer=keras.optimizers.SGD(config.learning_rate, momentum=config.momentum),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            jit_compile=config.jit_compile,
        )
    tracker = _EpochTracker()
    schedule = StepSchedule(config)
    backup = keras.callbacks.BackupAndRestore(str(Path(workdir) / "backup"))
    history = model.fit(
        train_data,
        epochs=config.epochs,
        shuffle=False,  # the dataset shuffles itself (make_datasets)
        verbose=config.verbose,
        callbacks=[
            backup,
            schedule,
            StopOnNonFinite(config.learning_rate),
            tracker,
            *(callbacks or []),
        ],
    )
    _, accuracy = model.evaluate(test_data, verbose=0)
    return TrainResult(
        model=model,
        test_accuracy=float(accuracy),
        history={k: [float(v) for v in vals] for k, vals in history.history.items()},
        epochs_run=len(tracker.epochs),
        resumed_from_epoch=tracker.epochs[0] if tracker.epochs else config.epochs,
    )
