"""Runner for ``springenberg-curve``: the learning curve of one Springenberg network, drawn on the
public Caffe reference curve.

Trains the network with the spec's ``paper`` protocol and measures test accuracy on the whole test
split after every epoch. Each point is a record with the reference's accuracy after the same number
of training images beside it (the Caffe log has a point every 200 iterations of 256 images; we
interpolate linearly between them).

Output folder (every file written atomically after each epoch, so a run can be followed and resumed):

- ``results.json``: settings, software versions, one record per epoch;
- ``table.md``: the table (epoch, images seen, our accuracy, the reference's, Δ, losses, dead class
  units, time);
- ``curve.png``: our curve on top of the reference curve;
- ``preprocessing.npz``: the GCN + ZCA fitted on the training split;
- ``work/checkpoint/``: the whole training state after the last epoch. It is kept, so that running
  again with a larger ``--epochs`` extends the curve; every other setting must stay the same.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from kerasinv.lazy import lazy_import
from kerasinv.recipes.allcnn_protocol import (
    PROTOCOL,
    model_options,
    protocol_settings,
    whitened_data,
)
from kerasinv.recipes.engine import Runner, Unit, train_config
from kerasinv.recipes.options import option
from kerasinv.recipes.settings import (
    DATA,
    EPOCHS,
    PRECISION,
    SEED,
    STRATEGY,
    TEST_SUBSET,
    TRAIN_SUBSET,
    WIDTH,
    Setting,
    resolve,
)
from kerasinv.reporting import figures as plots
from kerasinv.reporting import records as rec

training = lazy_import("kerasinv.training")  # TensorFlow only when a run starts

#: This recipe's options (besides the common ones).
OPTIONS = (
    option("models", help="The network whose curve to train (default: all-cnn-c)."),
    option("epochs", help="Epochs to train; a larger value extends a finished curve."),
    option("width"),
    option("learning_rate"),
    option("batch_size"),
    option("init"),
    option("bias_decay"),
    option("grid"),
    option("reshuffle"),
    option("strategy"),
    option("precision"),
)

COLUMN = "test accuracy"
TABLE = "learning curve"
GENERATED = ("table.md", "curve.png", "preprocessing.npz", "work")


#: What a run reads of the spec (see :mod:`kerasinv.recipes.settings`). Its length is not one of
#: the compared settings: ``--epochs`` may grow on resume (:func:`curve_epochs`).
SETTINGS = (
    Setting("model", "str", home="", option="models", known="models", noun="model"),
    DATA,
    WIDTH,
    EPOCHS,
    TRAIN_SUBSET,
    TEST_SUBSET,
    SEED,
    STRATEGY,
    PRECISION,
    *PROTOCOL,
)


#: test images on which class-unit death is counted after each epoch (a forward pass: ~1 % of an epoch)
DEAD_PROBE_IMAGES = 1000


def class_scores(model, images, batch_size: int = 250):
    """The pooled class scores that reach the softmax, ``float [N, classes]``, of a model with a
    ``global_average`` layer on ``images`` (``[N, H, W, C]``, preprocessed); ``None`` without one."""
    import keras
    import numpy as np

    try:
        pooled = model.get_layer("global_average").output
    except ValueError:
        return None
    probe = keras.Model(model.input, pooled)
    return np.concatenate(
        [
            np.asarray(probe(images[i : i + batch_size], training=False))
            for i in range(0, len(images), batch_size)
        ]
    )


def dead_class_units(model, images) -> int | None:
    """How many classes score exactly 0 on every one of ``images`` (``[N, H, W, C]``, preprocessed).

    All-CNN puts a ReLU on its class scores (the paper's "1x1 conv 10 ReLU"). A class whose unit
    goes negative for every input is never predicted and gets no gradient through that ReLU; only
    weight decay, pulling its bias back towards 0, can revive it. Counted on the pooled scores that
    reach the softmax (:func:`class_scores`). ``None`` for a model without a ``global_average``
    layer.
    """
    scores = class_scores(model, images)
    return None if scores is None else int((scores.max(axis=0) <= 0).sum())


def collapse_warning(dead: int | None, classes: int) -> str | None:
    """What to tell the user when every class unit is dead on the probe images (``None`` otherwise).

    Then every class score is 0 for every probe image, the softmax is uniform (test cross-entropy
    ln 10) and the only gradient left is weight decay's, unless dropout's noise lifts a unit above
    zero during training. Seed 3 of the ``paper`` protocol collapsed this way at epoch 5 (see
    docs/results/springenberg-curve); the Caffe reference's author restarted such runs.
    """
    if dead is None or dead < classes:
        return None
    return (
        f"all {classes} class units are dead: every class score is 0 on every probe image, so "
        "the network predicts nothing and only weight decay (and dropout's noise) moves it. Such "
        "a run rarely recovers; the Caffe reference's author restarted them. Consider another "
        "--seed (this run continues)"
    )


def initial_scores(build: Callable, seed: int, test_data, probe_images) -> tuple[dict, int | None]:
    """``(logs, dead class units)`` of the network :func:`kerasinv.training.train` will start
    from (the same seed, then the same ``build``), on the test set before any training step."""
    training.seed_everything(seed)
    model = build()
    model.compile(loss="sparse_categorical_crossentropy", metrics=training.metrics())
    scores = model.evaluate(test_data, verbose=0, return_dict=True)
    return {f"val_{k}": v for k, v in scores.items()}, dead_class_units(model, probe_images)


def point_record(
    results: dict,
    epoch: int,
    logs: dict,
    images: int,
    reference,
    wall_s: float,
    dead: int | None = None,
    per_epoch: int | None = None,
):
    """The record of the test accuracy after ``epoch`` epochs of ``per_epoch`` images (default:
    the ``images`` of the training split; fewer or more with Caffe's stream of full batches);
    epoch 0 is the fresh network before any step (Caffe tests at iteration 0 too), whose
    training fields are ``None``."""
    settings = results["settings"]

    def train_log(key):
        return None if key not in logs else round(float(logs[key]), 4)

    per_epoch = per_epoch or images
    seen = epoch * per_epoch
    ref = reference.accuracy_at(seen)
    ref_loss = reference.loss_at(seen)
    measured = round(float(logs["val_accuracy"]), 4)
    return rec.record(
        results,
        table=TABLE,
        row=f"epoch {epoch}",
        column=COLUMN,
        measured=measured,
        metric="test_accuracy",
        unit="fraction",
        paper=None if ref is None else round(ref, 4),
        dataset=settings["dataset"],
        model=settings["model"],
        wall_s=round(wall_s, 1),
        epoch=epoch,
        images_seen=seen,
        reference_iteration=round(seen / reference.batch_size, 1),
        delta=None if ref is None else round(measured - ref, 4),
        # cross-entropy is the data term alone, comparable with Caffe's logged loss; the losses
        # add the weight-decay term (the objective SGD minimises)
        test_cross_entropy=round(float(logs["val_cross_entropy"]), 4),
        reference_test_cross_entropy=None if ref_loss is None else round(ref_loss, 4),
        train_cross_entropy=train_log("cross_entropy"),
        test_loss=round(float(logs["val_loss"]), 4),
        train_loss=train_log("loss"),
        train_accuracy=train_log("accuracy"),
        dead_class_units=dead,
        learning_rate=float(logs.get("learning_rate", settings["learning_rate"])),
        width=settings["width"],
        train_images=images,
        images_per_epoch=per_epoch,
    )


#: the table's columns, one per field of an epoch's record
COLUMNS = (
    "Epoch",
    "Images seen",
    "Caffe iteration",
    "Test acc. (ours)",
    "Test acc. (Caffe)",
    "Δ",
    "Test cross-entropy (ours)",
    "Test cross-entropy (Caffe)",
    "Weight-decay term",
    "Dead class units",
    "Time (s)",
)


def _table_head(spec: dict, settings: dict, results: dict, images: int, records: list) -> str:
    """The paragraph above the table: the network, the protocol and the data order."""
    if settings.get("stream"):
        per_epoch = records[0].get("images_per_epoch", images)
        order = (
            "one data order read as a stream of full batches across the end of the data, as "
            f"Caffe's Data layer reads its LMDB (an epoch: {per_epoch:,} images)"
        )
    elif settings.get("reshuffle", True):
        order = "a new data order each epoch"
    else:
        order = "one data order every epoch (as Caffe reads its LMDB)"
    head = (
        f"## {spec.get('title', spec['recipe'])}\n\n"
        f"{settings['model']}, width {settings['width']:g}, {images:,} training images, test "
        f"accuracy on {results.get('test_images', 0):,} test images after each epoch; protocol: "
        f"batch {settings['batch_size']}, γ {settings['learning_rate']:g}, momentum "
        f"{settings['momentum']:g}, weight decay {settings['weight_decay']:g}"
        f"{' (weights and biases)' if settings['bias_decay'] else ' (weights)'}, "
        f"{settings['init']} initialisation, stride-2 grid {settings['grid']!r}, "
        f"{'a ReLU' if settings.get('class_relu', True) else 'NO ReLU (a departure)'} on the class "
        f"conv, seed {settings['seed']}, {order}. Reference: {results['reference']} at the same "
        "number of training images.\n"
    )
    if settings["preset"] != "paper":
        head += (
            "\nReduced protocol: the reference column is the full-width Caffe run's and is shown "
            "for orientation only.\n"
        )
    return head


def render_table(spec: dict, results: dict) -> str:
    """Markdown, rendered from the records only."""
    settings, records = results["settings"], results["records"]
    images = records[0]["train_images"] if records else 0
    head = _table_head(spec, settings, results, images, records)
    rows = [
        [
            r["epoch"],
            r["images_seen"],
            round(r["reference_iteration"]),
            r["measured"],
            r["paper"],
            r["delta"],
            r.get("test_cross_entropy"),  # absent in runs recorded before it was
            r.get("reference_test_cross_entropy"),
            r["test_loss"] - r["test_cross_entropy"] if "test_cross_entropy" in r else None,
            r.get("dead_class_units"),
            round(r["wall_s"]),
        ]
        for r in records
    ]
    foot = (
        "\nCross-entropy: the data term of the loss, which is what Caffe logs as its test loss; "
        "the objective SGD minimises adds the weight-decay term (its own column).\n"
    )
    return head + "\n" + rec.markdown_table(list(COLUMNS), rows, digits=3) + "\n" + foot


def _run_label(settings: dict) -> str:
    """``kerasinv all-cnn-c (paper, seed 1, no class ReLU)``: the preset and what is not default
    (settings without ``reshuffle`` reshuffled, and say so)."""
    notes = [settings["preset"]]
    if settings.get("seed", 0) != 0:
        notes.append(f"seed {settings['seed']}")
    if not settings.get("class_relu", True):
        notes.append("no class ReLU")
    if settings.get("reshuffle", True):  # a departure from Caffe's one data order
        notes.append("data reshuffled each epoch")
    if settings.get("stream"):
        notes.append("Caffe's batch stream")
    return f"kerasinv {settings['model']} ({', '.join(notes)})"


def _plot_loss(ax, ref_epochs, ref_loss, losses: list) -> None:
    """The lower panel: our test cross-entropy per epoch on the reference's logged loss."""
    ax.plot(ref_epochs, ref_loss, color="0.55", lw=1.5, label="Caffe reference")
    ax.plot(
        [r["epoch"] for r in losses], [r["test_cross_entropy"] for r in losses],
        "o-", color="C0", lw=2, label="kerasinv",
    )  # fmt: skip
    ax.axhline(math.log(10), color="0.8", lw=1, ls=":", label="uniform guess (ln 10)")
    ax.set_ylabel("test cross-entropy\n(no weight-decay term)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)


def plot_curve(results: dict, reference, path: Path) -> Path:
    """Our test accuracy per epoch on top of the reference curve (x: epochs of 50,000 images),
    and below it our test cross-entropy on the reference's logged loss (when recorded)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = results["records"]
    images = records[0].get("images_per_epoch") or records[0]["train_images"]
    last = max(r["epoch"] for r in records)
    ref_epochs = reference.images_seen() / images
    keep = ref_epochs <= max(last * 1.25, last + 2)
    losses = [r for r in records if r.get("test_cross_entropy") is not None]
    if losses:
        fig, (ax, loss_ax) = plt.subplots(
            2, 1, figsize=(7.0, 6.6), sharex=True, height_ratios=(3, 2), layout="constrained"
        )
    else:
        fig, ax = plt.subplots(figsize=(7.0, 4.2), layout="constrained")
    ref_epochs, ref_accuracy = ref_epochs[keep], reference.accuracy[keep]
    ax.plot(
        ref_epochs,
        ref_accuracy,
        color="0.55",
        lw=1.5,
        label="Caffe reference (every 200 iterations)",
    )
    ax.fill_between(
        ref_epochs, ref_accuracy - 0.05, ref_accuracy + 0.05, color="0.55", alpha=0.15, lw=0,
        label="reference ± 5 points",
    )  # fmt: skip
    measured = [r["measured"] for r in records]
    tested = [r.get("test_images", results.get("test_images")) for r in records]
    ax.errorbar(
        [r["epoch"] for r in records], measured, yerr=plots.binomial_error(measured, tested),
        fmt="o-", color="C0", lw=2, capsize=2,
        label=_run_label(results["settings"]) + " (±1 s.e. over test images)",
    )  # fmt: skip
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.set_xlim(0, None)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.axhline(0.1, color="0.8", lw=1, ls=":", label="chance")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    ax.set_title("Test accuracy during training, against the public Caffe run", fontsize=10)
    if losses:
        _plot_loss(loss_ax, ref_epochs, reference.loss[keep], losses)
        ax = loss_ax
    ax.set_xlabel(f"epochs ({images:,} training images each)")
    return plots.save(fig, path, dpi=120)


def curve_epochs(spec: dict, options) -> int:
    """The curve's length: ``--epochs``, else the preset's, else the spec's (it may grow on
    resume, so it is not one of the compared settings)."""
    return resolve([EPOCHS], spec, options)["epochs"]


class Prepared(NamedTuple):
    """What the curve's epochs share."""

    splits: object
    config: object
    train_data: object
    test_data: object
    probe_images: object
    reference: object


class CurveRunner(Runner):
    """Units: the epochs 0 (the fresh network) to ``--epochs``; one training run emits a record
    after each epoch. The checkpoint is kept, so a larger ``--epochs`` extends the curve."""

    recipe_outputs = GENERATED
    keep_work = True

    SETTINGS = SETTINGS

    def derive(self, spec: dict, settings: dict, options) -> dict:
        settings = {k: v for k, v in settings.items() if k != "epochs"}  # see SETTINGS
        return protocol_settings({**settings, "dataset": "cifar10"}, spec)

    def units(self, spec: dict, settings: dict, options) -> list[Unit]:
        return [Unit(f"epoch {e}", e) for e in range(curve_epochs(spec, options) + 1)]

    def unit_key(self, record: dict) -> str:
        return f"epoch {record['epoch']}"

    def prepare(self, ctx) -> Prepared:
        from kerasinv.data.reference import caffe_all_cnn_c

        settings = ctx.settings
        splits, whitening = whitened_data(ctx)
        epochs = curve_epochs(ctx.spec, ctx.options)
        config = train_config(
            settings, ctx.verbose, epochs=epochs,
            schedule_epochs=training.PAPER_EPOCHS,  # the first epochs of the paper's 350
        )  # fmt: skip
        train_data, test_data = training.make_datasets(
            splits.x_train, splits.y_train, splits.x_test, splits.y_test, whitening, config
        )
        reference = caffe_all_cnn_c()
        ctx.results.update(
            epochs=epochs, reference=reference.source, test_images=len(splits.x_test)
        )
        probe = test_data.unbatch().take(DEAD_PROBE_IMAGES).batch(DEAD_PROBE_IMAGES)
        return Prepared(splits, config, train_data, test_data, next(iter(probe))[0], reference)

    def measure_all(self, ctx, units: list[Unit], emit) -> None:
        import keras

        from kerasinv import models as model_registry

        p, settings = ctx.prepared, ctx.settings
        by_epoch = {u.value: u for u in units}
        clock = {"t": time.perf_counter()}

        def write_point(epoch: int, logs: dict, dead: int | None) -> None:
            record = point_record(
                ctx.results, epoch, logs, len(p.splits.x_train), p.reference,
                time.perf_counter() - clock["t"], dead, p.train_data.images_per_epoch,
            )  # fmt: skip
            clock["t"] = time.perf_counter()
            emit(by_epoch.get(epoch, Unit(f"epoch {epoch}", epoch)), [record])
            self.figures(ctx.spec, ctx.results, ctx.output)  # a long curve can be watched
            ref = "–" if record["paper"] is None else f"{record['paper']:.3f}"
            ref_loss = record["reference_test_cross_entropy"]
            ctx.say(
                f"epoch {epoch}: test accuracy {record['measured']:.3f} (Caffe {ref}), "
                f"test cross-entropy {record['test_cross_entropy']:.3f} "
                f"(Caffe {'–' if ref_loss is None else f'{ref_loss:.3f}'}), dead class units {dead}"
            )
            warning = collapse_warning(dead, p.splits.num_classes)
            if warning:
                ctx.say(f"warning: {warning}")

        class WritePoint(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                write_point(epoch + 1, logs, dead_class_units(self.model, p.probe_images))

        def build():
            return model_registry.get(
                settings["model"], classes=p.splits.num_classes, width=settings["width"],
                **model_options(settings),
            )  # fmt: skip

        if 0 in by_epoch:  # the network before any step (Caffe tests at iteration 0 too)
            write_point(0, *initial_scores(build, p.config.seed, p.test_data, p.probe_images))
        if any(e > 0 for e in by_epoch):
            done = min(e for e in by_epoch if e > 0) - 1
            ctx.say(
                f"{settings['model']}: training to epoch {p.config.epochs} (resuming after {done}) ..."
            )
            training.train(
                build, p.train_data, p.test_data, p.config, ctx.output / "work",
                callbacks=[WritePoint()], evaluate_each_epoch=True, keep_checkpoint=True,
            )  # fmt: skip

    def render(self, spec: dict, results: dict) -> str:
        return render_table(spec, results)

    def figures(self, spec: dict, results: dict, output: Path) -> None:
        if results["records"]:
            from kerasinv.data.reference import caffe_all_cnn_c

            plot_curve(results, caffe_all_cnn_c(), output / "curve.png")


RUNNER = CurveRunner()
