"""Training on several machines: ``--strategy multi-worker`` (tf.distribute.MultiWorkerMirroredStrategy).

Each worker runs the same command with its own ``TF_CONFIG`` (TensorFlow's cluster description)::

    TF_CONFIG='{"cluster": {"worker": ["host1:2222", "host2:2222"]}, "task": {"type": "worker", "index": 0}}'

Every worker holds a full copy of the model; each step splits the global batch between them and
all-reduces the gradients, so the run computes what one process computes at the same global batch
(``--batch-size`` is global).

Keras 3's ``Model.fit`` fails under this strategy (keras-team/keras#20585), so :func:`fit` is a
custom distributed loop: the same SGD, schedule, callbacks and checkpoints as ``fit`` in
:mod:`kerasinv.training`, with one gradient all-reduce per step.

Who writes what: the chief (task ``chief``, or worker 0 when the cluster has no chief) writes the
outputs; every other worker writes into a private temporary folder that is removed at the end (the
pattern TensorFlow documents, since saving may involve collective ops every worker must join).
Decisions that depend on files (which models are done, from which epoch to resume) are taken by the
chief and broadcast (:func:`chief_value`, :func:`broadcast_variables`), so workers need no shared
file system.

This module's top level imports no TensorFlow: :func:`cluster` is used by the CLI's checks.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from kerasinv.errors import ConfigError

_STRATEGY = None  # created once per process, before any other TensorFlow op


@dataclass(frozen=True)
class Cluster:
    """This process's place in the cluster described by ``TF_CONFIG``."""

    workers: int
    task_type: str
    task_index: int

    @property
    def is_chief(self) -> bool:
        return self.task_type == "chief" or (self.task_type == "worker" and self.task_index == 0)


def cluster(environ=None) -> Cluster:
    """Parse ``TF_CONFIG``; a clear :class:`ConfigError` when it is missing or malformed."""
    raw = (environ if environ is not None else os.environ).get("TF_CONFIG")
    hint = (
        'set TF_CONFIG on every worker, e.g. {"cluster": {"worker": ["host1:2222", "host2:2222"]}, '
        '"task": {"type": "worker", "index": 0}} (index 1 on the second machine)'
    )
    if not raw:
        raise ConfigError(f"--strategy multi-worker needs the cluster in TF_CONFIG: {hint}")
    try:
        config = json.loads(raw)
        members = config["cluster"]
        task_type = str(config["task"]["type"])
        task_index = int(config["task"]["index"])
        workers = sum(len(members.get(kind, [])) for kind in ("chief", "worker"))
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ConfigError(f"TF_CONFIG is not a valid cluster description ({e}): {hint}") from None
    if task_type not in ("chief", "worker"):
        raise ConfigError(f"TF_CONFIG task type must be 'chief' or 'worker', got {task_type!r}")
    if not 0 <= task_index < len(members.get(task_type, [])):
        raise ConfigError(
            f"TF_CONFIG task index {task_index} is not in the cluster's {task_type} list"
        )
    return Cluster(workers, task_type, task_index)


def strategy():
    """The process's MultiWorkerMirroredStrategy (created on first call; call it before any
    other TensorFlow op, as TensorFlow requires)."""
    global _STRATEGY
    if _STRATEGY is None:
        import tensorflow as tf

        cluster()  # a clear error before TensorFlow's
        try:
            _STRATEGY = tf.distribute.MultiWorkerMirroredStrategy()
        except RuntimeError as e:
            if "program startup" not in str(e):
                raise
            raise ConfigError(
                "the multi-worker strategy must exist before any other TensorFlow op: call "
                "kerasinv.multi_worker.strategy() at the start of the program"
            ) from None
    return _STRATEGY


def active(strategy_obj) -> bool:
    """Whether ``strategy_obj`` is the multi-worker strategy."""
    import tensorflow as tf

    return isinstance(strategy_obj, tf.distribute.MultiWorkerMirroredStrategy)


def chief_value(value: int, strategy_obj=None) -> int:
    """The chief's ``value`` on every worker: identity unless ``strategy_obj`` (default: the
    process's multi-worker strategy, if it made one) is the multi-worker strategy."""
    strategy_obj = strategy_obj or _STRATEGY
    if strategy_obj is None or not active(strategy_obj):
        return int(value)
    import tensorflow as tf

    mine = tf.constant(int(value) if cluster().is_chief else 0, tf.int64)
    return int(_all_reduce_sum(strategy_obj, [mine])[0])


def broadcast_variables(variables, strategy_obj) -> None:
    """Give every worker the chief's values of ``variables`` (after the chief restored a checkpoint)."""
    import tensorflow as tf

    chief = cluster().is_chief
    values = [tf.convert_to_tensor(v) if chief else tf.zeros_like(v) for v in variables]
    for variable, value in zip(variables, _all_reduce_sum(strategy_obj, values), strict=True):
        variable.assign(value)


def _all_reduce_sum(strategy_obj, tensors):
    """Sum ``tensors`` over the workers (each worker contributes its own values once)."""
    import tensorflow as tf

    per_worker = strategy_obj.num_replicas_in_sync // cluster().workers or 1

    def step():
        context = tf.distribute.get_replica_context()
        # every local replica contributes the same values: divide them out again
        return [context.all_reduce("SUM", tf.cast(t, tf.float64)) / per_worker for t in tensors]

    out = strategy_obj.run(step)
    return [
        tf.cast(strategy_obj.experimental_local_results(o)[0], t.dtype)
        for o, t in zip(out, tensors, strict=True)
    ]


def _distribute(strategy_obj, dataset):
    import tensorflow as tf

    options = tf.data.Options()
    # split each global batch between the workers (the data is already in memory on every worker)
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy_obj.experimental_distribute_dataset(dataset.with_options(options))


def evaluate(model, test_data, strategy_obj) -> dict[str, float]:
    """``{"loss", "cross_entropy", "accuracy"}`` of ``model`` on ``test_data``, split between the
    workers: ``loss`` is the mean cross-entropy plus the regularisation (as Keras reports it),
    ``cross_entropy`` the data term alone."""
    return evaluator(model, strategy_obj)(test_data)


def evaluator(model, strategy_obj) -> Callable:
    """:func:`evaluate` for one model, traced once: call it on a test set every epoch."""
    import keras
    import tensorflow as tf

    @tf.function
    def step(images, labels):
        def replica(images, labels):
            probabilities = model(images, training=False)
            losses = keras.losses.sparse_categorical_crossentropy(labels, probabilities)
            correct = tf.cast(
                tf.argmax(probabilities, -1, output_type=tf.int32) == labels, tf.float64
            )
            return tf.stack(
                [
                    tf.reduce_sum(tf.cast(losses, tf.float64)),
                    tf.reduce_sum(correct),
                    tf.cast(tf.size(labels), tf.float64),
                ]
            )

        return strategy_obj.reduce("SUM", strategy_obj.run(replica, args=(images, labels)), None)

    def run(test_data) -> dict[str, float]:
        totals = tf.zeros(3, tf.float64)
        for images, labels in _distribute(strategy_obj, test_data):
            totals += step(images, labels)
        loss_sum, correct, count = (float(t) for t in totals)
        regularisation = float(sum(keras.ops.convert_to_numpy(x) for x in model.losses))
        cross_entropy = loss_sum / max(count, 1.0)
        return {
            "loss": cross_entropy + regularisation,
            "cross_entropy": cross_entropy,
            "accuracy": correct / max(count, 1.0),
        }

    return run


def fit(model, train_data, test_data, config, first_epoch: int, callbacks, evaluate_each_epoch):
    """``model.fit`` for :class:`~kerasinv.training.TrainData` under the multi-worker strategy.

    ``model`` is compiled (its optimizer is used) inside the strategy's scope. Callbacks get what
    ``fit`` gives them: ``on_train_batch_end`` with the running ``loss`` / ``cross_entropy`` /
    ``accuracy``, ``on_epoch_end`` with the epoch's and, when ``evaluate_each_epoch``, the same
    three with a ``val_`` prefix. Returns nothing (the history is kept by the callbacks).
    """
    import keras
    import numpy as np
    import tensorflow as tf

    strategy_obj = strategy()
    optimizer = model.optimizer
    variables = model.trainable_variables

    @tf.function
    def train_step(images, labels):
        def replica(images, labels):
            context = tf.distribute.get_replica_context()
            global_count = context.all_reduce("SUM", tf.cast(tf.size(labels), tf.float32))
            with tf.GradientTape() as tape:
                probabilities = model(images, training=True)
                losses = keras.losses.sparse_categorical_crossentropy(labels, probabilities)
                cross_entropy = tf.reduce_sum(losses) / global_count
                loss = cross_entropy
                if model.losses:
                    loss += tf.add_n(model.losses) / strategy_obj.num_replicas_in_sync
            gradients = tape.gradient(loss, variables)
            optimizer.apply_gradients(
                zip(gradients, variables, strict=True)
            )  # all-reduces the gradients
            correct = tf.cast(
                tf.argmax(probabilities, -1, output_type=tf.int32) == labels, tf.float32
            )
            count = tf.cast(tf.size(labels), tf.float32)
            return tf.stack([loss, cross_entropy, tf.reduce_sum(correct), count])

        return strategy_obj.reduce("SUM", strategy_obj.run(replica, args=(images, labels)), None)

    measure = evaluator(model, strategy_obj)
    callback_list = keras.callbacks.CallbackList(callbacks, model=model)
    batches = iter(_distribute(strategy_obj, train_data.dataset(first_epoch, config.epochs)))
    callback_list.on_train_begin()
    for epoch in range(first_epoch, config.epochs):
        started = time.perf_counter()
        callback_list.on_epoch_begin(epoch)
        sums = np.zeros(4)  # loss, cross-entropy, correct, images
        logs: dict[str, float] = {}
        for step in range(train_data.steps_per_epoch):
            loss, cross_entropy, right, seen = (float(v) for v in train_step(*next(batches)))
            # as fit reports them: means over the epoch's images so far (the losses are
            # per-replica means of the global batch, summed over replicas by the reduce)
            sums += (loss * seen, cross_entropy * seen, right, seen)
            count = max(sums[3], 1.0)
            logs = {
                "loss": sums[0] / count,
                "cross_entropy": sums[1] / count,
                "accuracy": sums[2] / count,
            }
            callback_list.on_train_batch_end(step, logs)
        if evaluate_each_epoch:
            logs.update({f"val_{k}": v for k, v in measure(test_data).items()})
        callback_list.on_epoch_end(epoch, logs)
        if config.verbose:
            print(
                f"Epoch {epoch + 1}/{config.epochs} - {time.perf_counter() - started:.0f}s - "
                + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()),
                file=sys.stderr,
                flush=True,
            )
    callback_list.on_train_end()
