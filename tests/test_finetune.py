"""kerasinv finetune: shipped model -> anti-aliased twin -> fine-tuned on images -> before/after
report, resumable, written as .keras + SavedModel; bad input refused before TensorFlow."""

import json

import numpy as np
import pytest

from kerasinv.errors import ConfigError, DataFormatError
from kerasinv.finetune import FinetuneConfig, finetune, load_pretrained
from tests.helpers import run_cli_here

SAMPLE = "kerasinv/data/samples/cifar10-sample.tar.gz"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("finetune")
    proc = run_cli_here(
        "finetune", "shipped", "--data", SAMPLE, "--antialias", "blur-3", "--epochs", "1",
        "--train-subset", "200", "--test-subset", "60", "--quiet", "--output", str(out),
    )  # fmt: skip
    return out, proc


def test_report_compares_stock_drop_in_and_fine_tuned_twins(run):
    out, proc = run
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["command"] == "finetune" and results["versions"]["kerasinv"]
    assert results["finished_at"] and results["settings"]["antialias"] == "blur-3"
    records = results["records"]
    assert [(r["stage"], r["metric"]) for r in records] == [
        (stage, metric)
        for stage in ("stock", "twin", "finetuned")
        for metric in ("accuracy", "consistency", "p_top1_change")
    ]
    protocols = {r["metric"]: r["protocol"] for r in records}
    assert protocols == {"accuracy": "unperturbed", "consistency": "shift", "p_top1_change": "crop"}
    for r in records:
        assert r["images"] == 60 and r["unit"] == "fraction" and 0.0 <= r["measured"] <= 1.0
        assert r["dataset"] and r["finished_at"] and r["seed"] == 0
    stock = next(r for r in records if (r["stage"], r["metric"]) == ("stock", "accuracy"))
    assert stock["measured"] > 0.6  # the shipped model is trained
    assert results["train_images"] == 200 and len(results["history"]["loss"]) == 1
    table = (out / "table.md").read_text()
    assert table in proc.stdout and "fine-tuned blur-3 twin" in table
    assert (out / "saved_models" / "all_cnn_c_bn_w050_blur_3" / "1" / "saved_model.pb").is_file()


def test_the_fine_tuned_twin_is_saved_and_changed_by_training(run):
    import keras

    import kerasinv

    out, _ = run
    tuned = keras.saving.load_model(out / "twin.keras")
    stock = load_pretrained("shipped")
    drop_in = kerasinv.antialias(stock, "blur-3")
    assert [type(a).__name__ for a in tuned.layers] == [type(a).__name__ for a in drop_in.layers]
    moved = [
        np.abs(a - b).max() for a, b in zip(tuned.get_weights(), drop_in.get_weights(), strict=True)
    ]
    assert max(moved) > 0  # fine-tuning changed the weights


def test_a_finished_run_is_not_repeated_and_other_settings_are_refused(run):
    out, _ = run
    lines = []
    config = FinetuneConfig("blur-3", epochs=1, train_subset=200, test_subset=60)
    again = finetune("shipped", SAMPLE, out, config, verbose=0, log=lines.append)
    assert again["records"] == json.loads((out / "results.json").read_text())["records"]
    assert lines == [f"finetune › already done in {out}"]  # nothing measured or trained again
    other = run_cli_here(
        "finetune", "shipped", "--data", SAMPLE, "--epochs", "2", "--train-subset", "200",
        "--test-subset", "60", "--output", str(out),
    )  # fmt: skip
    assert other.returncode == 2 and "different settings" in other.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["shipped", "--data", "no/such/folder"], "no such folder"),
        (["shipped", "--data", SAMPLE, "--antialias", "blur-9"], "blur-K"),
        (["no/such/model.keras", "--data", SAMPLE], "does not exist"),
    ],
)
def test_bad_input_is_one_line_before_tensorflow(args, says, tmp_path):
    proc = run_cli_here("finetune", *args, "--output", str(tmp_path / "out"))
    assert proc.returncode == 2 and says in proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_keras_applications_name_loads_its_weights_file(tmp_path):
    import keras

    stock = keras.applications.MobileNet(weights=None, input_shape=(64, 64, 3), alpha=0.25)
    stock.save_weights(tmp_path / "m.weights.h5")
    with pytest.raises(DataFormatError, match=r"alpha=0\.75.*model\.save"):  # another variant
        load_pretrained("MobileNet", str(tmp_path / "m.weights.h5"), input_size=64)
    full = keras.applications.MobileNet(weights=None, input_shape=(64, 64, 3))
    full.save_weights(tmp_path / "full.weights.h5")
    model = load_pretrained("MobileNet", str(tmp_path / "full.weights.h5"), input_size=64)
    assert model.input_shape == (None, 64, 64, 3)
    for ours, theirs in zip(model.weights, full.weights, strict=True):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_a_savedmodel_without_its_keras_file_is_explained(tmp_path):
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "saved_model.pb").write_bytes(b"")
    with pytest.raises(ConfigError, match="traced graph"):
        load_pretrained(str(tmp_path / "1"))


def test_the_shipped_sample_is_data_and_a_missing_cifar_names_it(isolated_home, tmp_path):
    """Offline on a fresh install: ``--data cifar10-sample`` works, and a CIFAR-10 that is not
    there is explained with that way out, not with a --download finetune does not have."""
    from kerasinv.errors import DataNotFoundError
    from kerasinv.finetune import check_request, load_images

    out = check_request("shipped", "cifar10-sample", "blur-3", tmp_path / "a", False)
    assert out == str(tmp_path / "a")
    splits = load_images("cifar10-sample")
    assert (len(splits.x_train), len(splits.x_test)) == (2000, 1000)
    with pytest.raises(DataNotFoundError) as refused:
        check_request("shipped", "cifar10", "blur-3", tmp_path / "b", False)
    assert "--data cifar10-sample" in str(refused.value) and "--download" not in str(refused.value)


def test_a_twin_that_would_be_the_stock_model_is_refused():
    from kerasinv.finetune import check_twin

    stock = load_pretrained("shipped")
    check_twin(stock, FinetuneConfig("blur-3"))
    with pytest.raises(ConfigError, match="1-tap filter"):
        check_twin(stock, FinetuneConfig("blur-1"))
    with pytest.raises(ConfigError, match="changes no layer"):
        check_twin(stock, FinetuneConfig("blur-3", skip=("conv3", "conv6")))
