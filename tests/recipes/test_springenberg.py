"""One end-to-end run of the smoke preset (the twelve models), then resume and error behaviour."""

import json
import time

import numpy as np
import pytest

from kerasinv.data.preprocessing import GCNZCA, global_contrast_normalize
from kerasinv.data.samples import load_embedded_sample
from kerasinv.errors import ConfigError, UnknownNameError
from kerasinv.recipes import load_spec
from kerasinv.recipes.engine import settings_of, train_config
from kerasinv.recipes.springenberg import RUNNER, render_table
from tests import golden
from tests.helpers import run_cli_here

#: a pooling and an all-convolutional network (the twelve build and count their parameters in
#: tests/models/test_allcnn.py; the curve recipe's tests train All-CNN-C for several epochs)
MODELS = ["model-a", "all-cnn-c"]


def resolve_settings(spec: dict, preset: str, **options) -> dict:
    """The run's settings as the engine resolves them."""
    return settings_of(RUNNER, spec, {"preset": preset, **options})


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke")
    start = time.perf_counter()
    proc = run_cli_here(
        "recipe", "springenberg-allcnn", "--preset", "smoke", "--models", ",".join(MODELS),
        "--output", str(out),
    )  # fmt: skip
    return out, proc, time.perf_counter() - start


def test_smoke_run_writes_records_table_and_models(smoke_run):
    out, proc, _ = smoke_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    records = results["records"]
    assert [r["model"] for r in records] == MODELS
    for r in records:
        assert 0 <= r["measured"] <= 100 and r["paper"] is not None
        assert r["table"] == "Table 3" and r["preset"] == "smoke" and r["dataset"] == "cifar10"
        assert r["train_images"] == 2000 and r["test_images"] == 1000 and r["epochs_run"] == 1
        assert {"tensorflow", "keras", "kerasinv"} <= set(r["versions"]) and r["wall_s"] > 0
        assert (out / r["saved_model"] / "saved_model.pb").is_file()
        assert (out / r["model_file"]).is_file()
    assert {r["model"]: r["params_width1"] for r in records}["all-cnn-c"] == 1_369_738
    table = (out / "table.md").read_text()
    assert proc.stdout == table + "\n"  # stdout is the table alone: `> table.md` is clean
    assert "/step" in proc.stderr and "loss:" in proc.stderr  # Keras's progress, on stderr
    assert "| all-cnn-c | 1,369,738 | 1.4M |" in table and "9.08" in table
    assert (out / "errors.png").read_bytes()[:4] == b"\x89PNG"
    assert not (out / "work").exists()
    assert not list(out.rglob(".*tmp*"))


def test_preprocessing_was_fitted_on_the_training_split_only(smoke_run):
    out = smoke_run[0]
    saved = GCNZCA.load(out / "preprocessing.npz")
    sample = load_embedded_sample()
    # the whitening's mean is the mean of the contrast-normalised *training* images (no eigh here:
    # tests/data covers the matrix); the test split's mean differs
    for split, same in ((sample.x_train, True), (sample.x_test, False)):
        mean = global_contrast_normalize(split).reshape(len(split), -1).mean(axis=0)
        assert np.allclose(saved.mean, mean, atol=1e-4) is same


def test_rerun_skips_finished_models_and_refuses_other_settings(smoke_run):
    out = smoke_run[0]
    again = run_cli_here(
        "recipe", "springenberg-allcnn", "--preset", "smoke", "--models", ",".join(MODELS),
        "--output", str(out),
    )  # fmt: skip
    assert again.returncode == 0
    assert again.stderr.count("already measured") == len(MODELS)
    quiet = run_cli_here(
        "recipe", "springenberg-allcnn", "--preset", "smoke", "--models", ",".join(MODELS),
        "--quiet", "--output", str(out),
    )  # fmt: skip
    assert quiet.stdout == again.stdout and "already measured" not in quiet.stderr
    other = run_cli_here(
        "recipe", "springenberg-allcnn", "--preset", "smoke", "--models", ",".join(MODELS),
        "--seed", "3", "--output", str(out),
    )  # fmt: skip
    assert other.returncode == 2 and "different settings (seed)" in other.stderr


def test_table_rendering_with_tolerance():
    spec = load_spec("springenberg-allcnn")
    settings = resolve_settings(spec, "paper")
    record = {
        "model": "all-cnn-c", "params_width1": 1369738, "params_paper": "1.4M", "params": 1369738,
        "measured": 9.5, "paper": 9.08, "within_tolerance": True, "wall_s": 1.0,
        "train_images": 50000, "test_images": 10000,
    }  # fmt: skip
    table = render_table(spec, settings, [record], "Table 3")
    assert "Within ±1" in table and "| yes |" in table and "Reduced protocol" not in table
    aug = resolve_settings(spec, "paper", augment=True)
    assert aug["augment"] is True


def test_a_users_own_spec_runs(tmp_path):
    from kerasinv.recipes import find_spec

    text = find_spec("springenberg-allcnn").read_text()
    text = text.replace('recipe = "springenberg-allcnn"', 'recipe = "my-variant"')
    text += '\n[presets.tiny]\ndata = "embedded"\nwidth = 0.0625\nepochs = 1\n'
    spec = tmp_path / "my-variant.toml"
    spec.write_text(text)
    out = tmp_path / "out"
    proc = run_cli_here(
        "recipe",
        str(spec),
        "--preset",
        "tiny",
        "--models",
        "model-a",
        "--quiet",
        "--output",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (record,) = json.loads((out / "results.json").read_text())["records"]
    assert (
        record["recipe"] == "my-variant"
        and record["model"] == "model-a"
        and record["width"] == 0.0625
    )


def test_paper_protocol_follows_the_caffe_reproduction_where_the_paper_is_silent():
    """Each default the paper leaves open is the public Caffe run's (kerasinv/data/reference.py)."""
    spec = load_spec("springenberg-allcnn")
    s = resolve_settings(spec, "paper")
    assert s["batch_size"] == 256 and s["learning_rate"] == 0.05 and s["momentum"] == 0.9
    assert s["init"] == "lecun_uniform" and s["bias_decay"] is True and s["grid"] == "even"
    assert s["weight_decay"] == 0.001 and s["class_relu"] is True
    assert s["drops"] == [200, 250, 300] and s["epochs"] == 350
    assert s["reshuffle"] is False  # Caffe's LMDB "Data" layer: one order every epoch
    assert train_config(s, 0).reshuffle is False
    mine = resolve_settings(
        spec, "paper", batch_size=128, init="glorot_uniform", bias_decay=False, grid="keras",
        reshuffle=True,
    )  # fmt: skip
    assert (mine["batch_size"], mine["init"], mine["bias_decay"], mine["grid"]) == (
        128,
        "glorot_uniform",
        False,
        "keras",
    )
    assert "reshuffle" not in mine  # as in runs made before the option: they resume with it


def test_a_non_numeric_value_in_a_user_spec_is_a_one_line_error(tmp_path):
    spec = load_spec("springenberg-allcnn")
    spec["training"] = {**spec["training"], "learning_rate": "fast"}
    with pytest.raises(
        ConfigError, match=r"\[training\] learning_rate must be a number, got 'fast'"
    ):
        resolve_settings(spec, "smoke")


def test_quick_is_the_opening_of_the_paper_run_for_the_four_c_networks():
    """quick keeps γ at 0.05 (the first epochs of 350, as the curve), where a scaled schedule
    would divide it by 10 after epoch 6 of 10 and by 1,000 before the end."""
    from kerasinv.recipes.springenberg import schedule_epochs
    from kerasinv.training import TrainConfig, learning_rate_at

    spec = load_spec("springenberg-allcnn")
    quick = resolve_settings(spec, "quick")
    assert quick["schedule"] == "opening" and schedule_epochs(quick) == 350
    config = TrainConfig(epochs=quick["epochs"], schedule_epochs=schedule_epochs(quick))
    assert {learning_rate_at(e, config) for e in range(quick["epochs"])} == {0.05}
    smoke = resolve_settings(spec, "smoke")
    assert smoke["schedule"] == "scaled" and schedule_epochs(smoke) is None
    assert spec["presets"]["quick"]["models"] == [
        "model-c", "strided-cnn-c", "convpool-cnn-c", "all-cnn-c"
    ]  # fmt: skip
    spec["presets"]["quick"]["schedule"] = "cosine"
    with pytest.raises(UnknownNameError, match="schedule"):
        resolve_settings(spec, "quick")


def test_smoke_records_equal_the_golden_records(smoke_run):
    """The pinned smoke numbers (tests/golden.py: equal on the machine that wrote them)."""
    out, proc, _ = smoke_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    golden.pin(
        "springenberg-allcnn", json.loads((out / "results.json").read_text())["records"], 10.0
    )
