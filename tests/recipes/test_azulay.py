"""azulay-onepixel: the smoke preset on the shipped trained model, real MobileNet weights, the
Table 1 layout, and option errors."""

import json

import numpy as np
import pytest

from kerasinv.errors import ConfigError, OutputError
from kerasinv.recipes import load_spec, run_recipe
from kerasinv.recipes.azulay import paper_values, render_table
from kerasinv.recipes.subjects import parse_models, parse_weights
from tests import golden
from tests.helpers import PHOTOS, run_cli_here

SHIPPED = "all-cnn-c-bn-w050"


def _subjects(results):
    """``{subject: its records}`` in the order measured."""
    out = {}
    for r in results["records"]:
        out.setdefault(r["model"], []).append(r)
    return out


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("azulay")
    proc = run_cli_here(
        "recipe", "azulay-onepixel", "--preset", "smoke", "--cifar-images", "40", "--output",
        str(out),
    )  # fmt: skip
    return out, proc


def test_smoke_preset_measures_the_shipped_model_and_its_twins(smoke_run):
    out, proc = smoke_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    subjects = _subjects(results)
    assert list(subjects) == [SHIPPED, f"{SHIPPED} + blur-3", f"{SHIPPED} + aps"]
    for label, records in subjects.items():
        for protocol in ("crop", "black", "inpaint", "scale"):
            for metric in ("p_top1_change", "mean_absolute_change"):
                (r,) = [r for r in records if (r["protocol"], r["metric"]) == (protocol, metric)]
                assert 0 <= r["measured"] <= 1 and r["images"] == 40 and r["input_size"] == 32
        per_image = np.load(out / "per_image" / f"{label}.npz")
        assert per_image["crop_top1"].shape == (40, 9)
    shipped = {(r["protocol"], r["metric"]): r["measured"] for r in subjects[SHIPPED]}
    assert shipped[("crop", "frame_accuracy")] >= 0.6  # a genuinely trained network
    assert shipped[(None, "accuracy")] >= 0.7  # on the images as they are
    assert not subjects[f"{SHIPPED} + aps"][0]["retrained"]
    # per subject: P, MAC and first-frame accuracy for 4 protocols, and the accuracy
    assert len(results["records"]) == 3 * (4 * 3 + 1)
    table = (out / "table.md").read_text()
    assert "P(top-1 change), crop" in table and "MAC, inpaint" in table
    assert f"{SHIPPED} + blur-3 (drop-in)" in table
    assert "P(top-1 change), crop" in proc.stdout  # the table is printed
    assert (out / "p_top1_change.png").stat().st_size > 5000
    # the table is rendered from the records alone
    from kerasinv.recipes.azulay import render_table
    from kerasinv.recipes.specs import load_spec

    assert set(results) == {
        "recipe", "spec", "settings", "versions", "records", "unavailable", "wall_s",
        "started_at", "finished_at",
    }  # fmt: skip
    assert render_table(load_spec("azulay-onepixel"), results["settings"], results) == table


def test_rerun_resumes_and_other_settings_are_refused(smoke_run):
    out, _ = smoke_run
    spec = load_spec("azulay-onepixel")
    before = (out / "results.json").read_text()
    lines = []
    run_recipe(spec, output=out, preset="smoke", cifar_images=40, log=lines.append)
    assert sum("already measured" in line for line in lines) == 3
    assert not any("images at" in line for line in lines)  # nothing measured again
    assert (
        json.loads(before)["records"] == json.loads((out / "results.json").read_text())["records"]
    )
    with pytest.raises(OutputError, match=r"different settings \(background"):
        run_recipe(spec, output=out, preset="smoke", cifar_images=40, background="black")


@pytest.mark.slow  # real weights and photos; tests/test_evaluation.py measures them in make test
def test_pretrained_mobilenet_and_unavailable_networks(
    tmp_path, mobilenet_keras, isolated_home, monkeypatch
):
    """Real ImageNet weights on real photos, next to a network whose weights cannot be fetched
    offline: the network is reported as not measured, the run still succeeds."""
    spec = load_spec("azulay-onepixel")
    monkeypatch.setenv("KERASINV_OFFLINE", "1")
    run_recipe(
        spec,
        output=tmp_path / "out",
        preset="smoke",
        images=str(PHOTOS),
        limit=10,
        networks=["vgg16"],
        model=[f"mobilenet={mobilenet_keras}"],
        protocols=["crop", "black"],
        countermeasures=["aps"],
        cifar_images=20,
        log=lambda m: None,
    )
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert (
        "vgg16" in results["unavailable"]
        and "vgg16_weights_tf_dim_ordering" in results["unavailable"]["vgg16"]
    )
    subjects = _subjects(results)
    mobilenet = {(r["protocol"], r["metric"]): r for r in subjects["mobilenet"]}
    assert mobilenet[("crop", "frame_accuracy")]["preprocess"] == "tf"
    assert mobilenet[("crop", "frame_accuracy")]["images"] == 10
    assert mobilenet[("crop", "frame_accuracy")]["measured"] >= 0.6
    aps = {(r["protocol"], r["metric"]): r["measured"] for r in subjects["mobilenet + aps"]}
    assert aps[("crop", "frame_accuracy")] >= 0.5  # APS only picks a phase: no retraining needed
    table = (tmp_path / "out" / "table.md").read_text()
    assert "Not measured" in table and "ImageNet photos from" in table


def test_table_1_layout_puts_the_papers_values_under_ours():
    spec = load_spec("azulay-onepixel")
    assert paper_values(spec, "resnet50", "black", "p_top1_change") == {
        "keras": 0.29,
        "pytorch": 0.2,
    }
    assert paper_values(spec, "resnet50", "inpaint", "p_top1_change") == {}
    from kerasinv.reporting.records import record

    settings = {"preset": "paper", "background": "mean", "seed": 0, "protocols": ["crop", "black"]}
    results = {"recipe": "azulay-onepixel", "settings": settings, "versions": {}, "records": []}
    measured = {"p_top1_change": 0.1, "mean_absolute_change": 0.02, "frame_accuracy": 0.8}
    for label, variant in (("vgg16", "baseline"), ("vgg16 + blur-3", "blur-3")):
        for protocol in ("crop", "black"):
            for metric, value in measured.items():
                ref = paper_values(spec, "vgg16", protocol, metric) if variant == "baseline" else {}
                results["records"].append(
                    record(
                        results,
                        table=None,
                        row=f"{metric}, {protocol}",
                        column=label,
                        measured=value,
                        paper=ref.get("keras"),
                        paper_pytorch=ref.get("pytorch"),
                        dataset="photos",
                        model=label,
                        images=5,
                        wall_s=1.0,
                        protocol=protocol,
                        metric=metric,
                        unit="fraction",
                        network="vgg16",
                        variant=variant,
                        retrained=variant == "baseline",
                    )
                )
    results["unavailable"] = {}
    table = render_table(spec, settings, results)
    lines = table.splitlines()
    crop = lines.index(next(x for x in lines if x.startswith("| P(top-1 change), crop")))
    assert lines[crop + 1].startswith("| ↳ paper (Keras / PyTorch) | 0.05 / 0.062 |")
    assert "vgg16 + blur-3 (drop-in)" in table


def test_option_parsing_and_errors(tmp_path):
    weights = tmp_path / "w.weights.h5"
    weights.write_bytes(b"x")
    parsed = parse_weights(["imagenet", f"resnet50={weights}", f"vgg16:blur-4={weights}"])
    assert parsed[("resnet50", "baseline")] == str(weights)
    assert parsed[("vgg16", "blur-4")] == str(weights) and parsed[("*", "baseline")] == "imagenet"
    with pytest.raises(ConfigError, match="unknown network 'alexnet'"):
        parse_weights([f"alexnet={weights}"])
    with pytest.raises(ConfigError, match="no file"):
        parse_weights(["vgg16=/nonexistent.h5"])
    assert parse_models([f"mine={weights}", str(weights)]) == [
        ("mine", weights),
        ("w.weights", weights),
    ]
    result = run_cli_here("recipe", "azulay-onepixel", "--augment")  # not one of its options
    assert result.returncode == 2 and "No such option '--augment'" in result.stderr
    assert "recipe azulay-onepixel --help" in result.stderr
    result = run_cli_here("recipe", "azulay-onepixel", "--preset", "quick")
    assert result.returncode == 2 and "--images" in result.stderr


def test_quick_without_cifar_falls_back_to_the_embedded_sample(tmp_path, isolated_home):
    spec = load_spec("azulay-onepixel")
    run_recipe(
        spec,
        output=tmp_path / "out",
        preset="quick",
        networks=[],
        protocols=["crop"],
        countermeasures=[],
        cifar_images=20,
        log=lambda m: None,
    )
    (records,) = _subjects(json.loads((tmp_path / "out" / "results.json").read_text())).values()
    assert all("CIFAR-10 not found" in r["data_source"] and r["images"] == 20 for r in records)
    assert {r["dataset"] for r in records} == {"cifar10"}


def test_smoke_records_equal_the_golden_records(smoke_run):
    """The pinned smoke numbers (tests/golden.py: equal on the machine that wrote them)."""
    out, proc = smoke_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    golden.pin("azulay-onepixel", json.loads((out / "results.json").read_text())["records"], 0.05)
