"""Paper training for the CIFAR recipes: SGD + momentum, step schedule, weight decay, tf.distribute.

Springenberg et al. 2015 (docs/papers.md §1.4): SGD with momentum 0.9, a learning rate γ chosen from
{0.25, 0.1, 0.05, 0.01}, γ multiplied by 0.1 after epochs 200, 250 and 300 of 350, weight decay
λ = 0.001. The paper gives neither batch size nor initialisation; where it is silent the
springenberg recipes follow the one public end-to-end reproduction (Caffe, 90.25 %: batch 256,
γ = 0.05, Caffe's fan-in "xavier" = Keras ``lecun_uniform``, decay on weights and biases; see the
spec ``recipes/springenberg-allcnn.toml``). :class:`TrainConfig` itself defaults to batch 128.
Weight decay is applied by the model builder (``weight_decay=``, ``bias_decay=``).

Shorter runs keep the schedule's shape: the drops happen after ``round(E·200/350)``,
``round(E·250/350)`` and ``round(E·300/350)`` epochs of ``E``.

Training resumes after an interruption from its last completed epoch with its whole state
(:class:`ResumableCheckpoint` in ``workdir/checkpoint``), so an interrupted and resumed run ends with
the same weights as an unbroken one; it stops with :class:`~kerasinv.errors.TrainingDivergedError`
when the loss becomes non-finite or explodes; and it is repeatable on one machine for a given
``seed``, whatever trained before it in the same process.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kerasinv import multi_worker
from kerasinv.errors import ConfigError, DataFormatError, TrainingDivergedError
from kerasinv.io import atomic_path

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
        reshuffle: a new permutation of the training images every epoch (``True``), or one seeded
            permutation visited in the same order every epoch (``False``: what Caffe's LMDB data
            layer does, which never reshuffles).
        stream: with ``reshuffle`` off, read that one permutation as an endless stream, as
            Caffe's ``Data`` layer reads its LMDB: every batch is full and batches run across the
            end of the data, so the batches differ from epoch to epoch (their boundaries move by
            ``N mod batch_size`` images) and an epoch is ``round(N / batch_size)`` steps. Off,
            every epoch starts the permutation afresh and ends with a smaller batch.
        seed: seeds Python, NumPy and TensorFlow (``keras.utils.set_random_seed``).
        schedule_epochs: the run length the ``drops`` are scaled to; ``None`` = ``epochs`` (a short
            run keeps the schedule's shape). A learning curve of the first epochs of the paper's
            run sets 350, so its drops stay at epochs 200, 250 and 300.
        strategy: ``"default"``, ``"mirrored"`` or ``"multi-worker"`` (tf.distribute).
        jit_compile: XLA for the train step (off: on CPU it is about 2x slower for these nets).
        precision: ``"float32"`` (the reproductions' default), ``"mixed_bfloat16"`` or
            ``"mixed_float16"`` (:mod:`kerasinv.precision`; refused where the hardware would
            only emulate it). The trained model comes back computing in float32.
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
    reshuffle: bool = True
    stream: bool = False
    seed: int = 0
    schedule_epochs: int | None = None
    strategy: str = "default"
    jit_compile: bool = False
    precision: str = "float32"
    verbose: int = 2

    def __post_init__(self):
        if self.epochs < 1:
            raise ConfigError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ConfigError(f"batch size must be at least 1, got {self.batch_size}")
        if not self.learning_rate > 0:
            raise ConfigError(f"learning rate must be positive, got {self.learning_rate}")
        if self.stream and self.reshuffle:
            raise ConfigError(
                "stream reads one fixed data order as Caffe does: it needs reshuffle off"
            )
        if self.strategy not in STRATEGIES:
            raise ConfigError(
                f"strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}"
            )


def drop_epochs(epochs: int, drops=PAPER_DROPS, total: int = PAPER_EPOCHS) -> list[int]:
    """The paper's drop epochs scaled to a run of ``epochs`` (``[200, 250, 300]`` for 350)."""
    return [round(epochs * d / total) for d in drops]


def learning_rate_at(epoch: int, config: TrainConfig) -> float:
    """γ for 0-based ``epoch``: base γ times ``drop_factor`` per drop epoch already reached."""
    length = config.schedule_epochs or config.epochs
    passed = sum(epoch >= d for d in drop_epochs(length, config.drops))
    return config.learning_rate * config.drop_factor**passed


def metrics() -> list:
    """What training reports besides its loss: ``accuracy``, and ``cross_entropy``, the data term
    alone (Keras's ``loss`` adds the weight decay), which is what Caffe logs as its loss."""
    return ["accuracy", keras.metrics.SparseCategoricalCrossentropy(name="cross_entropy")]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow; same seed + same machine = same numbers.

    Checked on CPU (two processes, All-CNN-C, augmentation on: bit-identical weights). On GPUs,
    add ``tf.config.experimental.enable_op_determinism()`` for bit-exact runs, at some speed cost.
    """
    keras.utils.set_random_seed(seed)


def make_strategy(name: str) -> tf.distribute.Strategy:
    """A tf.distribute strategy by name.

    ``"mirrored"`` replicates over every GPU, or over every logical CPU device when there is no GPU
    (so it can be exercised on a CPU split into logical devices). ``"multi-worker"`` is the
    process's :func:`kerasinv.multi_worker.strategy` (the cluster comes from ``TF_CONFIG``); since
    Keras 3's ``fit`` fails under it, :func:`train` then runs :func:`kerasinv.multi_worker.fit`.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi-worker":
        return multi_worker.strategy()
    raise ConfigError(f"strategy must be one of {', '.join(STRATEGIES)}, got {name!r}")


class StopOnDivergence(keras.callbacks.Callback):
    """Raise :class:`TrainingDivergedError` when the loss becomes non-finite or explodes.

    "Explodes": the running loss exceeds ``factor`` times the first loss of the run (and at least
    ``floor``). Cross-entropy itself is bounded (Keras clips probabilities at 1e-7, so at most
    about 16 per image); a loss above 20 comes from weights growing without bound under the
    weight-decay term (``--lr 10`` gives a finite loss of 4.5e23, ``--lr 4`` a tenfold rise within
    an epoch: neither is a result). Healthy runs stay far below: All-CNN-C starts at about 2.8.
    """

    def __init__(self, learning_rate: float, factor: float = 10.0, floor: float = 20.0):
        super().__init__()
        self.learning_rate = learning_rate
        self.factor = factor
        self.floor = floor
        self.first: float | None = None
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def _check(self, loss, where: str):
        if loss is None:
            return
        loss = float(loss)
        if self.first is None and math.isfinite(loss):
            self.first = loss
        limit = max(self.floor, self.factor * (self.first or 0.0))
        if not math.isfinite(loss) or loss > limit:
            what = f"became {loss}" if not math.isfinite(loss) else f"exploded to {loss:.3g}"
            raise TrainingDivergedError(
                f"training diverged: the loss {what} at epoch {self.epoch + 1}{where} "
                f"(learning rate {self.learning_rate}); nothing was recorded for this model. "
                f"Lower --lr (the paper's grid is {', '.join(map(str, PAPER_LEARNING_RATES))}) "
                "or change --seed, then run again."
            )

    def on_train_batch_end(self, batch, logs=None):
        self._check((logs or {}).get("loss"), f", batch {batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        self._check((logs or {}).get("loss"), "")


#: Kept for code written against 0.1.
StopOnNonFinite = StopOnDivergence


class ResumableCheckpoint(keras.callbacks.Callback):
    """The whole training state at the end of every epoch, so a resumed run equals an unbroken one.

    Saved (atomically, in ``folder``): every model variable (weights, batch-norm statistics and the
    dropout layers' random-generator states), every optimizer variable (iteration, learning rate,
    momentum), the number of epochs done and the history so far. Keras's ``BackupAndRestore`` keeps
    the weights and optimizer but not the random-generator states, so dropout masks after a resume
    differed from the unbroken run's.
    """

    STATE = "state.npz"

    def __init__(self, folder: str | Path):
        super().__init__()
        self.folder = Path(folder)
        self.history: dict[str, list[float]] = {}

    @staticmethod
    def variables(model) -> list:
        """Everything the state holds: model variables, then optimizer variables."""
        return [*model.variables, *model.optimizer.variables]

    def _read(self) -> tuple[dict, list[np.ndarray]]:
        """``(meta, saved arrays)`` of the state file (model variables first, then optimizer's)."""
        state_file = self.folder / self.STATE
        try:
            with np.load(state_file, allow_pickle=False) as saved:
                meta = json.loads(str(saved["meta"]))
                values = [saved[f"v{i}"] for i in range(len(saved.files) - 1)]
        except (OSError, KeyError, ValueError) as e:
            raise ConfigError(
                f"the checkpoint {state_file} cannot be read ({e}); remove it (or pass --overwrite) "
                "to start this model afresh"
            ) from None
        return meta, values

    def _assign(self, variables: list, values: list[np.ndarray]) -> None:
        if len(values) != len(variables) or any(
            tuple(v.shape) != a.shape for v, a in zip(variables, values, strict=False)
        ):
            raise ConfigError(
                f"the checkpoint in {self.folder} was written by a different model; remove that "
                "folder (or pass --overwrite) to start this model afresh"
            )
        for variable, value in zip(variables, values, strict=True):
            variable.assign(value)

    def restore(self, model) -> int:
        """Load the saved state into the compiled ``model``; returns the epochs already done (0 if none)."""
        if not (self.folder / self.STATE).is_file():
            return 0
        model.optimizer.build(model.trainable_variables)
        meta, values = self._read()
        self._assign(self.variables(model), values)
        self.history = {k: list(v) for k, v in meta.get("history", {}).items()}
        return int(meta["epoch"])

    def restore_model(self, model) -> int:
        """Load only the model's variables (weights, dropout generator states) into ``model``,
        compiled or not, to measure a checkpoint; returns its epoch. The file must exist."""
        meta, values = self._read()
        self._assign(list(model.variables), values[: len(model.variables)])
        return int(meta["epoch"])

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.folder.mkdir(parents=True, exist_ok=True)
        arrays = {
            f"v{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(self.variables(self.model))
        }
        # one file holds the state and the epoch count, so they can never disagree
        arrays["meta"] = np.asarray(json.dumps({"epoch": epoch + 1, "history": self.history}))
        with atomic_path(self.folder / self.STATE, suffix=".npz") as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)


def _augment(image, seed, max_shift: int):
    """Random horizontal flip and translation up to ``max_shift`` px (zero padding), stateless."""
    flip_seed, crop_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    image = tf.image.stateless_random_flip_left_right(image, flip_seed)
    if max_shift:
        h, w, c = image.shape
        padded = tf.pad(image, [[max_shift, max_shift], [max_shift, max_shift], [0, 0]])
        image = tf.image.stateless_random_crop(padded, (h, w, c), crop_seed)
    return image


class TrainData:
    """Training batches whose order depends only on ``(seed, epoch)``: resumable exactly.

    Epoch ``e`` visits the training images in the permutation ``stateless_shuffle(seed=[seed, e])``
    (``[seed, 0]`` every epoch without ``reshuffle``) and augments image ``i`` of that epoch with
    the stateless seed ``[seed, e·N + i]``. A run that stops after epoch ``k`` and resumes at ``k``
    therefore sees the same batches as one that never stopped, and a model's data order does not depend on what else ran in the process.

    Attributes:
        images: ``float32 [N, H, W, C]`` preprocessed training images (a tensor).
        labels: ``int32 [N]``.
        batch_size, seed, augment, max_shift, reshuffle, stream: from the :class:`TrainConfig`.
        steps_per_epoch: ``ceil(N / batch_size)`` (the last batch of an epoch may be smaller);
            with ``stream``, ``round(N / batch_size)`` full batches.
        images_per_epoch: the training images one epoch feeds (``N``; with ``stream``,
            ``steps_per_epoch · batch_size``).
    """

    def __init__(self, images, labels, config: TrainConfig):
        self.images = tf.convert_to_tensor(images, tf.float32)
        self.labels = tf.convert_to_tensor(np.asarray(labels, np.int32))
        self.batch_size = config.batch_size
        self.seed = config.seed
        self.augment = config.augment
        self.max_shift = config.max_shift
        self.reshuffle = config.reshuffle
        self.stream = config.stream
        n = len(labels)
        if self.stream:
            self.steps_per_epoch = max(1, round(n / config.batch_size))
            self.images_per_epoch = self.steps_per_epoch * config.batch_size
        else:
            self.steps_per_epoch = -(-n // config.batch_size)
            self.images_per_epoch = n

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def dataset(self, first_epoch: int, epochs: int) -> tf.data.Dataset:
        """Batches of epochs ``first_epoch .. epochs-1`` (0-based), one after the other."""
        images, labels, n = self.images, self.labels, len(self)
        seed = tf.constant(self.seed, tf.int64)
        augment, max_shift, reshuffle = self.augment, self.max_shift, self.reshuffle

        def one_epoch(epoch):
            order = tf.random.experimental.stateless_shuffle(
                tf.range(n, dtype=tf.int64),
                seed=tf.stack([seed, epoch if reshuffle else tf.constant(0, tf.int64)]),
            )
            position = epoch * n + tf.range(n, dtype=tf.int64)

            def load(index, pos):
                image = tf.gather(images, index)
                if augment:
                    image = _augment(image, tf.stack([seed, pos]), max_shift)
                return image, tf.gather(labels, index)

            return (
                tf.data.Dataset.from_tensor_slices((order, position))
                .map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
                .batch(self.batch_size)
            )

        if self.stream:  # Caffe's Data layer: one order, read on across the end of the data
            order = tf.random.experimental.stateless_shuffle(
                tf.range(n, dtype=tf.int64), seed=tf.stack([seed, tf.constant(0, tf.int64)])
            )
            per_epoch = self.images_per_epoch

            def at(position):
                index = tf.gather(order, position % n)
                image = tf.gather(images, index)
                if augment:
                    image = _augment(image, tf.stack([seed, position]), max_shift)
                return image, tf.gather(labels, index)

            positions = tf.data.Dataset.range(first_epoch * per_epoch, epochs * per_epoch)
            return (
                positions.map(at, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
                .batch(self.batch_size)
                .prefetch(tf.data.AUTOTUNE)
            )
        epochs_ds = tf.data.Dataset.range(first_epoch, epochs)
        return epochs_ds.flat_map(one_epoch).prefetch(tf.data.AUTOTUNE)


def make_datasets(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    preprocess: Callable | None,
    config: TrainConfig,
) -> tuple[TrainData, tf.data.Dataset]:
    """Training data (:class:`TrainData`) and the batched test set, preprocessed once.

    Args:
        x_train, x_test: raw ``uint8 [N, H, W, C]`` images.
        y_train, y_test: ``int [N]`` labels.
        preprocess: batched map ``float32 [B, H, W, C] -> float32 [B, H, W, C]`` (e.g. the fitted
            :class:`~kerasinv.data.preprocessing.ContrastWhitening` layer), applied once, so
            training and the exported model share one implementation.
        config: batch size, augmentation and seed.
    """

    def prepared(x):
        out = []
        for i in range(0, len(x), 1024):
            batch = tf.cast(tf.convert_to_tensor(x[i : i + 1024]), tf.float32)
            out.append(preprocess(batch) if preprocess is not None else batch)
        return tf.concat(out, axis=0) if out else tf.zeros((0, *np.shape(x)[1:]), tf.float32)

    x_train, x_test = prepared(x_train), prepared(x_test)
    for split, x in (("training", x_train), ("test", x_test)):
        if not bool(tf.reduce_all(tf.math.is_finite(x))):
            raise DataFormatError(
                f"the preprocessed {split} images hold NaN or infinite values; check the "
                "preprocessing (a constant image divided by its zero spread, say)"
            )
    train = TrainData(x_train, y_train, config)
    test = (
        tf.data.Dataset.from_tensor_slices((x_test, np.asarray(y_test, np.int32)))
        .batch(max(config.batch_size, 256))
        .prefetch(tf.data.AUTOTUNE)
    )
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


def train(
    build: Callable[[], keras.Model],
    train_data: TrainData,
    test_data: tf.data.Dataset,
    config: TrainConfig,
    workdir: str | Path,
    callbacks: list[keras.callbacks.Callback] | None = None,
    evaluate_each_epoch: bool = False,
    keep_checkpoint: bool = False,
) -> TrainResult:
    """Train ``build()`` with the paper's optimiser and schedule, resuming from ``workdir`` if possible.

    The run is seeded on its own (``config.seed`` before the model is built; data order from
    :class:`TrainData`), so its numbers do not depend on what trained before it in the process, and
    an interrupted run resumed from ``workdir`` ends with the same weights as an unbroken one.

    Args:
        build: returns a fresh uncompiled model (called inside the strategy scope).
        train_data: see :func:`make_datasets`.
        test_data: batched ``(images, labels)`` test set.
        config: the run's settings.
        workdir: folder of the resumable checkpoint (``workdir/checkpoint``; removed after success
            unless ``keep_checkpoint``).
        callbacks: extra Keras callbacks (their ``on_epoch_end`` logs include the test metrics
            ``val_loss`` / ``val_cross_entropy`` / ``val_accuracy`` when ``evaluate_each_epoch``;
            ``loss`` includes the weight-decay term, ``cross_entropy`` is the data term alone).
        evaluate_each_epoch: measure the test set after every epoch (a learning curve).
        keep_checkpoint: leave the final state in ``workdir`` (to extend the run later).

    Returns:
        A :class:`TrainResult` with the trained model and its test accuracy.

    Raises:
        TrainingDivergedError: the loss became non-finite or exploded.
    """
    from kerasinv import precision

    precision.check_precision(config.precision)
    seed_everything(config.seed)
    strategy = make_strategy(config.strategy)
    distributed = multi_worker.active(strategy)
    with strategy.scope():
        with precision.policy(config.precision):  # layers compute in it; weights stay float32
            model = build()
        model.compile(
            optimizer=keras.optimizers.SGD(config.learning_rate, momentum=config.momentum),
            loss="sparse_categorical_crossentropy",
            metrics=metrics(),
            jit_compile=config.jit_compile,
        )
        checkpoint = ResumableCheckpoint(Path(workdir) / "checkpoint")
        first_epoch = min(checkpoint.restore(model), config.epochs)
        if distributed:  # the chief's checkpoint decides, for every worker
            model.optimizer.build(model.trainable_variables)
            first_epoch = multi_worker.chief_value(first_epoch, strategy)
            multi_worker.broadcast_variables(checkpoint.variables(model), strategy)
    # the caller's callbacks see an epoch before it is checkpointed: a run killed in between
    # repeats that epoch (identically) rather than skipping what they record
    from kerasinv.layers.lps import TemperatureSchedule, lps_layers

    callbacks = [
        StepSchedule(config),
        StopOnDivergence(config.learning_rate),
        # LPS layers: their Gumbel-softmax temperature falls over the run (kerasinv.layers.lps)
        *([TemperatureSchedule(config.epochs)] if lps_layers(model) else []),
        *(callbacks or []),
        checkpoint,
    ]
    if distributed:
        multi_worker.fit(
            model, train_data, test_data, config, first_epoch, callbacks, evaluate_each_epoch
        )
        accuracy = multi_worker.evaluate(model, test_data, strategy)["accuracy"]
    else:
        from kerasinv import progress

        with progress.keras_to_stderr():  # Keras prints its bar to stdout; stdout is for tables
            model.fit(
                train_data.dataset(first_epoch, config.epochs),
                epochs=config.epochs,
                initial_epoch=first_epoch,
                steps_per_epoch=train_data.steps_per_epoch,
                validation_data=test_data if evaluate_each_epoch else None,
                shuffle=False,  # TrainData fixes the order
                verbose=config.verbose,
                callbacks=callbacks,
            )
        if config.precision != "float32":  # measured and returned in float32
            model = precision.as_float32(model, build)
            model.compile(loss="sparse_categorical_crossentropy", metrics=metrics())
        accuracy = model.evaluate(test_data, verbose=0, return_dict=True)["accuracy"]
    if not keep_checkpoint:
        shutil.rmtree(checkpoint.folder, ignore_errors=True)
    return TrainResult(
        model=model,
        test_accuracy=float(accuracy),
        history=checkpoint.history,
        epochs_run=config.epochs - first_epoch,
        resumed_from_epoch=first_epoch,
    )
