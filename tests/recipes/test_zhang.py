"""zhang-blurpool: CIFAR training of anti-aliased variants, shift metrics, and the ImageNet table."""

import json

import pytest

from kerasinv.recipes import load_spec, run_recipe
from kerasinv.recipes.zhang import parse_paper_label
from tests import golden
from tests.helpers import PHOTOS, run_cli_here


def _networks(results):
    """``{(model, variant): {column: record}}`` of the CIFAR networks, in the order measured."""
    out = {}
    for r in results["records"]:
        if r["table"] == "CIFAR-10" and r["column"] not in ("diagonal_accuracy",
                                                            "diagonal_true_probability"):  # fmt: skip
            out.setdefault((r["model"], r["variant"]), {})[r["column"]] = r
    return out


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("zhang")
    proc = run_cli_here(
        "recipe", "zhang-blurpool", "--preset", "smoke", "--variants", "aps,aps-circular", "--quiet",
        "--output", str(out),
    )  # fmt: skip
    return out, proc


def test_smoke_trains_variants_and_measures_shift_metrics(smoke_run):
    out, proc = smoke_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    rows = _networks(results)
    assert list(rows) == [("all-cnn-c", "aps"), ("all-cnn-c", "aps-circular")]
    for (_, variant), r in rows.items():
        assert r["accuracy"]["train_images"] == 2000 and r["accuracy"]["test_images"] == 500
        for key in ("accuracy", "consistency", "circular_consistency"):
            assert 0 <= r[key]["measured"] <= 1
        shifts = [d["shift"] for d in results["records"]
                  if d["column"] == "diagonal_accuracy" and d["variant"] == variant]  # fmt: skip
        assert shifts == list(range(-4, 5))
        assert r["total_variation"]["measured"] > 0
        assert 0 < r["gaussian_smoothness"]["measured"] <= 1
        assert r["gaussian_smoothness"]["layer_smoothness"]
        assert (out / "models" / f"all-cnn-c-{variant}.keras").is_file()
    aps, circular = rows.values()
    assert aps["accuracy"]["params"] == circular["accuracy"]["params"]  # no weights added
    # the APS paper's defining claim: with circular padding everywhere, every circular shift of
    # the input gives the same class (exactly, trained or not)
    assert circular["circular_consistency"]["measured"] == 1.0
    # per network: 6 table columns, accuracy and true-class probability at 9 diagonal shifts
    assert len(results["records"]) == 2 * (6 + 2 * 9)
    for figure in ("diagonal.png", "by_filter.png"):
        assert (out / figure).stat().st_size > 5000
    table = (out / "table.md").read_text()
    assert "| all-cnn-c | aps |" in table
    # the table is rendered from the records alone
    from kerasinv.recipes.specs import load_spec
    from kerasinv.recipes.zhang import render_table

    assert render_table(load_spec("zhang-blurpool"), results["settings"], results) == table
    assert not (out / "work").exists()


def test_rerun_skips_trained_variants(smoke_run):
    out, _ = smoke_run
    lines = []
    spec = load_spec("zhang-blurpool")
    variants = ["aps", "aps-circular"]
    run_recipe(spec, output=out, preset="smoke", variants=variants, log=lines.append)
    assert not any("training" in line for line in lines)
    assert len(_networks(json.loads((out / "results.json").read_text()))) == 2


def test_imagenet_consistency_of_a_users_model(tmp_path, mobilenet_keras):
    spec = load_spec("zhang-blurpool")
    records = run_recipe(
        spec,
        output=tmp_path / "out",
        preset="smoke",
        models=[],
        model=[f"mobilenet/baseline={mobilenet_keras}"],
        images=str(PHOTOS),
        limit=12,
        trials=2,
        log=lambda m: None,
    )
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    accuracy, consistency = results["records"]
    assert accuracy["model"] == "mobilenet/baseline" and accuracy["row"] == "mobilenet/baseline"
    assert accuracy["photos"] == 12 and accuracy["preprocess"] == "tf"
    assert accuracy["measured"] >= 60 and 50 <= consistency["measured"] <= 100
    assert accuracy["network"] is None  # MobileNet v1 is not in the paper's table
    assert {r["column"] for r in records} == {"accuracy", "consistency"}
    assert "ImageNet" in (tmp_path / "out" / "table.md").read_text()


def test_paper_labels_map_to_the_papers_table():
    spec = load_spec("zhang-blurpool")
    assert parse_paper_label("resnet50/bin-5", spec) == ("resnet50", "bin-5")
    assert parse_paper_label("ResNet50/blur-3", spec) == ("resnet50", "tri-3")
    assert parse_paper_label("vgg16/blur-1", spec) == ("vgg16", "baseline")
    assert parse_paper_label("alexnet/bin-4", spec) is None  # no filter-4 AlexNet in the table
    assert parse_paper_label("my-model", spec) is None
    assert spec["paper"]["resnet50"]["bin-5"] == [77.04, 91.31]


def test_model_without_images_is_refused(tmp_path):
    result = run_cli_here("recipe", "zhang-blurpool", "--model", str(PHOTOS))
    assert result.returncode == 2 and "--images" in result.stderr


def test_imagenet_table_has_the_papers_shape():
    from kerasinv.recipes.zhang import imagenet_table
    from kerasinv.reporting.records import Records, record

    spec = load_spec("zhang-blurpool")
    results = {
        "recipe": "zhang-blurpool",
        "settings": {"preset": "smoke", "seed": 0},
        "versions": {},
    }

    def records(label, network, column, accuracy, consistency):
        return [
            record(
                results,
                table=spec["paper"]["table"],
                row=label,
                column=metric,
                measured=value,
                metric=metric,
                unit="percent",
                dataset="photos",
                model=label,
                wall_s=1.0,
                photos=50,
                network=network,
                filter=column,
            )
            for metric, value in (("accuracy", accuracy), ("consistency", consistency))
        ]

    measured = Records(
        records("resnet50/bin-5", "resnet50", "bin-5", 76.5, 91.0)
        + records("mine", None, None, 70.0, 80.0)
    )
    lines = "\n".join(imagenet_table(spec, measured)).splitlines()
    assert lines[2] == "| Network | baseline | rect-2 | tri-3 | bin-4 | bin-5 |"
    assert lines[4] == "| resnet50 (ours) |  |  |  |  | 76.50 / 91.00 |"
    assert lines[5].startswith("| resnet50 (paper) | 76.16 / 89.20 |")
    assert any(line.startswith("| mine | 50 | 70.00 | 80.00 |") for line in lines)


def test_figures_show_sampling_error_and_draw_no_empty_plot(smoke_run, tmp_path):
    import numpy as np

    from kerasinv.recipes.zhang import plot
    from kerasinv.reporting import figures as plots

    out, _ = smoke_run
    results = json.loads((out / "results.json").read_text())
    assert {r["test_images"] for r in results["records"]} == {500}  # what the error bars use
    np.testing.assert_allclose(plots.binomial_error([0.5, 0.9], [100, 100]), [0.05, 0.03])
    assert np.isnan(plots.binomial_error([0.5], [None])).all()  # a record without n: no bar
    no_sweep = [r for r in results["records"] if not r["column"].startswith("diagonal")]
    plot(results["settings"], {**results, "records": no_sweep}, tmp_path)
    assert (tmp_path / "by_filter.png").is_file() and not (tmp_path / "diagonal.png").exists()


def test_smoke_records_equal_the_golden_records(smoke_run):
    """The pinned smoke numbers (tests/golden.py: equal on the machine that wrote them)."""
    out, proc = smoke_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    golden.pin("zhang-blurpool", json.loads((out / "results.json").read_text())["records"], 0.1)
