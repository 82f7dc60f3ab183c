"""The measuring module: one-pixel sequences, random shift pairs (one offset generator for every
caller), the diagonal sweep, representations and filters; and one number per model across
``kerasinv evaluate`` and the zhang-blurpool recipe."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasinv import measure, metrics, perturb
from tests.helpers import run_cli_here


def _images(n=12, size=40):
    return np.random.default_rng(0).uniform(0, 255, (n, size, size, 3)).astype(np.float32)


def constant(batch):
    return np.tile([0.1, 0.9], (len(batch), 1))


def top_left(batch):  # classifies by the frame's top-left pixel: every shift changes it
    return np.eye(256)[np.asarray(batch)[:, 0, 0, 0].astype(int)]


def test_shift_invariant_predictor_is_fully_consistent():
    pairs = measure.shift_pairs(constant, _images(), crop=32, trials=3)
    assert pairs.consistency == 1.0 and pairs.agree.shape == (3, 12)
    assert pairs.top1.shape == (3, 12, 2) and pairs.offsets.shape == (3, 12, 2, 2)
    assert pairs.offsets.min() >= 0 and pairs.offsets.max() <= 40 - 32 - 1


def test_pairs_are_the_drawn_windows_and_do_not_depend_on_the_batch_size():
    images = _images()
    pairs = measure.shift_pairs(top_left, images, crop=32, trials=2, seed=3, batch_size=5)
    o = pairs.offsets
    for k in (0, 1):
        expected = images[np.arange(12), o[1, :, k, 0], o[1, :, k, 1], 0].astype(int)
        np.testing.assert_array_equal(pairs.top1[1, :, k], expected)
    assert pairs.consistency < 0.5
    again = measure.shift_pairs(top_left, images, crop=32, trials=2, seed=3, batch_size=12)
    np.testing.assert_array_equal(again.offsets, pairs.offsets)
    np.testing.assert_array_equal(again.top1, pairs.top1)
    other = measure.shift_pairs(top_left, images, crop=32, trials=2, seed=4)
    assert not np.array_equal(other.offsets, pairs.offsets)
    # the generator is the one perturb.random_crop_pair draws from
    expected = perturb.shift_pair_offsets(3, 12, 8, 2).numpy()
    np.testing.assert_array_equal(pairs.offsets, expected)
    _, _, used = perturb.random_crop_pair(tf.constant(images), 32, 3)
    np.testing.assert_array_equal(used.numpy(), expected[0])


def test_circular_pairs_share_the_offsets_and_global_pooling_is_circular_invariant():
    images = _images(size=32)

    def mean_colour(batch):  # a circular shift keeps the mean of every channel
        m = np.asarray(batch).mean((1, 2))
        return m / m.sum(-1, keepdims=True)

    circular = measure.circular_shift_pairs(mean_colour, images, 8, trials=2, seed=3)
    assert circular.consistency == 1.0
    cropped = measure.shift_pairs(constant, _images(), 32, trials=2, seed=3)
    np.testing.assert_array_equal(circular.offsets, cropped.offsets)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="larger than crop"):
        measure.shift_pairs(constant, _images(), crop=40)


def test_onepixel_keeps_per_image_results_that_match_the_metrics():
    model = keras.Sequential(
        [keras.Input((16, 16, 3)), keras.layers.Rescaling(1 / 64), keras.layers.Flatten(),
         keras.layers.Dense(4, activation="softmax")]
    )  # fmt: skip
    predict = measure.keras_predictor(model)
    images = _images(5, 24)
    result = measure.onepixel(predict, images, "crop", 16, batch_size=2)
    frames = np.asarray(measure.onepixel_frames(images, "crop", 16))
    probs = predict(frames.reshape(-1, 16, 16, 3)).reshape(5, 9, -1)
    assert result.top1.shape == (5, 9) and result.changed.shape == (5, 8)
    np.testing.assert_array_equal(result.top1, probs.argmax(-1))
    assert result.changed.mean() == pytest.approx(metrics.p_top1_change(probs))
    assert result.abs_change.mean() == pytest.approx(metrics.mean_absolute_change(probs), abs=1e-6)


def test_diagonal_sweep_scores_every_diagonal_window():
    scores = measure.diagonal_sweep(top_left, _images(), 32, batch_size=5)
    assert scores.shape == (12, 9, 256)
    images = _images()
    for k in (0, 8):
        np.testing.assert_array_equal(scores[:, k].argmax(-1), images[:, k, k, 0].astype(int))


def test_layerwise_sensitivity_on_a_model():
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    model = keras.Model(inputs, x)
    images = np.random.default_rng(1).normal(size=(6, 8, 8, 1)).astype(np.float32)
    result = measure.layerwise_sensitivity(model, ["conv", "gap"], images, images)
    assert set(result) == {"conv", "gap"} and all(
        np.allclose(v, 0, atol=1e-6) for v in result.values()
    )
    rolled = np.roll(images, 1, axis=2)
    moved = measure.layerwise_sensitivity(model, ["conv", "gap"], images, rolled)
    assert moved["conv"].mean() > moved["gap"].mean()  # global pooling forgets position
    with pytest.raises(ValueError, match="no layers"):
        measure.layerwise_sensitivity(model, ["nope"], images, images)


def test_layer_smoothness_skips_pointwise_layers():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="c3")(inputs)
    x = keras.layers.Conv2D(4, 1, name="c1")(x)
    x = keras.layers.DepthwiseConv2D(3, name="dw")(x)
    result = measure.layer_smoothness(keras.Model(inputs, x))
    assert set(result) == {"c3", "dw"}
    assert set(result["c3"]) == {"total_variation", "gaussian_smoothness"}


def test_evaluate_and_the_zhang_recipe_report_the_same_consistency(tmp_path):
    """``kerasinv evaluate M --protocols shift`` and ``kerasinv recipe zhang-blurpool --model M``:
    the same model, photos and seed give the same consistency and centre-crop accuracy."""
    rng = np.random.default_rng(0)
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(16):  # labelled by WordNet id: tench (0) and goldfish (1)
        wnid = ("n01440764", "n01443537")[i % 2]
        data = tf.io.encode_png(rng.integers(0, 256, (44, 52, 3), dtype=np.uint8)).numpy()
        (photos / f"{wnid}_{i}.png").write_bytes(data)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Rescaling(1 / 128, offset=-1)(inputs)
    x = keras.layers.Conv2D(6, 5, strides=2, activation="relu")(x)
    x = keras.layers.Flatten()(x)  # position-dependent: shifts change some predictions
    model = keras.Model(inputs, keras.layers.Dense(1000, activation="softmax")(x), name="tiny")
    model.save(tmp_path / "tiny.keras")

    result = run_cli_here(
        "evaluate", str(tmp_path / "tiny.keras"), "--images", str(photos), "--protocols", "shift",
        "--seed", "3", "--output", str(tmp_path / "evaluate"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    row = json.loads((tmp_path / "evaluate" / "results.json").read_text())["summary"]["shift"]
    result = run_cli_here(
        "recipe", "zhang-blurpool", "--models", "none", "--model", str(tmp_path / "tiny.keras"),
        "--images", str(photos), "--seed", "3", "--trials", "5", "--output", str(tmp_path / "zhang"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    records = json.loads((tmp_path / "zhang" / "results.json").read_text())["records"]
    zhang = {r["column"]: r for r in records}
    assert row["trials"] == 5 and row["images"] == zhang["accuracy"]["photos"] == 16
    assert 0.0 < row["consistency"] < 1.0  # the shifts matter to this model, not always
    assert zhang["consistency"]["measured"] == pytest.approx(100 * row["consistency"], abs=1e-9)
    assert zhang["accuracy"]["measured"] == pytest.approx(100 * row["frame_accuracy"], abs=1e-9)


def test_the_measuring_path_knows_the_perturbations_one_pixel_protocols():
    from kerasinv import measure, perturb

    assert measure.ONEPIXEL_PROTOCOLS == perturb.ONEPIXEL_PROTOCOLS
    assert measure.PROTOCOLS[:5] == (*perturb.ONEPIXEL_PROTOCOLS, "shift")


def test_subpixel_pairs_draw_on_a_finer_grid_and_a_global_mean_ignores_them():
    images = _images(size=16)

    def mean_colour(batch):  # a band-limited circular shift keeps every channel's mean too
        m = np.asarray(batch).mean((1, 2))
        return m / m.sum(-1, keepdims=True)

    half = measure.subpixel_shift_pairs(mean_colour, images, 0.5, trials=2, seed=3)
    assert half.consistency == 1.0
    assert np.all(half.offsets * 2 == np.round(half.offsets * 2)) and half.offsets.max() < 16
    assert np.any(half.offsets != np.round(half.offsets))  # some really are half-pixel
    whole = measure.circular_shift_pairs(mean_colour, images, 32, trials=2, seed=3)
    np.testing.assert_array_equal(half.offsets * 2, whole.offsets)  # the same draws, finer


def test_shift_grid_holds_the_unshifted_image_and_every_shift():
    images = _images(n=3, size=8)
    grid = measure.shift_grid(top_left, images, step=1.0, reach=1)
    assert grid.top1.shape == (3, 9) and grid.shifts.shape == (9, 2)
    centre = int(np.flatnonzero(~grid.shifts.any(axis=1))[0])
    np.testing.assert_array_equal(grid.top1[:, centre], images[:, 0, 0, 0].astype(int))
    d = grid.shifts[0].astype(int)  # (-1, -1): the pixel at (1, 1) moves to the top left
    np.testing.assert_array_equal(grid.top1[:, 0], images[:, -d[0], -d[1], 0].astype(int))
    labels = images[:, 0, 0, 0].astype(int)
    assert grid.worst_accuracy(labels) < 1.0
    halves = measure.shift_grid(constant, images, step=0.5, reach=1)
    assert halves.top1.shape == (3, 25) and halves.worst_accuracy(np.ones(3, int)) == 1.0


def test_evaluate_reports_circular_subpixel_and_worst_shift_protocols():
    from kerasinv.evaluation import evaluate
    from kerasinv.models import get

    model = get("all-cnn-c", width=0.0625, dropout=False)
    images = _images(n=6, size=34)
    labels = np.arange(6) % 10
    protocols = ["circular", "half-pixel", "fractional", "worst-shift", "worst-half-pixel"]
    result = evaluate(model, images, labels, protocols, shift_trials=1, preprocess="none")
    summary = result["summary"]
    for protocol in protocols[:3]:
        assert 0.0 <= summary[protocol]["consistency"] <= 1.0
    assert summary["worst-shift"]["shifts"] == 25 and summary["worst-half-pixel"]["shifts"] == 81
    assert (
        summary["worst-shift"]["worst_shift_accuracy"] <= summary["worst-shift"]["frame_accuracy"]
    )
    assert result["per_image"]["worst-half-pixel_top1"].shape == (6, 81)
