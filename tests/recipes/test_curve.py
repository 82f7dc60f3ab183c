"""springenberg-curve: the smoke curve end to end, and a run killed with SIGKILL and resumed gives the
same numbers as the unbroken run (same seed)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kerasinv.data.reference import caffe_all_cnn_c
from kerasinv.recipes import curve, load_spec, springenberg
from kerasinv.recipes.engine import settings_of
from tests import golden
from tests.helpers import CURVE_EPOCHS as EPOCHS
from tests.helpers import curve_records as _records
from tests.helpers import free_ports as _free_ports
from tests.helpers import run_cli_here
from tests.helpers import tf_config as _tf_config


def _trained(records, key):
    """``key`` of every record that has it (epoch 0, before training, has no training fields)."""
    return [r[key] for r in records if r[key] is not None]


def test_reference_curve_is_the_caffe_log():
    ref = caffe_all_cnn_c()
    assert ref.batch_size == 256 and ref.iterations[-1] == 70_000
    assert ref.accuracy_at(200 * 256) == pytest.approx(0.1418)
    assert ref.accuracy_at(2000 * 256) == pytest.approx(0.563)
    # one epoch of 50,000 images lies between iterations 194 and 196: interpolated
    assert 0.1 < ref.accuracy_at(50_000) < 0.1418
    assert ref.accuracy_at(80_000 * 256) is None
    assert 0.90 < ref.accuracy.max() < 0.91  # the run's best test pass
    # its loss is the data term: ln 10 at initialisation, where every class is equally likely
    assert ref.loss_at(0) == pytest.approx(2.30314) and ref.loss_at(0) == pytest.approx(
        np.log(10), abs=1e-3
    )
    assert ref.loss_at(200 * 256) == pytest.approx(2.19372)


def test_curve_protocol_is_the_springenberg_paper_protocol():
    curve_spec, paper_spec = load_spec("springenberg-curve"), load_spec("springenberg-allcnn")
    curve_settings = settings_of(curve.RUNNER, curve_spec, {"preset": "paper"})
    paper = settings_of(springenberg.RUNNER, paper_spec, {"preset": "paper"})
    for key in (
        "learning_rate",
        "momentum",
        "weight_decay",
        "batch_size",
        "init",
        "bias_decay",
        "grid",
    ):
        assert curve_settings[key] == paper[key], key
    assert curve_settings["model"] == "all-cnn-c" and curve_settings["width"] == 1.0
    assert curve_settings["train_subset"] is None


def test_smoke_curve_writes_a_record_per_epoch_a_table_and_a_figure(unbroken):
    out, proc = unbroken
    records = _records(out)
    assert [r["epoch"] for r in records] == [0, 1, 2, 3]
    start = records[0]  # the fresh network, as Caffe's test pass at iteration 0
    assert start["images_seen"] == 0 and start["paper"] == pytest.approx(0.1)
    assert start["train_loss"] is None and start["train_accuracy"] is None
    assert start["test_cross_entropy"] == pytest.approx(np.log(10), abs=0.01)  # tiny class scores
    assert start["reference_test_cross_entropy"] == pytest.approx(2.30314, abs=1e-4)
    for r in records:
        assert r["table"] == "learning curve" and r["column"] == "test accuracy"
        assert 0 <= r["measured"] <= 1 and r["paper"] is not None
        assert r["images_seen"] == 2000 * r["epoch"] and r["train_images"] == 2000
        assert r["delta"] == pytest.approx(r["measured"] - r["paper"], abs=1e-3)
        assert 0 <= r["dead_class_units"] <= 10
        # the data term, comparable with Caffe's logged loss, lies below the objective, which
        # adds the weight decay
        assert 0 < r["test_cross_entropy"] < r["test_loss"]
        assert r["reference_test_cross_entropy"] is not None
    for r in records[1:]:
        assert 0 < r["train_cross_entropy"] < r["train_loss"]
    table = (out / "table.md").read_text()
    assert table in proc.stdout and "Test acc. (Caffe)" in table
    assert "Test cross-entropy (Caffe)" in table
    assert (out / "curve.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "work" / "checkpoint" / "state.npz").is_file()  # kept: --epochs can grow


def test_curve_seeds_example_tabulates_runs_against_the_reference(unbroken, tmp_path):
    """examples/curve_seeds.py, which draws the committed seeds table and figure, on a real run."""
    out, _ = unbroken
    script = Path(__file__).parents[2] / "examples" / "curve_seeds.py"
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "seeds"), "--band=smoke",
         f"smoke run={out}", f"other={out}"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = (tmp_path / "seeds.md").read_text()
    records = _records(out)
    first = records[0]
    # --band: the runs labelled "smoke..." (one) as min / median / max, before the run columns
    assert table.startswith("smoke: the 1 runs' min / median / max per epoch")
    assert f"| 0 | {first['paper']:.3f} | 1 | {first['measured']:.3f} |" in table
    # the accuracy table, then the cross-entropy one, each row from the run's records
    assert f"| 0 | {first['paper']:.3f} | {first['measured']:.3f} (" in table
    assert f"| {first['test_cross_entropy']:.3f} |" in table and "Test cross-entropy" in table
    assert (tmp_path / "seeds.png").read_bytes()[:4] == b"\x89PNG"


def test_curve_band_example_judges_groups_of_seeds(unbroken, tmp_path):
    """examples/curve_band.py, which draws the committed band table, verdict and figure."""
    out, _ = unbroken
    script = Path(__file__).parents[2] / "examples" / "curve_band.py"
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "band"), f"A={out}", f"B={out}"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = (tmp_path / "band.md").read_text()
    first = _records(out)[1]
    # one seed is no band: the claim is not decided, never passed
    assert "### A: 1 seeds (seed 0 to epoch" in table and "NOT DECIDED YET" in table
    assert f"| 1 | {first['paper']:.3f} | 1 | {first['measured']:.3f} |" in table
    assert "seed 0, A | seed 0, B" in table  # the same seed in both groups, side by side
    assert (tmp_path / "band.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow  # a fresh process killed mid-epoch and resumed: ~35 s; the resume itself is
# proven in make test by tests/test_training.py (interrupted == unbroken, to the same numbers)
def test_a_killed_run_resumes_to_the_same_numbers(unbroken, tmp_path):
    """SIGKILL after the first epoch's record, then the same command again."""
    out = tmp_path / "killed"
    args = [
        sys.executable, "-m", "kerasinv.cli", "recipe", "springenberg-curve", "--preset", "smoke",
        "--epochs", EPOCHS, "--quiet", "--output", str(out),
    ]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        try:
            if any(r["epoch"] >= 1 for r in _records(out)):
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert max(r["epoch"] for r in _records(out)) < int(EPOCHS)
    again = run_cli_here(*args[3:])
    assert again.returncode == 0, again.stderr[-3000:]
    resumed, whole = _records(out), _records(unbroken[0])
    assert [r["epoch"] for r in resumed] == [0, 1, 2, 3]
    keys = ("measured", "train_loss", "test_loss", "test_cross_entropy", "train_accuracy")
    for key in keys:
        np.testing.assert_allclose(
            _trained(resumed, key), _trained(whole, key), atol=1e-4, err_msg=key
        )


def test_dead_class_units_are_the_classes_no_input_can_score():
    """The class ReLU's dead units: a class whose score is 0 for every image is never predicted
    and gets no gradient (the plateau the paper curve sat on; see docs/results)."""
    from kerasinv import models
    from kerasinv.recipes.curve import collapse_warning, dead_class_units

    model = models.get("all-cnn-c", width=0.0625, dropout=False)
    x = np.random.default_rng(0).normal(size=(16, 32, 32, 3)).astype("float32")
    before = dead_class_units(model, x)
    conv = model.get_layer("conv9")
    kernel, bias = conv.get_weights()
    bias[[1, 4, 6]] = -1e3  # three classes pushed below zero for every input
    conv.set_weights([kernel, bias])
    assert max(before, 3) <= dead_class_units(model, x) <= before + 3
    assert dead_class_units(models.get("model-a", width=0.0625), x) is not None
    assert collapse_warning(dead_class_units(model, x), 10) is None
    bias[:] = -1e3  # every class: the collapse seed 3 of the paper protocol met at epoch 5
    conv.set_weights([kernel, bias])
    assert dead_class_units(model, x) == 10
    assert "--seed" in collapse_warning(10, 10) and collapse_warning(None, 10) is None


def test_a_departure_from_the_paper_protocol_is_named_in_the_table_and_the_legend(unbroken):
    from kerasinv.recipes.curve import _run_label, render_table

    results = json.loads((unbroken[0] / "results.json").read_text())
    assert _run_label(results["settings"]) == "kerasinv all-cnn-c (smoke)"
    assert "a ReLU on the class conv" in render_table(load_spec("springenberg-curve"), results)
    results["settings"].update(class_relu=False, seed=1)
    assert _run_label(results["settings"]) == "kerasinv all-cnn-c (smoke, seed 1, no class ReLU)"
    table = render_table(load_spec("springenberg-curve"), results)
    assert "NO ReLU (a departure) on the class conv, seed 1" in table
    assert "one data order every epoch" in table  # Caffe's, the default
    results["settings"].pop("reshuffle")  # a run made with --reshuffle (or before the option)
    assert _run_label(results["settings"]).endswith("no class ReLU, data reshuffled each epoch)")


# --strategy multi-worker: two worker processes on loopback (kept in this file so that the
# single-process run they are compared with is computed once per test worker)


def _launch(root, ports, epochs):
    procs = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": _tf_config(ports, index), "TF_CPP_MIN_LOG_LEVEL": "3"}
        args = [
            sys.executable, "-m", "kerasinv.cli", "recipe", "springenberg-curve", "--preset",
            "smoke", "--epochs", epochs, "--strategy", "multi-worker", "--quiet",
            "--output", str(root / f"out-{index}"),
        ]  # fmt: skip
        procs.append(
            subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        )
    outputs = [p.communicate(timeout=600) for p in procs]
    return [
        (p.returncode, out.decode(), err.decode())
        for p, (out, err) in zip(procs, outputs, strict=True)
    ]


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    """The curve smoke run by two worker processes on loopback (the same command on each)."""
    root = tmp_path_factory.mktemp("multi-worker")
    return root, _launch(root, _free_ports(2), EPOCHS)


@pytest.mark.slow  # four more worker processes: the resume path, beyond make test's budget
def test_two_workers_resume_from_the_chiefs_checkpoint_alone(tmp_path, unbroken):
    """One epoch, then extended to all: the second launch resumes from the chief's checkpoint
    (the other worker has none) and ends where one uninterrupted process ends."""
    for code, _, err in _launch(tmp_path, _free_ports(2), "1"):
        assert code == 0, err[-3000:]
    assert [r["epoch"] for r in _records(tmp_path / "out-0")] == [0, 1]
    for code, _, err in _launch(tmp_path, _free_ports(2), EPOCHS):
        assert code == 0, err[-3000:]
    together, alone = _records(tmp_path / "out-0"), _records(unbroken[0])
    assert [r["epoch"] for r in together] == [r["epoch"] for r in alone]
    np.testing.assert_allclose(
        _trained(together, "train_loss"), _trained(alone, "train_loss"), atol=0.01
    )


def test_two_workers_finish_and_only_the_chief_writes(two_workers):
    root, results = two_workers
    for code, _, err in results:
        assert code == 0, err[-3000:]
    chief = root / "out-0"
    assert {"results.json", "table.md", "curve.png", ".kerasinv.json"} <= {
        p.name for p in chief.iterdir()
    }
    assert "Test acc. (Caffe)" in results[0][1]
    assert not (root / "out-1").exists()
    assert "Worker 1 done" in results[1][2]


def test_two_workers_train_like_one_process_at_the_same_global_batch(two_workers, unbroken):
    """Same global batch and data order; only the dropout masks differ."""
    together, alone = _records(two_workers[0] / "out-0"), _records(unbroken[0])
    assert [r["epoch"] for r in together] == [r["epoch"] for r in alone]
    np.testing.assert_allclose(
        _trained(together, "train_loss"), _trained(alone, "train_loss"), atol=0.01
    )
    np.testing.assert_allclose(
        [r["test_loss"] for r in together], [r["test_loss"] for r in alone], atol=0.01
    )


def test_a_spec_can_keep_one_data_order_as_caffe_does():
    """``reshuffle = false`` in [training] (the shipped default) reaches TrainConfig; with
    ``--reshuffle`` (or true in the spec) the settings hold no key, as before the option existed."""
    from kerasinv.recipes.engine import train_config

    spec = load_spec("springenberg-curve")
    default = settings_of(curve.RUNNER, spec, {"preset": "paper"})
    assert default["reshuffle"] is False and not train_config(default, 0).reshuffle
    flagged = settings_of(curve.RUNNER, spec, {"preset": "paper", "reshuffle": True})
    assert "reshuffle" not in flagged and train_config(flagged, 0).reshuffle
    spec["training"]["reshuffle"] = True
    assert "reshuffle" not in settings_of(curve.RUNNER, spec, {"preset": "paper"})


def test_a_shorter_epochs_keeps_every_measured_epoch(unbroken, tmp_path):
    """--epochs below what is measured neither deletes records nor trains: a later, longer run
    continues from the kept checkpoint with every earlier epoch still recorded."""
    import shutil

    out, proc = unbroken
    assert proc.returncode == 0, proc.stderr[-3000:]
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    before = json.loads((copy / "results.json").read_text())["records"]
    shorter = run_cli_here(
        "recipe", "springenberg-curve", "--preset", "smoke", "--epochs", "1", "--output", str(copy),
    )  # fmt: skip
    assert shorter.returncode == 0, shorter.stderr[-3000:]
    assert "training" not in shorter.stderr
    after = json.loads((copy / "results.json").read_text())["records"]
    assert (
        [r["epoch"] for r in after] == [r["epoch"] for r in before] == list(range(int(EPOCHS) + 1))
    )
    assert [r["measured"] for r in after] == [r["measured"] for r in before]


def test_smoke_records_equal_the_golden_records(unbroken):
    """The pinned smoke numbers (tests/golden.py: equal on the machine that wrote them)."""
    out, proc = unbroken
    assert proc.returncode == 0, proc.stderr[-3000:]
    golden.pin("springenberg-curve", json.loads((out / "results.json").read_text())["records"], 0.1)


def test_a_curve_on_caffes_batch_stream_counts_the_images_it_fed(tmp_path):
    """``[training] stream = true``: every batch full, an epoch round(N / batch) steps; the
    records' images seen (and so Caffe's point beside them) count what was fed."""
    from kerasinv.recipes import find_spec, run_recipe

    text = find_spec("springenberg-curve").read_text()
    text = text.replace("stream = false", "stream = true", 1)
    path = tmp_path / "stream.toml"
    path.write_text(text)
    spec = load_spec(str(path))
    records = run_recipe(
        spec, output=tmp_path / "out", preset="smoke", epochs=1, verbose=0, log=lambda m: None
    )
    batch = json.loads((tmp_path / "out" / "results.json").read_text())["settings"]["batch_size"]
    per_epoch = round(2000 / batch) * batch
    assert [r["epoch"] for r in records] == [0, 1]
    assert records[1]["images_per_epoch"] == per_epoch and records[1]["train_images"] == 2000
    assert records[1]["images_seen"] == per_epoch
    ref = caffe_all_cnn_c()
    assert records[1]["paper"] == pytest.approx(round(ref.accuracy_at(per_epoch), 4))
    assert "Caffe's Data layer" in (tmp_path / "out" / "table.md").read_text()
