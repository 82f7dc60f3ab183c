import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from kerasinv import models, training
from kerasinv.errors import ConfigError, DataFormatError, TrainingDivergedError


def test_schedule_scales_the_paper_drops():
    assert training.drop_epochs(350) == [200, 250, 300]
    assert training.drop_epochs(7) == [4, 5, 6]
    cfg = training.TrainConfig(epochs=350, learning_rate=0.05)
    lrs = [training.learning_rate_at(e, cfg) for e in (0, 199, 200, 249, 250, 300, 349)]
    np.testing.assert_allclose(lrs, [0.05, 0.05, 0.005, 0.005, 0.0005, 0.00005, 0.00005])
    with pytest.raises(ConfigError):
        training.TrainConfig(strategy="tpu")
    with pytest.raises(ConfigError):
        training.TrainConfig(epochs=0)


def test_step_schedule_rescales_the_sgd_velocity_with_the_rate():
    """PyTorch's momentum semantics: after a drop the old velocity moves the weights at the new
    rate (Keras's SGD would keep moving them at the old one)."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
    model.train_on_batch(np.ones((4, 3), "float32"), np.zeros((4, 2), "float32"))
    before = [v.numpy().copy() for v in model.optimizer.momentums]
    assert any(np.abs(b).max() > 0 for b in before)
    cfg = training.TrainConfig(epochs=10, learning_rate=0.1, drops=(70,))  # drop after epoch 2
    schedule = training.StepSchedule(cfg)
    schedule.set_model(model)
    schedule.on_epoch_begin(1)  # still 0.1: unchanged
    for b, v in zip(before, model.optimizer.momentums, strict=True):
        np.testing.assert_allclose(v.numpy(), b)
    schedule.on_epoch_begin(2)  # 0.01
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    for b, v in zip(before, model.optimizer.momentums, strict=True):
        np.testing.assert_allclose(v.numpy(), 0.1 * b, rtol=1e-5)


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
    y = (x[..., 0].mean(axis=(1, 2)) > 127).astype(np.int64)  # learnable
    return x, y


def _tiny():
    return models.get("all-cnn-c", width=0.0625, classes=2, dropout=False)


def _scale(batch):
    return batch / 127.5 - 1.0


def _weights(model):
    return [np.asarray(w) for w in model.variables]


def test_training_is_repeatable_with_a_seed_whatever_ran_before(tmp_path):
    """Same seed, same numbers: also when another model trained first from the same data objects."""
    x, y = _data()
    cfg = training.TrainConfig(epochs=2, batch_size=16, seed=7, verbose=0, augment=True)
    tr, te = training.make_datasets(x, y, x[:16], y[:16], _scale, cfg)
    first = training.train(_tiny, tr, te, cfg, tmp_path / "a")
    other = training.TrainConfig(epochs=1, batch_size=16, seed=3, verbose=0)
    training.train(
        lambda: models.get("model-a", width=0.0625, classes=2), tr, te, other, tmp_path / "b"
    )
    again = training.train(_tiny, tr, te, cfg, tmp_path / "c")
    assert first.epochs_run == 2 and not (tmp_path / "a" / "checkpoint").exists()
    for a, b in zip(_weights(first.model), _weights(again.model), strict=True):
        np.testing.assert_array_equal(a, b)


def test_train_data_order_depends_only_on_seed_and_epoch():
    x, y = _data(40)
    cfg = training.TrainConfig(epochs=3, batch_size=16, seed=5, augment=True, max_shift=2)
    data, _ = training.make_datasets(x, y, x[:4], y[:4], None, cfg)
    assert data.steps_per_epoch == 3
    whole = [b for b, _ in data.dataset(0, 3)]
    tail = [b for b, _ in data.dataset(2, 3)]
    assert len(whole) == 9 and len(tail) == 3
    for a, b in zip(whole[6:], tail, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(whole[0], whole[3])  # each epoch its own order


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            raise KeyboardInterrupt("simulated interruption")


def test_interrupted_and_resumed_training_equals_the_unbroken_run(tmp_path):
    """Whole state restored: weights, momentum, dropout generators, data order, schedule."""
    x, y = _data()

    def tiny_with_dropout():
        return models.get("all-cnn-c", width=0.0625, classes=2)

    cfg = training.TrainConfig(epochs=4, batch_size=16, verbose=0, augment=True, drops=(200,))
    tr, te = training.make_datasets(x, y, x[:16], y[:16], _scale, cfg)
    unbroken = training.train(tiny_with_dropout, tr, te, cfg, tmp_path / "unbroken")
    with pytest.raises(KeyboardInterrupt):
        training.train(tiny_with_dropout, tr, te, cfg, tmp_path / "r", callbacks=[_Interrupt()])
    assert (tmp_path / "r" / "checkpoint" / "state.npz").is_file()
    # the model's variables alone, into a fresh uncompiled network, to measure the checkpoint
    checkpoint = training.ResumableCheckpoint(tmp_path / "r" / "checkpoint")
    fresh = tiny_with_dropout()
    assert checkpoint.restore_model(fresh) == 2
    with np.load(tmp_path / "r" / "checkpoint" / "state.npz") as saved:
        for i, w in enumerate(_weights(fresh)):
            np.testing.assert_array_equal(w, saved[f"v{i}"])
    with pytest.raises(ConfigError, match="different model"):
        checkpoint.restore_model(models.get("model-a", width=0.0625, classes=2))
    resumed = training.train(tiny_with_dropout, tr, te, cfg, tmp_path / "r")
    assert resumed.resumed_from_epoch == 2 and resumed.epochs_run == 2
    assert len(resumed.history["loss"]) == 4
    np.testing.assert_allclose(resumed.history["loss"], unbroken.history["loss"], rtol=1e-6)
    for a, b in zip(_weights(unbroken.model), _weights(resumed.model), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_a_finite_but_exploding_loss_is_divergence():
    """``--lr 10`` once gave a finite loss of 4.5e23 that was recorded as a result."""
    stop = training.StopOnDivergence(learning_rate=10.0)
    stop.on_epoch_begin(0)
    stop.on_train_batch_end(0, {"loss": 2.4})
    stop.on_train_batch_end(1, {"loss": 19.0})  # bad, but below 20 (cross-entropy reaches 16)
    with pytest.raises(TrainingDivergedError, match=r"exploded to 4.5e\+23 at epoch 1, batch 3"):
        stop.on_train_batch_end(2, {"loss": 4.5e23})
    tenfold = training.StopOnDivergence(learning_rate=4.0)  # --lr 4: a tenfold rise
    tenfold.on_epoch_begin(0)
    tenfold.on_train_batch_end(0, {"loss": 2.8})
    with pytest.raises(TrainingDivergedError, match="exploded to 29"):
        tenfold.on_train_batch_end(1, {"loss": 29.0})
    with pytest.raises(TrainingDivergedError, match="became nan"):
        stop.on_epoch_end(0, {"loss": float("nan")})


def test_non_finite_preprocessed_data_is_refused_before_training():
    """NaN inputs once trained a network to a finite chance-level loss (ReLU maps NaN to 0)."""
    x, y = _data()
    cfg = training.TrainConfig(epochs=1, batch_size=16, verbose=0, learning_rate=0.05)
    with pytest.raises(DataFormatError, match="NaN or infinite"):
        training.make_datasets(x, y, x[:16], y[:16], lambda b: b * np.nan, cfg)


def test_mirrored_training_on_two_logical_cpus(tmp_path):
    script = textwrap.dedent(
        """
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from kerasinv import models, training
        rng = np.random.default_rng(0)
        x = rng.integers(0, 256, size=(64, 32, 32, 3), dtype=np.uint8)
        y = (x[..., 0].mean(axis=(1, 2)) > 127).astype(np.int64)
        cfg = training.TrainConfig(epochs=2, batch_size=16, verbose=0, strategy="mirrored")
        tr, te = training.make_datasets(x, y, x[:16], y[:16], lambda b: b / 127.5 - 1, cfg)
        strategy = training.make_strategy("mirrored")
        assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
        r = training.train(lambda: models.get("model-a", width=0.0625, classes=2), tr, te, cfg, WORKDIR)
        assert r.epochs_run == 2 and np.isfinite(r.history["loss"]).all()
        print("replicas", strategy.num_replicas_in_sync)
        """
    ).replace("WORKDIR", repr(str(tmp_path)))
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "replicas 2" in out.stdout


def test_augmentation_is_a_flip_and_a_translation_of_at_most_max_shift():
    import tensorflow as tf

    image = np.arange(8 * 8 * 1, dtype=np.float32).reshape(8, 8, 1) + 1
    padded = np.pad(image, [(2, 2), (2, 2), (0, 0)])
    candidates = {}
    for flip in (False, True):
        src = np.pad(image[:, ::-1], [(2, 2), (2, 2), (0, 0)]) if flip else padded
        for dy in range(5):
            for dx in range(5):
                candidates[(flip, dy - 2, dx - 2)] = src[dy : dy + 8, dx : dx + 8]
    seen = set()
    for s in range(60):
        out = training._augment(
            tf.constant(image), tf.constant([s, 1], tf.int64), max_shift=2
        ).numpy()
        match = [k for k, v in candidates.items() if np.array_equal(v, out)]
        assert match, "output is not a flip + shift of the input"
        seen.add(match[0])
    assert {k[0] for k in seen} == {False, True} and len(seen) > 10


def test_without_reshuffle_every_epoch_visits_the_images_in_one_order():
    """Caffe's LMDB reader never reshuffles: ``reshuffle=False`` keeps one seeded permutation."""
    x, y = _data(n=12)
    y = np.arange(12)  # labels name the images
    orders = {}
    for reshuffle in (True, False):
        cfg = training.TrainConfig(epochs=3, batch_size=12, seed=5, reshuffle=reshuffle)
        data = training.TrainData(x.astype("float32"), y, cfg)
        orders[reshuffle] = [labels.numpy().tolist() for _, labels in data.dataset(0, 3)]
    assert orders[False][0] == orders[False][1] == orders[False][2]
    assert orders[False][0] != list(range(12))  # still a permutation, not the file order
    assert orders[True][0] != orders[True][1]
    assert orders[True][0] == orders[False][0]  # epoch 0 is the same either way


def test_caffe_stream_reads_one_order_in_full_batches_across_the_end_of_the_data():
    """``stream``: Caffe's Data layer reads its LMDB on across the end, so every batch is full and
    the batches differ from epoch to epoch; an epoch is round(N / batch) steps, resumable."""
    x, y = _data(n=10)
    y = np.arange(10)  # labels name the images
    fixed = training.TrainConfig(epochs=3, batch_size=4, seed=5, reshuffle=False)
    order = [
        label
        for _, labels in training.TrainData(x.astype("float32"), y, fixed).dataset(0, 1)
        for label in labels.numpy().tolist()
    ]  # the one permutation (batches of 4, 4, 2)
    cfg = training.TrainConfig(epochs=3, batch_size=4, seed=5, reshuffle=False, stream=True)
    data = training.TrainData(x.astype("float32"), y, cfg)
    assert data.steps_per_epoch == 2 and data.images_per_epoch == 8  # round(10 / 4) full batches
    batches = [labels.numpy().tolist() for _, labels in data.dataset(0, 3)]
    assert [len(b) for b in batches] == [4] * 6
    stream = [label for b in batches for label in b]
    assert stream == (order * 3)[:24]  # the same order, read on across its end
    assert batches[2] != batches[0]  # epoch 1's first batch starts 8 images on
    resumed = [labels.numpy().tolist() for _, labels in data.dataset(1, 3)]
    assert resumed == batches[2:]  # an interrupted run resumes on the same stream
    with pytest.raises(ConfigError, match="reshuffle"):
        training.TrainConfig(stream=True, reshuffle=True)


def test_a_spec_asks_for_caffes_stream_and_records_say_how_many_images_an_epoch_is():
    from kerasinv.errors import ConfigError as Refused
    from kerasinv.recipes import curve, load_spec
    from kerasinv.recipes.engine import settings_of, train_config

    spec = load_spec("springenberg-curve")
    assert "stream" not in settings_of(curve.RUNNER, spec, {"preset": "paper"})
    spec["training"]["stream"] = True
    settings = settings_of(curve.RUNNER, spec, {"preset": "paper"})
    assert settings["stream"] is True and train_config(settings, 0).stream
    with pytest.raises(Refused, match="reshuffle"):
        settings_of(curve.RUNNER, spec, {"preset": "paper", "reshuffle": True})
