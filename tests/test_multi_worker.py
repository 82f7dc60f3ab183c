"""--strategy multi-worker: TF_CONFIG parsing, and the custom distributed loop computes what
Model.fit computes. Two worker processes training the curve recipe together are tested in
tests/recipes/test_curve.py, beside the single-process run they are compared with."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from kerasinv.errors import ConfigError
from kerasinv.multi_worker import cluster
from tests.helpers import free_ports as _free_ports
from tests.helpers import tf_config as _tf_config


def test_cluster_is_read_from_tf_config_with_clear_errors():
    two = {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}
    c = cluster({"TF_CONFIG": json.dumps(two)})
    assert (c.workers, c.task_index, c.is_chief) == (2, 1, False)
    with_chief = {
        "cluster": {"chief": ["a:1"], "worker": ["b:2"]},
        "task": {"type": "chief", "index": 0},
    }
    assert cluster({"TF_CONFIG": json.dumps(with_chief)}).is_chief
    for bad, says in (
        (None, "needs the cluster in TF_CONFIG"),
        ("{not json", "not a valid cluster description"),
        (json.dumps({"cluster": {"worker": ["a:1"]}}), "not a valid cluster description"),
        (json.dumps({**two, "task": {"type": "worker", "index": 2}}), "index 2 is not in"),
        (json.dumps({**two, "task": {"type": "ps", "index": 0}}), "must be 'chief' or 'worker'"),
    ):
        with pytest.raises(ConfigError, match=says):
            cluster({} if bad is None else {"TF_CONFIG": bad})


_SAME_AS_FIT = textwrap.dedent(
    """
    import json, sys, tempfile
    import keras, numpy as np
    from kerasinv import multi_worker, training
    multi_worker.strategy()  # first, before any other TensorFlow op
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (70, 8, 8, 3)).astype("uint8"); y = rng.integers(0, 3, 70)
    def build():
        return keras.Sequential([
            keras.Input((8, 8, 3)),
            keras.layers.Rescaling(1 / 64.0),
            keras.layers.Conv2D(6, 3, activation="relu", kernel_regularizer=keras.regularizers.L2(5e-3)),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3, activation="softmax"),
        ])
    histories = {}
    for strategy in ("multi-worker", "default"):
        config = training.TrainConfig(epochs=4, batch_size=16, learning_rate=0.2, drops=(175, 263),
                                      seed=3, strategy=strategy, verbose=0)
        data, test = training.make_datasets(x, y, x[:30], y[:30], None, config)
        with tempfile.TemporaryDirectory() as work:
            result = training.train(build, data, test, config, work, evaluate_each_epoch=True)
        histories[strategy] = {**result.history, "final": [result.test_accuracy]}
    print(json.dumps(histories))
    """
)


def test_the_distributed_loop_computes_what_fit_computes():
    """One worker, no dropout: the custom loop's losses, accuracies and schedule equal fit's."""
    env = {**os.environ, "TF_CONFIG": _tf_config(_free_ports(1), 0), "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-c", _SAME_AS_FIT], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    histories = json.loads(proc.stdout.strip().splitlines()[-1])
    ours, fit = histories["multi-worker"], histories["default"]
    assert fit["learning_rate"] == pytest.approx([0.2, 0.2, 0.02, 0.002])
    keys = ("loss", "cross_entropy", "accuracy", "val_loss", "val_cross_entropy", "val_accuracy")
    for key in (*keys, "learning_rate", "final"):
        np.testing.assert_allclose(ours[key], fit[key], rtol=1e-4, atol=1e-5, err_msg=key)
    assert fit["loss"][-1] < fit["loss"][0]  # it trained: the comparison is not of constants
    # the data term is the loss without the weight decay, which this run has
    assert np.all(np.array(fit["val_cross_entropy"]) < np.array(fit["val_loss"]))
