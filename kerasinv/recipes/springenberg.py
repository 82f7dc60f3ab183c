"""Runner for ``springenberg-allcnn``: train the twelve networks, measure test error, export them.

Output folder (every file written atomically, results after each model so a long run can be
followed and resumed):

- ``results.json``: the run's settings, software versions and one record per measured test error;
- ``table.md``: the table printed at the end (ours beside the paper's);
- ``errors.png``: the same numbers as grouped bars;
- ``preprocessing.npz``: the GCN+ZCA fitted on this run's training split;
- ``models/<model>.keras``: each trained network (input: preprocessed images);
- ``saved_models/<model>/1/``: each network with its preprocessing, in TF Serving's layout;
- ``work/<model>/``: a resumable checkpoint while a model trains (removed when it is done).

Running again into the same folder with the same settings skips finished models and resumes an
interrupted one from its last completed epoch; different settings are refused (``overwrite=True``
starts afresh).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import NamedTuple

from kerasinv import models as model_registry
from kerasinv.errors import ConfigError
from kerasinv.io import atomic_path
from kerasinv.lazy import lazy_import
from kerasinv.recipes.allcnn_protocol import (
    PROTOCOL,
    model_options,
    protocol_settings,
    whitened_data,
)
from kerasinv.recipes.engine import Runner, Unit, train_config
from kerasinv.recipes.options import option
from kerasinv.recipes.settings import CIFAR_RUN, PRECISION, SEED, STRATEGY, Setting, resolve
from kerasinv.reporting import figures as plots
from kerasinv.reporting import records as rec

# TensorFlow only when a run starts: the CLI reads OPTIONS without it
training = lazy_import("kerasinv.training")
export = lazy_import("kerasinv.export")

DATASETS = ("cifar10", "cifar100")
COLUMN = "test error (%)"

#: This recipe's options (besides the common ones: preset, seed, data_dir, download, overwrite).
OPTIONS = (
    option("models", help="Comma-separated subset of the twelve networks, e.g. all-cnn-c,model-c."),
    option("dataset"),
    option("epochs"),
    option("augment", help="Flips + translations up to 5 px: the paper's augmented row."),
    option("width"),
    option(
        "learning_rate",
        help="Override the learning rate (the paper's grid: 0.25, 0.1, 0.05, 0.01).",
    ),
    option("batch_size"),
    option("train_subset"),
    option("init"),
    option("bias_decay"),
    option("grid"),
    option("reshuffle"),
    option("strategy"),
    option("precision"),
)


#: What a run writes into its output folder (removed by ``overwrite``).
GENERATED = ("table.md", "errors.png", "preprocessing.npz", "models", "saved_models", "work")


SCHEDULES = ("scaled", "opening")  # preset key "schedule": see schedule_epochs()


#: the networks to train: not a compared setting (a resumed run may add networks)
MODELS = Setting("models", "strs", home="", known="models", noun="model")

#: What a run reads of the spec (see :mod:`kerasinv.recipes.settings`).
SETTINGS = (
    MODELS,
    Setting("dataset", "str", home="", choices=DATASETS, noun="dataset"),
    *CIFAR_RUN,
    Setting("augment", "bool"),
    SEED,
    Setting("schedule", "str", choices=SCHEDULES, noun="schedule"),
    *PROTOCOL,
    STRATEGY,
    PRECISION,
    Setting("tolerance", "float", home="", none="none", minimum=0),
)


def derive_settings(spec: dict, settings: dict) -> dict:
    """The run's settings from the resolved ones: the protocol's rules
    (:func:`~kerasinv.recipes.allcnn_protocol.protocol_settings`); the embedded sample is
    CIFAR-10's."""
    if settings["data"] == "embedded" and settings["dataset"] != "cifar10":
        raise ConfigError(
            f"preset {settings['preset']!r} uses the embedded CIFAR-10 sample; for "
            f"{settings['dataset']} use --preset quick or paper with --data-dir"
        )
    return protocol_settings({k: v for k, v in settings.items() if k != "models"}, spec)


def schedule_epochs(settings: dict) -> int | None:
    """The run length the γ drops are placed in: ``None`` (``"scaled"``: the run's own length, so
    a short run keeps the schedule's shape) or 350 (``"opening"``: the run is the first epochs of the
    paper's, all at the base γ, so its numbers sit on the learning curve of a full run)."""
    return training.PAPER_EPOCHS if settings.get("schedule") == "opening" else None


def paper_reference(spec: dict, dataset: str, augment: bool) -> tuple[str | None, dict]:
    """(table name, {model: {"error", "params"}}) of the paper's numbers for this setting."""
    key = dataset + ("-augmented" if augment else "")
    section = dict(spec.get("paper", {}).get(key, {}))
    table = section.pop("table", None)
    return table, section


def render_table(spec: dict, settings: dict, records: list[dict], paper_table: str | None) -> str:
    """Markdown: our test errors beside the paper's, one row per model."""
    dataset = settings["dataset"].upper().replace("CIFAR", "CIFAR-")
    aug = ", with augmentation" if settings["augment"] else ""
    head = (
        f"## {spec.get('title', spec['recipe'])}\n\n"
        f"{dataset}{aug}, test error (%). Preset `{settings['preset']}`: width {settings['width']:g}, "
        f"{settings['epochs']} epoch{'s' if settings['epochs'] != 1 else ''}, {records[0]['train_images'] if records else 0:,} training / "
        f"{records[0]['test_images'] if records else 0:,} test images, seed {settings['seed']}. "
        f"Paper: {paper_table or 'no published value for this setting'}.\n"
    )
    if settings["preset"] != "paper":
        head += (
            "\nReduced protocol (fewer epochs, narrower networks, less data): these numbers are "
            "not expected to match the paper's 350-epoch, full-width results.\n"
        )
    rows = []
    for r in records:
        delta = None if r["paper"] is None else r["measured"] - r["paper"]
        rows.append(
            [
                r["model"],
                r["params_width1"],
                r["params_paper"],
                r["params"],
                r["measured"],
                r["paper"],
                delta,
                r["wall_s"],
            ]
        )
    headers = [
        "Model",
        "Params (ours, width 1)",
        "Params (paper)",
        "Params (trained)",
        "Error % (ours)",
        f"Error % ({paper_table or 'paper'})",
        "Δ",
        "Time (s)",
    ]
    if settings["tolerance"] is not None:
        headers.append(f"Within ±{settings['tolerance']:g}")
        for row, r in zip(rows, records, strict=True):
            row.append(r["within_tolerance"])
    return head + "\n" + rec.markdown_table(headers, rows) + "\n"


class Prepared(NamedTuple):
    """What every network of a run shares: the splits, the fitted whitening layer, the training
    configuration and the ``(train, test)`` datasets."""

    splits: object
    whitening: object
    config: object
    data: tuple


class AllCNNRunner(Runner):
    """Units: the chosen networks, each trained, measured on the test split and exported; a
    network counts as done once its SavedModel is written."""

    recipe_outputs = GENERATED

    SETTINGS = SETTINGS

    def derive(self, spec: dict, settings: dict, options) -> dict:
        return derive_settings(spec, settings)

    def units(self, spec: dict, settings: dict, options) -> list[Unit]:
        return [Unit(name, name) for name in resolve([MODELS], spec, options)["models"]]

    def unit_key(self, record: dict) -> str:
        return record["model"]

    def is_done(self, output: Path, records: list[dict]) -> bool:
        return any((output / r["saved_model"]).is_dir() for r in records)

    def prepare(self, ctx) -> Prepared:
        settings = ctx.settings
        splits, whitening = whitened_data(ctx)
        config = train_config(settings, ctx.verbose, schedule_epochs=schedule_epochs(settings))
        data = training.make_datasets(
            splits.x_train, splits.y_train, splits.x_test, splits.y_test, whitening, config
        )
        return Prepared(splits, whitening, config, data)

    def measure(self, ctx, unit: Unit) -> list[dict]:
        name, settings, output = unit.key, ctx.settings, ctx.output
        splits, whitening, config, data = ctx.prepared
        ctx.say(f"{name}: training {settings['epochs']} epoch(s) ...")
        t0 = time.perf_counter()

        def build():
            return model_registry.get(
                name, classes=splits.num_classes, width=settings["width"],
                **model_options(settings),
            )  # fmt: skip

        workdir = output / "work" / name
        result = training.train(build, *data, config, workdir)
        model = result.model
        model_file = output / "models" / f"{name}.keras"
        model_file.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(model_file, suffix=".keras") as tmp:
            model.save(tmp)
        saved = export.export_serving(
            model, output / "saved_models", name, version=1, preprocessing=whitening,
            overwrite=True,
        )  # fmt: skip
        shutil.rmtree(workdir, ignore_errors=True)
        measured = round(100.0 * result.test_error, 2)
        paper_table, paper = paper_reference(ctx.spec, settings["dataset"], settings["augment"])
        ref = paper.get(name, {})
        record = ctx.record(
            table=paper_table, row=name, column=COLUMN, measured=measured, metric="test_error",
            unit="percent",
            paper=ref.get("error"), tolerance=settings["tolerance"], dataset=settings["dataset"],
            model=name, wall_s=round(time.perf_counter() - t0, 1), augment=settings["augment"],
            params=int(model.count_params()),
            params_width1=int(model_registry.get(name, classes=splits.num_classes).count_params()),
            params_paper=ref.get("params"), width=settings["width"], epochs=settings["epochs"],
            epochs_run=result.epochs_run, resumed_from_epoch=result.resumed_from_epoch,
            train_images=len(splits.x_train), test_images=len(splits.x_test),
            final_train_loss=result.history.get("loss", [None])[-1],
            model_file=str(model_file.relative_to(output)),
            saved_model=str(saved.relative_to(output)),
        )  # fmt: skip
        ctx.say(f"{name}: test error {measured:.2f} % in {record['wall_s']:.0f} s")
        return [record]

    def render(self, spec: dict, results: dict) -> str:
        settings = results["settings"]
        paper_table, _ = paper_reference(spec, settings["dataset"], settings["augment"])
        return render_table(spec, settings, results["records"], paper_table)

    def figures(self, spec: dict, results: dict, output: Path) -> None:
        settings = results["settings"]
        if results["records"]:
            plots.measured_vs_paper(
                results["records"], output / "errors.png",
                f"{spec['recipe']} ({settings['preset']}, {settings['dataset']}): test error",
                COLUMN,
            )  # fmt: skip


RUNNER = AllCNNRunner()
