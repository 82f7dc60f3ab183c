"""Fine-tuning an anti-aliased twin of a pretrained model (``kerasinv finetune``).

Zhang's anti-aliased networks are trained with the blur in place. A *drop-in* twin of a network
trained without it sees different feature maps and loses accuracy, so users take the twin and
fine-tune it: pretrained model -> :func:`kerasinv.antialias` twin -> a few epochs of SGD at a small
learning rate on their images -> a before/after report.

The report measures, on the same test images and with the engine of ``kerasinv evaluate``:

- ``accuracy``: top-1 on the unperturbed (centre) frame;
- ``consistency``: Zhang's shift consistency, how often two random shifts of an image get the
  same class (higher is more invariant);
- ``p_top1_change``: Azulay & Weiss's one-pixel crop protocol, how often moving the image by one
  pixel changes the class (lower is more stable);

for three models: the stock model, its drop-in twin and the fine-tuned twin.

Training uses :func:`kerasinv.training.train`: seeded, resumable after an interruption from the last
completed epoch (``output/work``), stopped with a clear error if the loss diverges.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from kerasinv.errors import ConfigError, DataFormatError
from kerasinv.io import write_json, write_text

#: What a run writes into its output folder (removed by ``overwrite``).
GENERATED = ("table.md", "twin.keras", "saved_models", "work")
MEASURES = ("accuracy", "consistency", "p_top1_change")
#: the data sets ``--data`` names; the shipped sample works offline on any install
NAMED_DATA = ("cifar10", "cifar100")
SAMPLE = "cifar10-sample"
OFFLINE = (
    f"pass --data {SAMPLE}: the 2,000 training and 1,000 test images of CIFAR-10 shipped with "
    "kerasinv (offline)"
)


@dataclass
class FinetuneConfig:
    """Settings of a fine-tuning run (stored in ``results.json``; a resumed run must match).

    Attributes:
        antialias: ``"blur-K"`` or ``"aps[-K]"``.
        epochs: epochs of fine-tuning.
        learning_rate: SGD γ, constant (a small one: the weights are already trained).
        momentum: SGD momentum.
        batch_size: training batch.
        train_subset / test_subset: class-balanced subsets (``None`` = all); the report is measured
            on the test subset.
        augment: flips and translations of up to 4 px during fine-tuning.
        preprocess: ``"none"`` (raw 0–255 pixels into the model) or a keras.applications mode
            (``"caffe"``, ``"tf"``, ``"torch"``).
        seed: seeds initialisation, data order and the shift draws.
        skip: layers :func:`kerasinv.antialias` leaves unchanged (see its ``skip``).
        precision: of the fine-tuning (:mod:`kerasinv.precision`); every model is measured in
            float32.
    """

    antialias: str = "blur-3"
    epochs: int = 3
    learning_rate: float = 0.005
    momentum: float = 0.9
    batch_size: int = 128
    train_subset: int | None = None
    test_subset: int | None = 1000
    augment: bool = False
    preprocess: str = "none"
    seed: int = 0
    skip: tuple[str, ...] = ()
    precision: str = "float32"

    def __post_init__(self):
        from kerasinv.antialias_spec import parse_antialias

        if parse_antialias(self.antialias) is None:
            raise ConfigError("--antialias must be blur-K, aps[-K] or lps[-K]")
        if self.epochs < 1 or self.batch_size < 1 or not self.learning_rate > 0:
            raise ConfigError(
                "epochs and batch size must be at least 1, the learning rate positive"
            )


def check_request(
    model: str, data: str, antialias: str, output, overwrite: bool, data_dir=None
) -> str:
    """Refuse a bad ``kerasinv finetune`` before TensorFlow is imported (a missing CIFAR is found
    missing here, in a second); returns the output folder (default
    ``runs/finetune-<model>-<method>``)."""
    from kerasinv.antialias_spec import parse_antialias
    from kerasinv.output_folder import check_output

    try:
        if parse_antialias(antialias) is None:
            raise ValueError("none")
    except ValueError:
        raise ConfigError(f"--antialias {antialias!r}: give blur-K (K = 1..7) or aps[-K]") from None
    if model not in ("shipped",) and not Path(model).exists() and "/" in model:
        raise ConfigError(f"{model} does not exist")
    if data not in (*NAMED_DATA, SAMPLE) and not Path(data).exists():
        raise ConfigError(
            f"--data {data}: no such folder or file (or give cifar10, cifar100 or {SAMPLE})"
        )
    if data in NAMED_DATA:
        from kerasinv.data.cifar import locate_cifar

        # file names only: DataNotFoundError names where it looked, and the offline way out
        locate_cifar(data, data_dir, instead=OFFLINE)
    label = Path(model).stem if model != "shipped" else "shipped"
    output = str(output or Path("runs") / f"finetune-{label}-{antialias}")
    check_output(output, "finetune", overwrite, ["results.json", *GENERATED], resumable=True)
    return output


def load_pretrained(source: str, weights: str | None = None, input_size: int | None = None):
    """The pretrained Keras model named by ``source``.

    - ``"shipped"``: kerasinv's CIFAR-10 model;
    - a ``.keras`` file;
    - a SavedModel folder written by ``kerasinv export`` (its ``model.keras`` beside the version
      folders is used: a SavedModel holds a traced graph, not layers that can be rewritten);
    - a keras.applications name (``MobileNet``, ``ResNet50``, …) with ``weights`` (a weights file)
      and ``input_size``.
    """
    import keras

    if source == "shipped":
        from kerasinv.models.shipped import shipped_dir

        source = str(shipped_dir() / "model.keras")
    path = Path(source)
    if path.is_dir():
        candidates = [path / "model.keras", path.parent / "model.keras"]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise ConfigError(
                f"{source} is a SavedModel without a model.keras beside it: a SavedModel holds a "
                "traced graph whose layers cannot be rewritten. Fine-tune from the .keras file "
                "(kerasinv export keeps one beside the version folders)"
            )
        path = found
    if path.suffix == ".keras":
        if not path.is_file():
            raise ConfigError(f"model file {path} does not exist")
        try:
            return keras.saving.load_model(str(path), compile=False)
        except Exception as e:  # Keras raises many types for unreadable files
            raise DataFormatError(f"could not load {path} as a Keras model: {e}") from None
    build = getattr(keras.applications, source, None)
    if not callable(build):
        raise ConfigError(
            f"{source!r} is neither 'shipped', a .keras file, a kerasinv export folder nor a "
            "keras.applications name (e.g. MobileNet)"
        )
    if weights is None or not Path(weights).is_file():
        raise ConfigError(f"{source}: pass --weights with its weights file (got {weights!r})")
    size = input_size or 224
    model = build(weights=None, input_shape=(size, size, 3))
    try:
        model.load_weights(weights)
    except Exception as e:
        raise DataFormatError(
            f"could not load {weights} into keras.applications.{source} at its default options "
            f"and input {size}x{size} ({e}). For another variant (MobileNet alpha=0.75, a "
            "different top, ...) build it in Python, load the weights, model.save('m.keras') "
            "and fine-tune m.keras"
        ) from None
    return model


def load_images(data: str, data_dir=None):
    """``ImageSplits`` from ``"cifar10"`` / ``"cifar100"`` (``data_dir`` as for the recipes),
    ``"cifar10-sample"`` (the 2,000 / 1,000 real CIFAR-10 images shipped with kerasinv), or an
    image folder / archive with ``train/<class>/`` and ``test/<class>/``."""
    from kerasinv.data.cifar import load_cifar
    from kerasinv.data.folders import load_image_folder, load_image_folder_archive

    if data in NAMED_DATA:
        return load_cifar(data, data_dir, False)
    if data == SAMPLE:
        from kerasinv.data.samples import load_embedded_sample

        return load_embedded_sample()
    path = Path(data)
    if path.is_dir():
        return load_image_folder(path)
    if path.is_file():
        return load_image_folder_archive(path)
    raise ConfigError(
        f"--data {data!r}: give cifar10, cifar100, {SAMPLE} or an image folder / archive"
    )


def measure(model, images, labels, preprocess: str, seed: int) -> dict:
    """Accuracy (the images as they are), shift consistency and one-pixel P(top-1 change) of an
    in-memory model, all by ``kerasinv evaluate``'s engine."""
    from kerasinv import evaluation
    from kerasinv.models.loading import from_keras

    loaded = from_keras(model, preprocess)
    result = evaluation.evaluate(
        loaded, images, labels, protocols=("crop", "shift"), batch_size=64, seed=seed,
        labels_from="file",
    )  # fmt: skip
    crop, shift = result["summary"]["crop"], result["summary"]["shift"]
    return {
        "accuracy": result["clean"]["accuracy"],  # on the unperturbed images
        "consistency": shift["consistency"],
        "p_top1_change": crop["p_top1_change"],
        "images": crop["images"],
    }


def _pixel_map(model, preprocess: str) -> Callable | None:
    """Batched map from raw pixels to the model's input (resize, then keras.applications mode)."""
    import keras
    import tensorflow as tf

    size = int(model.input_shape[1])

    def prepare(batch):
        if batch.shape[1] != size:
            batch = tf.image.resize(batch, (size, size))
        if preprocess != "none":
            batch = keras.applications.imagenet_utils.preprocess_input(batch, mode=preprocess)
        return batch

    return prepare


#: the models a run measures, in the order of the table: its records' ``stage``
STAGES = ("stock", "twin", "finetuned")
#: the protocol each measure is taken under (its records' ``protocol``)
PROTOCOL_OF = {"accuracy": "unperturbed", "consistency": "shift", "p_top1_change": "crop"}


def stage_records(stage: str, model_name: str, measured: dict, dataset: str, seed: int) -> list:
    """The records of one measured model (:func:`measure`'s dict): one per measure, each a
    fraction, with the stage (``stock``, ``twin``, ``finetuned``) it belongs to."""
    from kerasinv.reporting.records import measurement

    return [
        measurement(
            metric=metric,
            unit="fraction",
            protocol=PROTOCOL_OF[metric],
            model=model_name,
            dataset=dataset,
            measured=measured[metric],
            stage=stage,
            images=measured["images"],
            seed=seed,
        )
        for metric in MEASURES
    ]


def check_twin(stock, config: FinetuneConfig) -> None:
    """Refuse a fine-tuning whose twin would be the stock model: no layer to anti-alias (after
    the stem and ``skip``), or the 1-tap filter.

    Raises:
        ConfigError: says why and what to do.
    """
    from kerasinv.models import plan_antialias
    from kerasinv.models.twins import no_op_note

    note = no_op_note(plan_antialias(stock, config.antialias, skip=config.skip), config.antialias)
    if note:
        raise ConfigError(
            f"{stock.name}: {note}; there is nothing to fine-tune (pick another --antialias, or "
            "fewer --skip layers)"
        )


def render_table(results: dict) -> str:
    """Markdown from the records alone: one row per model, the three measures, and the change
    against the stock model."""
    from kerasinv.reporting import records as rec

    c = results["settings"]
    value = {(r["stage"], r["metric"]): r["measured"] for r in results["records"]}
    rows = []
    labels = ("stock", f"drop-in {c['antialias']} twin", f"fine-tuned {c['antialias']} twin")
    for stage, label in zip(STAGES, labels, strict=True):
        if (stage, "accuracy") not in value:
            continue
        acc = value[stage, "accuracy"]
        rows.append(
            [
                label,
                100 * acc,
                100 * (acc - value["stock", "accuracy"]),
                100 * value[stage, "consistency"],
                100 * value[stage, "p_top1_change"],
            ]
        )
    head = (
        f"## Fine-tuning the anti-aliased twin of {results['model']}\n\n"
        f"{c['epochs']} epoch(s) on {results['train_images']:,} {results['data']} training images "
        f"{'with flips and 4 px shifts ' if c['augment'] else ''}"
        f"(SGD γ {c['learning_rate']:g}, momentum {c['momentum']:g}, batch {c['batch_size']}, seed "
        f"{c['seed']}); measured on {results['test_images']:,} test images. Consistency: two random "
        "shifts give the same class (higher is better); P(top-1 change): a one-pixel move changes "
        "the class (lower is better).\n\n"
    )
    headers = ["Model", "Accuracy %", "Δ vs stock", "Consistency %", "P(top-1 change) %"]
    return head + rec.markdown_table(headers, rows) + "\n"


def finetune(
    source: str,
    data: str,
    output,
    config: FinetuneConfig,
    data_dir=None,
    weights: str | None = None,
    input_size: int | None = None,
    overwrite: bool = False,
    verbose: int = 2,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Anti-alias ``source``, fine-tune the twin on ``data``, and report before and after.

    Writes ``output/``: ``results.json`` (settings, versions, timestamps and one record per model
    and measure, as every command writes them), ``table.md`` (rendered from the records),
    ``twin.keras`` (the fine-tuned twin) and ``saved_models/<name>/1/`` (TF Serving layout). A run
    interrupted during training resumes from its last epoch when started again the same way.

    Returns:
        The results (also in ``results.json``).
    """
    from kerasinv import progress

    with progress.context("finetune"):  # every line and bar under the command's name
        return _finetune(
            source, data, output, config, data_dir, weights, input_size, overwrite, verbose, log
        )


def _finetune(source, data, output, config, data_dir, weights, input_size, overwrite, verbose, log):
    from kerasinv import progress, training
    from kerasinv.export import export_serving
    from kerasinv.io import atomic_path
    from kerasinv.models import antialias
    from kerasinv.output_folder import abandoned_on_failure
    from kerasinv.reporting.folder import prepare_output
    from kerasinv.reporting.records import now, versions

    say = progress.reporter(log)
    started = time.perf_counter()
    output = Path(output)
    # as stored in results.json (tuples become lists), so a resumed run compares equal
    settings = json.loads(
        json.dumps({"source": source, "data": data, "weights": weights, **asdict(config)})
    )
    previous = prepare_output(output, settings, overwrite, GENERATED, command="finetune")
    done = {r.get("stage") for r in previous.get("records", [])}
    if "finetuned" in done and (output / "twin.keras").is_file():
        say(f"already done in {output}")
        write_text(output / "table.md", render_table(previous))
        return previous
    with abandoned_on_failure(output):  # a failure before any write leaves no folder
        from kerasinv.precision import check_precision, follow_policy

        check_precision(config.precision)  # before any model or data is loaded
        stock = load_pretrained(source, weights, input_size)
        check_twin(stock, config)
        say(f"{stock.name}: loading {data} ...")
        splits = load_images(data, data_dir)
        if config.train_subset or config.test_subset:
            splits = splits.subset(config.train_subset, config.test_subset, seed=config.seed)
        classes = int(stock.output_shape[-1])
        if splits.num_classes and splits.num_classes > classes:
            raise ConfigError(
                f"{data} has {splits.num_classes} classes but the model predicts {classes}: fine-tune "
                "a model trained on the same classes"
            )
        results = {
            "command": "finetune",
            "model": stock.name,
            "source": source,
            "data": splits.name,
            "data_source": splits.source,
            "settings": settings,
            "versions": versions(),
            "train_images": len(splits.x_train),
            "test_images": len(splits.x_test),
            "records": [r for r in previous.get("records", []) if r.get("stage") in STAGES],
        }
        names = {
            "stock": stock.name,
            "twin": f"{stock.name}_{config.antialias}",
            "finetuned": f"{stock.name}_{config.antialias} fine-tuned",
        }

        def record(stage, model):
            if not any(r["stage"] == stage for r in results["records"]):
                say(f"measuring the {stage} model on {len(splits.x_test)} test images ...")
                measured = measure(
                    model, splits.x_test, splits.y_test, config.preprocess, config.seed
                )
                results["records"] += stage_records(
                    stage, names[stage], measured, splits.name, config.seed
                )
                write_json(output / "results.json", {**results, "finished_at": now()})

        record("stock", stock)
        record("twin", antialias(stock, config.antialias, skip=config.skip))
        train_config = training.TrainConfig(
            epochs=config.epochs,
            batch_size=config.batch_size,
            learning_rate=config.learning_rate,
            momentum=config.momentum,
            drops=(),
            augment=config.augment,
            max_shift=4,
            seed=config.seed,
            verbose=verbose,
            precision=config.precision,
        )
        train_data, test_data = training.make_datasets(
            splits.x_train,
            splits.y_train,
            splits.x_test,
            splits.y_test,
            _pixel_map(stock, config.preprocess),
            train_config,
        )
        say(f"fine-tuning the {config.antialias} twin for {config.epochs} epoch(s) ...")
        trained = training.train(  # the twin's layers in the run's precision
            lambda: follow_policy(antialias(stock, config.antialias, skip=config.skip)),
            train_data,
            test_data,
            train_config,
            output / "work",
        )
        model = trained.model
        results["records"] = [r for r in results["records"] if r["stage"] != "finetuned"]
        record("finetuned", model)
        with atomic_path(output / "twin.keras", suffix=".keras") as tmp:
            model.save(tmp)
        name = f"{stock.name}_{config.antialias}".replace("-", "_")
        export_serving(model, output / "saved_models", name, version=1, overwrite=True)
        if (output / "work").is_dir() and not any((output / "work").iterdir()):
            (output / "work").rmdir()  # the checkpoint is removed after a finished run
        results["history"] = trained.history
        results["wall_s"] = round(time.perf_counter() - started, 1)
        results["finished_at"] = now()
        write_json(output / "results.json", results)
        write_text(output / "table.md", render_table(results))
        say(f"wrote {output}/ in {results['wall_s']:.0f} s")
        return results


__all__ = ["FinetuneConfig", "finetune", "load_images", "load_pretrained", "measure"]
