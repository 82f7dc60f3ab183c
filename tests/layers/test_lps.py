"""Learnable polyphase sampling: circular-shift invariance by construction (at initialisation and
after training), the temperature schedule, and LPS twins of any CNN."""

import keras
import numpy as np
import pytest

import kerasinv
from kerasinv.layers import LearnablePolyphasePool2D, Pad2D, TemperatureSchedule
from kerasinv.layers.lps import lps_layers


def _circular_net():
    """Circular convs, two LPS downsamplings and a global average: invariant to circular shifts."""
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(6, 3, activation="relu")(Pad2D(1, 1, "circular")(inputs))
    x = LearnablePolyphasePool2D(seed=1)(x)
    x = keras.layers.Conv2D(8, 3, activation="relu")(Pad2D(1, 1, "circular")(x))
    x = LearnablePolyphasePool2D(seed=2)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))


def _max_change_under_circular_shifts(model, images):
    base = model.predict(images, verbose=0)
    worst = 0.0
    for dy, dx in [(1, 0), (0, 1), (1, 1), (3, 5), (7, 2)]:
        shifted = model.predict(np.roll(images, (dy, dx), axis=(1, 2)), verbose=0)
        worst = max(worst, float(np.abs(shifted - base).max()))
    return worst


def test_circular_shift_invariance_at_initialisation_and_after_training():
    keras.utils.set_random_seed(0)
    model = _circular_net()
    rng = np.random.default_rng(0)
    images = rng.normal(size=(6, 16, 16, 3)).astype("float32")
    assert _max_change_under_circular_shifts(model, images) < 1e-5
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    scorer = model.layers[3]._score1.kernel
    before = np.asarray(scorer).copy()
    for _ in range(5):
        model.train_on_batch(images, np.arange(6) % 3)
    assert not np.allclose(np.asarray(scorer), before)  # the choice is learned
    assert _max_change_under_circular_shifts(model, images) < 1e-5


def test_training_mixes_the_components_and_inference_picks_one():
    x = np.random.default_rng(1).normal(size=(2, 8, 8, 4)).astype("float32")
    layer = LearnablePolyphasePool2D(seed=0)
    hard = np.asarray(layer(x))
    components = np.asarray(layer.components(x))  # [B, 4, h, w, C]
    assert all(any(np.array_equal(hard[b], components[b, k]) for k in range(4)) for b in range(2))
    soft = np.asarray(layer(x, training=True))
    assert not any(np.allclose(soft[0], components[0, k]) for k in range(4))  # a mixture
    layer.temperature.assign(1e-3)  # near zero: the mixture is (almost) one component
    cold = np.asarray(layer(x, training=True))
    assert any(np.allclose(cold[0], components[0, k], atol=1e-3) for k in range(4))


def test_the_temperature_falls_geometrically_over_the_run():
    schedule = TemperatureSchedule(epochs=5, start=1.0, end=0.0625)
    assert [round(schedule.value(e), 4) for e in range(5)] == [1.0, 0.5, 0.25, 0.125, 0.0625]
    model = _circular_net()
    schedule.set_model(model)
    schedule.on_epoch_begin(2)
    assert [float(np.asarray(layer.temperature)) for layer in lps_layers(model)] == [0.25, 0.25]


def test_training_anneals_the_lps_layers(tmp_path):
    from kerasinv import training

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (16, 16, 16, 3), dtype=np.uint8)
    y = rng.integers(0, 3, 16)
    config = training.TrainConfig(epochs=2, batch_size=8, verbose=0)
    tr, te = training.make_datasets(x, y, x, y, lambda b: b / 255.0, config)
    result = training.train(_circular_net, tr, te, config, tmp_path / "work")
    # the last epoch ran at the schedule's end
    assert all(
        float(np.asarray(layer.temperature)) == pytest.approx(0.05)
        for layer in lps_layers(result.model)
    )


def test_an_lps_twin_keeps_the_stock_weights_and_adds_only_its_scorers():
    stock = keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), classes=5)
    twin = kerasinv.antialias(stock, "lps", padding="circular")
    assert twin.name.endswith("_lps") and len(lps_layers(twin)) >= 4
    paths = {v.path: np.asarray(v) for v in twin.weights}
    for v in stock.weights:
        np.testing.assert_array_equal(paths[v.path], np.asarray(v))
    extra = set(paths) - {v.path for v in stock.weights}
    assert extra and all("learnable_polyphase_pool2d" in p for p in extra)
    out = twin.predict(np.zeros((1, 32, 32, 3), "float32"), verbose=0)
    assert out.shape == (1, 5) and np.all(np.isfinite(out))
