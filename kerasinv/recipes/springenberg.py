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
from kerasinv.errors import ConfigError, UnknownNameError
from kerasinv.io import atomic_path
from kerasinv.lazy import lazy_import
from kerasinv.recipes import plots, preflight
from kerasinv.recipes import records as rec
from kerasinv.recipes.engine import Runner, Unit, choose, preset_table, setting, train_config
from kerasinv.recipes.options import option

# TensorFlow only when a run starts: the CLI reads OPTIONS without it
training = lazy_import("kerasinv.training")
preprocessing = lazy_import("kerasinv.data.preprocessing")
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
)


#: What a run writes into its output folder (removed by ``overwrite``).
GENERATED = ("table.md", "errors.png", "preprocessing.npz", "models", "saved_models", "work")


#: Initialisers a user may pick with ``--init`` (Keras names).
INITIALIZERS = ("lecun_uniform", "glorot_uniform", "he_uniform", "he_normal", "lecun_normal")
GRIDS = ("even", "keras")
SCHEDULES = ("scaled", "opening")  # preset key "schedule": see schedule_epochs()


def protocol_settings(
    spec: dict,
    learning_rate: float | None,
    batch_size: int | None,
    init: str | None,
    bias_decay: bool | None,
    grid: str | None,
    preset: dict | None = None,
    reshuffle: bool | None = None,
) -> dict:
    """The training protocol: the spec's ``[training]`` table (or the ``preset`` table's values),
    overridden by flags (:func:`kerasinv.recipes.engine.setting`'s rule).

    Where the paper is silent the shipped spec follows the public Caffe reproduction (see its
    comments): batch 256, Caffe's fan-in ``xavier`` (``lecun_uniform``), decay on biases too, the
    even stride-2 grid, one data order for every epoch. ``reshuffle`` appears in the settings
    only when false, so that runs made before it existed (which reshuffled) still resume with
    ``--reshuffle``.
    """
    t, p = spec.get("training", {}), preset or {}

    def drop(value):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{spec.get('_path', 'the spec')}: [training] drops must be epochs, got {value!r}"
            ) from None

    settings = {
        "learning_rate": setting(spec, p, "learning_rate", learning_rate, 0.05),
        "momentum": setting(spec, p, "momentum", None, 0.9),
        "weight_decay": setting(spec, p, "weight_decay", None, 0.001),
        "batch_size": setting(spec, p, "batch_size", batch_size, 128),
        "drops": [drop(d) for d in t.get("drops", training.PAPER_DROPS)],
        "drop_factor": setting(spec, p, "drop_factor", None, 0.1),
        "max_shift": setting(spec, p, "max_shift", None, 5),
        "class_relu": bool(t.get("class_relu", True)),
        "init": str(init or t.get("init", "glorot_uniform")),
        "bias_decay": bool(t.get("bias_decay", False) if bias_decay is None else bias_decay),
        "grid": str(grid or t.get("grid", "keras")),
    }
    if not (t.get("reshuffle", True) if reshuffle is None else reshuffle):
        settings["reshuffle"] = False  # Caffe's fixed data order (see the docstring)
    if settings["init"] not in INITIALIZERS:
        raise UnknownNameError("initialiser", settings["init"], INITIALIZERS)
    if settings["grid"] not in GRIDS:
        raise UnknownNameError("stride-2 grid", settings["grid"], GRIDS)
    return settings


def model_options(settings: dict) -> dict:
    """Builder keyword arguments for the protocol in ``settings``."""
    return {
        "weight_decay": settings["weight_decay"],
        "bias_decay": settings["bias_decay"],
        "kernel_initializer": settings["init"],
        "sampling_grid": settings["grid"],
        "class_relu": settings["class_relu"],
    }


def resolve_settings(
    spec: dict,
    preset: str | None,
    dataset: str,
    epochs: int | None,
    augment: bool,
    seed: int,
    width: float | None,
    learning_rate: float | None,
    batch_size: int | None,
    train_subset: int | None,
    strategy: str,
    init: str | None = None,
    bias_decay: bool | None = None,
    grid: str | None = None,
    reshuffle: bool | None = None,
) -> dict:
    """The settings that define a run (stored in results.json, compared on resume)."""
    preset, p = preset_table(spec, preset)
    if dataset not in DATASETS:
        raise UnknownNameError("dataset", dataset, DATASETS)
    if p.get("data") == "embedded" and dataset != "cifar10":
        raise ConfigError(
            f"preset {preset!r} uses the embedded CIFAR-10 sample; for {dataset} use --preset quick "
            "or paper with --data-dir"
        )
    tolerance = p.get("tolerance", "none")
    schedule = str(p.get("schedule", "scaled"))
    if schedule not in SCHEDULES:
        raise UnknownNameError("schedule", schedule, SCHEDULES)
    settings = {
        "preset": preset,
        "dataset": dataset,
        "data": p.get("data", "cifar"),
        "width": setting(spec, p, "width", width, 1.0),
        "epochs": setting(spec, p, "epochs", epochs, training.PAPER_EPOCHS),
        "train_subset": setting(spec, p, "train_subset", train_subset),
        "test_subset": setting(spec, p, "test_subset"),
        "augment": bool(augment),
        "seed": int(seed),
        "schedule": schedule,
        **protocol_settings(spec, learning_rate, batch_size, init, bias_decay, grid, p, reshuffle),
        "strategy": strategy,
        "tolerance": None if tolerance == "none" else float(tolerance),
    }
    return settings


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


def load_data(settings: dict, data_dir, download: bool):
    """The run's splits: the embedded sample or CIFAR, subsampled as the preset says (an explicit
    ``data_dir`` is honoured on every preset: :func:`~kerasinv.recipes.cifar_runs.load_splits`)."""
    from kerasinv.recipes.cifar_runs import load_splits

    return load_splits(
        settings["data"],
        data_dir,
        download,
        settings.get("train_subset"),
        settings.get("test_subset"),
        settings["seed"],
        dataset=settings["dataset"],
    )


def run_preprocessing(output: Path, splits, resuming: bool, log, recipe: str):
    """The run's GCN + ZCA: ``output/preprocessing.npz`` when resuming, else fitted on the training
    split (cached on disk by :func:`~kerasinv.data.preprocessing.fit_gcn_zca`) and saved there."""
    prep_file = output / "preprocessing.npz"
    if prep_file.is_file() and resuming:
        return preprocessing.GCNZCA.load(prep_file)
    log(f"[{recipe}] fitting GCN + ZCA on {len(splits.x_train)} training images ...")
    prep = preprocessing.fit_gcn_zca(splits.x_train)
    prep.save(prep_file)
    return prep


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

    def settings(self, spec: dict, options) -> dict:
        o = dict(options)
        return resolve_settings(
            spec, o.get("preset"), o.get("dataset", "cifar10"), o.get("epochs"),
            bool(o.get("augment", False)), o.get("seed", 0), o.get("width"),
            o.get("learning_rate"), o.get("batch_size"), o.get("train_subset"),
            o.get("strategy", "default"), o.get("init"), o.get("bias_decay"), o.get("grid"),
            o.get("reshuffle"),
        )  # fmt: skip

    def units(self, spec: dict, settings: dict, options) -> list[Unit]:
        chosen = choose(options.get("models"), spec["presets"][settings["preset"]], spec)
        preflight(  # the same checks as the CLI's
            spec, preset=options.get("preset"), models=chosen, dataset=settings["dataset"],
            data_dir=options.get("data_dir"), download=options.get("download", False),
        )  # fmt: skip
        return [Unit(name, name) for name in chosen]

    def unit_key(self, record: dict) -> str:
        return record["model"]

    def is_done(self, output: Path, records: list[dict]) -> bool:
        return any((output / r["saved_model"]).is_dir() for r in records)

    def prepare(self, ctx) -> Prepared:
        settings = ctx.settings
        ctx.say(f"preset {settings['preset']}: loading {settings['dataset']} ...")
        splits = load_data(
            settings, ctx.options.get("data_dir"), ctx.options.get("download", False)
        )
        ctx.say(f"data: {splits.source}")
        prep = run_preprocessing(
            ctx.output, splits, bool(ctx.run.previous), ctx.run._log, ctx.spec["recipe"]
        )
        whitening = prep.layer()
        config = train_config(settings, ctx.verbose, schedule_epochs=schedule_epochs(settings))
        data = training.make_datasets(
            splits.x_train, splits.y_train, splits.x_test, splits.y_test, whitening, config
        )
        ctx.results["data_source"] = splits.source
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
            table=paper_table, row=name, column=COLUMN, measured=measured,
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
