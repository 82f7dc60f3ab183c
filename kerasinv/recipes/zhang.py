"""Runner for ``zhang-blurpool``: anti-aliased downsampling on CIFAR-10, and the ImageNet consistency
table for models the user provides (docs/papers.md §3).

CIFAR-10 part: every (model, variant) is trained with the same data, seed and schedule, then
measured on the test images: accuracy, consistency under two random shifts, consistency under two
random circular shifts, accuracy and correct-class probability along a diagonal shift, and the filters'
total variation and Gaussian-smoothing ratio (:mod:`kerasinv.metrics.smoothness`; the TV
normalisation is docs/papers.md §3.6's proposal).

ImageNet part (``--model LABEL=PATH --images DIR``): centre-crop accuracy and Zhang's consistency
(two random 224 crops of the 256 photo, ``trials`` passes); a label ``NETWORK/FILTER`` (e.g.
``resnet50/bin-5``) puts the paper's numbers beside it.

Output folder (atomic writes; ``results.json`` after each model, so a long run resumes):
``results.json``, ``table.md``, ``diagonal.png`` (accuracy along the diagonal shift),
``by_filter.png`` (accuracy, consistency and TV against the filter size), ``models/*.keras``,
``work/`` (checkpoints of the model being trained).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kerasinv.errors import ConfigError
from kerasinv.lazy import lazy_import
from kerasinv.recipes import cifar_runs
from kerasinv.recipes.engine import Runner, Unit, train_config
from kerasinv.recipes.options import CIFAR_TRAINING, option
from kerasinv.recipes.settings import CIFAR_PROTOCOL, CIFAR_RUN, DATA, SEED, SHIFT_PAIRS, Setting
from kerasinv.reporting import figures as plots
from kerasinv.reporting import records as rec

training = lazy_import("kerasinv.training")  # TensorFlow only when a run starts

#: This recipe's options (besides the common ones).
OPTIONS = (
    option(
        "models",
        help="Comma-separated subset of the CIFAR networks; none measures only the --model files.",
    ),
    option("variants"),
    *map(option, CIFAR_TRAINING),
    option(
        "augment", help="Train with flips and translations up to 4 px (the paper's CIFAR setup)."
    ),
    option("trials"),
    option(
        "model",
        help="A .keras file or SavedModel to measure on --images, as PATH or LABEL=PATH; a LABEL "
        "like resnet50/bin-5 puts the paper's numbers beside it. Repeatable.",
    ),
    option("images"),
    option("labels"),
    option("limit"),
    option("preprocess"),
    option("precision"),
)


def precheck(spec: dict, preset: dict, options: dict) -> None:
    """This recipe's checks before TensorFlow: the --model paths, and photos to measure them on."""
    from kerasinv.recipes import subjects

    subjects.parse_models(options.get("model"))
    if options.get("model") and not options.get("images"):
        raise ConfigError("--model needs --images DIR: the photos to measure consistency on")


GENERATED = ("table.md", "diagonal.png", "by_filter.png", "models", "work")
#: paper column names for our variants (docs/papers.md §3.1).
PAPER_COLUMNS = {"blur-1": "baseline", "blur-2": "rect-2", "blur-3": "tri-3", "blur-4": "bin-4"}
PAPER_COLUMNS["blur-5"] = "bin-5"
_ALIASES = {v: k for k, v in PAPER_COLUMNS.items()} | {"tri-4": "blur-4"}
#: suffix of the circular-padding variants
CIRCULAR = "-circular"


#: What a run reads of the spec (see :mod:`kerasinv.recipes.settings`).
SETTINGS = (
    DATA,
    Setting("models", "strs", home="", known="models", empty=True, noun="model"),
    Setting("variants", "strs", home="", known="variants", noun="variant"),
    *CIFAR_RUN[1:],
    *CIFAR_PROTOCOL,
    *SHIFT_PAIRS,
    SEED,
    Setting("images", "str", home=None),
    Setting("limit", "int", home=None, positive=True),
)


def derive_settings(settings: dict, options) -> dict:
    """The run's settings from the resolved ones: the drops given for ``schedule_epochs`` in
    :mod:`kerasinv.training`'s 350-epoch convention; the ``--model`` files, which need photos."""
    from kerasinv.recipes import subjects

    out = cifar_runs.protocol(settings)
    model_paths = subjects.parse_models(options.get("model"))
    if model_paths and not settings["images"]:
        raise ConfigError("--model needs --images DIR: the photos to measure consistency on")
    out["imagenet_models"] = {label: str(path) for label, path in model_paths}
    subjects.check_user_models(model_paths, options.get("preprocess") or "auto")
    return out


def _circular(variant: str) -> bool:
    return variant.endswith(CIRCULAR)


def build(name: str, variant: str, width: float, weight_decay: float, stats) -> Callable:
    """A builder of ``name`` (``all-cnn-c`` or a ``vgg*-cifar``) with ``variant`` downsampling.

    ``<method>-circular`` (``aps-circular``, ``blur-1-circular``): the APS paper's circular variant,
    circular padding in every convolution, pool window and blur of the network (see
    :func:`~kerasinv.models.allcnn.build_allcnn`'s ``conv_padding``)."""
    circular = _circular(variant)
    method = variant[: -len(CIRCULAR)] if circular else variant
    padding = "circular" if circular else "zero"
    return cifar_runs.builder(name, method, padding, width, weight_decay, stats)


def shift_metrics(model, x: np.ndarray, y: np.ndarray, settings: dict) -> dict:
    """Accuracy, shift and circular consistency, and the diagonal curve of ``model`` on ``x``,
    measured by :mod:`kerasinv.measure` (the pairs of ``kerasinv evaluate --protocols shift``)."""
    from kerasinv import measure, metrics

    m, size = settings["max_shift"], x.shape[1]
    padded = cifar_runs.padded_for_shifts(x, settings)
    predict = measure.keras_predictor(model)
    trials, seed = settings["trials"], settings["seed"]
    pairs = measure.shift_pairs(predict, padded, size, trials, seed, batch_size=500)
    circular = measure.circular_shift_pairs(predict, x, 2 * m, trials, seed, batch_size=500)
    probs = measure.diagonal_sweep(predict, padded, size, batch_size=100)
    clean = measure.predict_batched(predict, x, 500)
    return {
        "accuracy": metrics.accuracy(clean, y),
        "consistency": pairs.consistency,
        "circular_consistency": circular.consistency,
        "diagonal_shift": list(range(-m, m + 1)),
        "diagonal_accuracy": metrics.accuracy_by_offset(probs, y).tolist(),
        "diagonal_true_probability": metrics.true_class_probability_by_offset(probs, y).tolist(),
    }


def filter_smoothness(model) -> dict:
    """Mean total variation and Gaussian-smoothing ratio over the spatial conv filters."""
    from kerasinv.measure import layer_smoothness

    layers = layer_smoothness(model)
    return {
        "total_variation": float(np.mean([v["total_variation"] for v in layers.values()])),
        "gaussian_smoothness": float(np.mean([v["gaussian_smoothness"] for v in layers.values()])),
        "layers": layers,
    }


def parse_paper_label(label: str, spec: dict) -> tuple[str, str] | None:
    """``"resnet50/bin-5"`` -> ``("resnet50", "bin-5")`` if the paper's table has that cell."""
    match = re.fullmatch(r"([a-z0-9]+)/([a-z0-9-]+)", label.strip().lower())
    if not match:
        return None
    network, column = match.groups()
    column = PAPER_COLUMNS.get(column, column)
    table = spec.get("paper", {})
    if network in table and column in table[network]:
        return network, column
    return None


def imagenet_row(spec, settings, label: str, path, photos_of, preprocess, log) -> dict:
    """Centre-crop accuracy and consistency (%) of one user model on the photos.

    ``photos_of(size)`` returns the :class:`~kerasinv.data.imagenet.Photos` for an input size."""
    from kerasinv import measure, perturb
    from kerasinv.recipes import subjects

    subject = subjects.user_model(path, label, preprocess or "auto")
    size = subject.model.input_size
    photos = photos_of(size)
    x, y = photos.images, photos.labels
    log(f"{label}: {len(x)} photos, {settings['trials']} random-shift passes ...")
    t0 = time.perf_counter()
    predict = subject.model.predict
    pairs = measure.shift_pairs(predict, x, size, settings["trials"], settings["seed"], 16)
    centre = measure.predict_batched(predict, perturb.centre_crop(x, size), 16)
    ref = parse_paper_label(label, spec)
    return {
        "source": str(path),
        "preprocess": subject.model.preprocess,
        "photos": len(x),
        "skipped_files": len(photos.skipped),
        "accuracy": 100 * float(np.mean(centre.argmax(-1) == y)),
        "consistency": 100 * pairs.consistency,
        "paper_row": ref,
        "paper": spec["paper"][ref[0]][ref[1]] if ref else None,
        "wall_s": round(time.perf_counter() - t0, 1),
    }


#: the CIFAR table's measured columns: (record column, header, scale, format)
CIFAR_COLUMNS = (
    ("accuracy", "Accuracy %", 100, None),
    ("consistency", "Consistency %", 100, None),
    ("circular_consistency", "Circular cons. %", 100, None),
    ("mean_diagonal_accuracy", "Mean acc. along diagonal %", 100, None),
    ("total_variation", "TV", 1, ".3f"),
    ("gaussian_smoothness", "Gaussian ratio", 1, ".3f"),
)


#: the perturbation each CIFAR metric is measured under (its records' ``protocol``; ``None``: the
#: test images as they are, or the filters)
PROTOCOL_OF = {
    "consistency": "shift", "circular_consistency": "circular shift",
    "mean_diagonal_accuracy": "diagonal shift", "diagonal_accuracy": "diagonal shift",
    "diagonal_true_probability": "diagonal shift",
}  # fmt: skip

#: the unit of each CIFAR column's records (``kerasinv.reporting.records.UNITS``)
UNIT_OF = {
    "accuracy": "fraction", "consistency": "fraction", "circular_consistency": "fraction",
    "mean_diagonal_accuracy": "fraction", "total_variation": "ratio",
    "gaussian_smoothness": "ratio",
}  # fmt: skip


def _cifar_units(settings: dict, records) -> list[tuple[str, str, object]]:
    """``(model, variant, its records)`` of every measured CIFAR network, in the settings' order."""
    cifar = records.where(table="CIFAR-10")
    units = {(r.model, r.get("variant")) for r in cifar}
    order = sorted(
        units, key=lambda u: (settings["models"].index(u[0]), settings["variants"].index(u[1]))
    )
    return [(m, v, cifar.where(model=m, variant=v)) for m, v in order]


def _diagonal(unit) -> tuple[list[int], list[float]]:
    """Zhang's diagonal curve of one network: shifts and accuracies, from its records."""
    points = sorted((r.get("shift"), r.measured) for r in unit.where(column="diagonal_accuracy"))
    return [p[0] for p in points], [p[1] for p in points]


def render_table(spec: dict, settings: dict, results: dict) -> str:
    """The tables, from the records alone."""
    records = rec.Records(results["records"])
    units = _cifar_units(settings, records)
    lines = [f"## {spec.get('title', spec['recipe'])}", ""]
    if units:
        lines.append(
            f"CIFAR-10 ({results.get('data_source', '')}). Preset `{settings['preset']}`: width "
            f"{settings['width']:g}, {settings['epochs']} epoch(s), "
            f"{'flips + shifts' if settings['augment'] else 'no augmentation'}, seed "
            f"{settings['seed']}. Consistency: two random shifts of up to ±{settings['max_shift']} px "
            f"({settings['padding']} padding), {settings['trials']} pass(es); circular: two random "
            "circular shifts. TV: mean normalised total variation of the spatial filters (lower = "
            "smoother; docs/papers.md §3.6 proposal). The paper's CIFAR numbers are unverified, so none "
            "are shown."
        )
        lines.append("")
        headers = ["Model", "Variant", *(h for _, h, _, _ in CIFAR_COLUMNS), "Params", "Time (s)"]
        rows = []
        for model, variant, unit in units:
            row = [model, variant]
            for column, _, scale, fmt in CIFAR_COLUMNS:
                value = unit.value(column=column)
                if value is not None:
                    value = scale * value
                    value = format(value, fmt) if fmt else value
                row.append(value)
            rows.append([*row, unit[0].get("params"), unit[0].wall_s])
        lines.append(rec.markdown_table(headers, rows))
        if settings["preset"] != "paper":
            lines += [
                "",
                "Reduced protocol (few epochs, narrow networks, a subset of the data): compare the "
                "variants with each other, not with published numbers.",
            ]
    if any(r.get("photos") is not None for r in records):  # ImageNet records carry their photos
        lines += ["", *imagenet_table(spec, records)]
    return "\n".join(lines) + "\n"


def imagenet_table(spec: dict, records) -> list[str]:
    """The paper's ImageNet table shape (rows: networks; columns: filters; cells: accuracy /
    consistency %), ours above the paper's, for models labelled ``NETWORK/FILTER``; other models
    in a plain list. From the records alone."""
    paper = spec.get("paper", {})
    columns = paper.get("columns", ["baseline", "rect-2", "tri-3", "bin-4", "bin-5"])
    measured = records.where(table=paper.get("table"))
    measured = rec.Records(r for r in measured if r.get("photos") is not None)
    labels = measured.distinct("model")

    def cell(label):
        one = measured.where(model=label)
        return one.value(column="accuracy"), one.value(column="consistency"), one[0]

    placed = {}
    for label in labels:
        acc, cons, first = cell(label)
        if first.get("network"):
            placed[(first.get("network"), first.get("filter"))] = (acc, cons)
    lines = [f"**ImageNet**, accuracy / consistency % ({paper.get('table', 'paper')})", ""]
    if placed:
        rows = []
        for network in dict.fromkeys(n for n, _ in placed):
            ours = [network + " (ours)"]
            theirs = [network + " (paper)"]
            for column in columns:
                r = placed.get((network, column))
                ours.append(f"{r[0]:.2f} / {r[1]:.2f}" if r else "")
                ref = paper.get(network, {}).get(column)
                theirs.append(f"{ref[0]:.2f} / {ref[1]:.2f}" if ref else "–")
            rows += [ours, theirs]
        lines.append(rec.markdown_table(["Network", *columns], rows))
    others = [label for label in labels if not cell(label)[2].get("network")]
    if others:
        if placed:
            lines.append("")
        rows = []
        for label in others:
            acc, cons, first = cell(label)
            rows.append([label, first.get("photos"), acc, cons])
        lines.append(
            rec.markdown_table(
                ["Model (no paper row)", "Photos", "Accuracy %", "Consistency %"], rows
            )
        )
    photos = {r.get("photos") for r in measured}
    lines += ["", f"On {', '.join(map(str, sorted(photos)))} photos (the paper: all 50,000)."]
    return lines


def plot(settings: dict, results: dict, output: Path) -> None:
    """``diagonal.png`` and ``by_filter.png``, from the CIFAR records alone; accuracy and
    consistency carry ±1 standard error over the test images (bands / bars), filter TV none (it
    is not sampled)."""
    import matplotlib

    matplotlib.use("Agg")

    units = _cifar_units(settings, rec.Records(results["records"]))
    models = [m for m in settings["models"] if any(u[0] == m for u in units)]
    if not models:
        return
    diagonal = [m for m in models if any(u[0] == m and _diagonal(u[2])[0] for u in units)]
    if diagonal:  # no empty plot: a run without the diagonal sweep draws no diagonal.png
        _plot_diagonal(diagonal, units, output)
    _plot_by_filter(models, units, output)


def _plot_diagonal(models, units, output: Path) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(
        1, len(models), figsize=(5 * len(models) + 1.6, 3.6), squeeze=False, layout="constrained"
    )
    for ax, name in zip(axes[0], models, strict=True):
        for model, variant, unit in units:
            shifts, accuracy = _diagonal(unit)
            if model == name and shifts:
                band = 100 * plots.binomial_error(
                    accuracy, [unit[0].get("test_images")] * len(shifts)
                )
                line = ax.plot(shifts, np.array(accuracy) * 100, label=variant)[0]
                ax.fill_between(
                    shifts, 100 * np.array(accuracy) - band, 100 * np.array(accuracy) + band,
                    color=line.get_color(), alpha=0.15, lw=0,
                )  # fmt: skip
        ax.set_title(f"{name}: accuracy along a diagonal shift (±1 s.e.)", fontsize=9)
        ax.set_xlabel("shift (px, both axes)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("accuracy %")
        ax.grid(alpha=0.3)
    plots.legend_outside(axes[0][-1], fontsize=7)
    plots.save(fig, output / "diagonal.png", dpi=110)


def _plot_by_filter(models, units, output: Path) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8), layout="constrained")
    keys = [("accuracy", "accuracy %", 100), ("consistency", "consistency %", 100)]
    keys.append(("total_variation", "filter TV", 1))
    sizes_seen: set[int] = set()
    for ax, (key, label, scale) in zip(axes, keys, strict=True):
        for name in models:
            mine = [(v, unit) for m, v, unit in units if m == name]
            blur = [(v, u) for v, u in mine if v.startswith("blur-") and not _circular(v)]
            sizes = [int(v.split("-")[1]) for v, _ in blur]
            sizes_seen.update(sizes)
            values = np.array([u.value(column=key) for _, u in blur], float)
            sampled = key != "total_variation"
            errors = (
                plots.binomial_error(values, [u[0].get("test_images") for _, u in blur])
                if sampled
                else None
            )
            line = ax.errorbar(
                sizes, scale * values, yerr=None if errors is None else scale * errors,
                fmt="o-", capsize=3, label=name,
            )  # fmt: skip
            for v, u in mine:
                if v.startswith("aps") and not _circular(v):
                    ax.axhline(
                        scale * u.value(column=key), ls="--", lw=1, color=line.lines[0].get_color()
                    )
        ax.set_xticks(sorted(sizes_seen))  # filter sizes are integers
        ax.ticklabel_format(axis="y", useOffset=False)  # values as they are, no "+1.86" offset
        ax.set_xlabel("blur filter size (1 = no blur); dashed: APS")
        ax.set_ylabel(label + ("" if key == "total_variation" else " (±1 s.e.)"))
        ax.grid(alpha=0.3)
    plots.legend_outside(axes[-1], fontsize=8)
    plots.save(fig, output / "by_filter.png", dpi=110)


class BlurPoolRunner(Runner):
    """Units: every CIFAR (model, variant), trained and measured; then every ``--model`` file,
    measured on the photos (unit ``imagenet LABEL``)."""

    recipe_outputs = GENERATED

    SETTINGS = SETTINGS

    def derive(self, spec: dict, settings: dict, options) -> dict:
        return derive_settings(settings, options)

    def units(self, spec: dict, settings: dict, options) -> list[Unit]:
        cifar = [
            Unit(f"{m} {v}", ("cifar", m, v))
            for m in settings["models"]
            for v in settings["variants"]
        ]
        photos = [
            Unit(f"imagenet {label}", ("imagenet", label, path))
            for label, path in settings["imagenet_models"].items()
        ]
        return cifar + photos

    def unit_key(self, record: dict) -> str:
        if record["table"] == "CIFAR-10":
            return f"{record['model']} {record['variant']}"
        return f"imagenet {record['model']}"

    def prepare(self, ctx) -> dict:
        return {}  # the CIFAR splits and the photos, loaded when a unit first needs them

    def _cifar(self, ctx):
        """``(splits, channel statistics, training configuration)``, loaded once."""
        settings, cache = ctx.settings, ctx.prepared
        if "cifar" not in cache:
            splits = cifar_runs.run_splits(ctx)
            # augment_shift: the training translations; max_shift is the measured shifts' range
            config = train_config(settings, ctx.verbose, max_shift=settings["augment_shift"])
            cache["cifar"] = (splits, cifar_runs.channel_stats(splits.x_train), config)
        return cache["cifar"]

    def measure(self, ctx, unit: Unit) -> list[dict]:
        if unit.value[0] == "cifar":
            return self._measure_cifar(ctx, *unit.value[1:])
        return self._measure_photos(ctx, *unit.value[1:])

    def _measure_cifar(self, ctx, name: str, variant: str) -> list[dict]:
        settings = ctx.settings
        splits, stats, config = self._cifar(ctx)
        ctx.say(f"{name} {variant}: training {settings['epochs']} epoch(s) ...")
        t0 = time.perf_counter()
        net, history = cifar_runs.train_or_load(
            build(name, variant, settings["width"], settings["weight_decay"], stats),
            ctx.output / "models" / f"{name}-{variant}.keras",
            splits.x_train, splits.y_train, splits.x_test, splits.y_test, config,
            ctx.output / "work" / f"{name}-{variant}",
        )  # fmt: skip
        train_s = round(time.perf_counter() - t0, 1)
        row = {
            **shift_metrics(net, splits.x_test, splits.y_test, settings),
            **filter_smoothness(net),
        }
        row["mean_diagonal_accuracy"] = float(np.mean(row["diagonal_accuracy"]))
        wall_s = round(time.perf_counter() - t0, 1)
        common = dict(
            table="CIFAR-10", row=f"{name} {variant}", dataset="cifar10",
            data_source=ctx.results.get("data_source"),
            model=name, variant=variant, params=int(net.count_params()), wall_s=wall_s,
            test_images=len(splits.x_test),
        )  # fmt: skip
        extras = {  # what the table does not show, kept with the network's records
            "accuracy": {
                "final_train_loss": (history or {}).get("loss", [None])[-1],
                "train_images": len(splits.x_train),
                "train_s": train_s,
            },
            "gaussian_smoothness": {"layer_smoothness": row["layers"]},
        }
        records = [
            ctx.record(
                column=metric,
                measured=row[metric],
                metric=metric,
                unit=UNIT_OF[metric],
                protocol=PROTOCOL_OF.get(metric),
                **common,
                **extras.get(metric, {}),
            )
            for metric, _, _, _ in CIFAR_COLUMNS
        ]
        for metric in ("diagonal_accuracy", "diagonal_true_probability"):
            records += [
                ctx.record(
                    column=metric,
                    measured=value,
                    metric=metric,
                    unit="fraction",
                    protocol=PROTOCOL_OF[metric],
                    shift=shift,
                    **common,
                )
                for shift, value in zip(row["diagonal_shift"], row[metric], strict=True)
            ]
        ctx.say(
            f"{name} {variant}: accuracy {100 * row['accuracy']:.1f} %, consistency "
            f"{100 * row['consistency']:.1f} %, TV {row['total_variation']:.3f} ({wall_s:.0f} s)"
        )
        return records

    def _measure_photos(self, ctx, label: str, path: str) -> list[dict]:
        from kerasinv.data.imagenet import load_photos
        from kerasinv.models.architectures import photo_size

        settings, options, cache = ctx.settings, ctx.options, ctx.prepared

        def photos_of(size):
            if size not in cache:
                cache[size] = load_photos(
                    settings["images"], resize=photo_size(size), limit=settings["limit"],
                    require_labels=True, label_file=options.get("labels"), seed=settings["seed"],
                )  # fmt: skip
            return cache[size]

        r = imagenet_row(
            ctx.spec, settings, label, Path(path), photos_of, options.get("preprocess"), ctx.say
        )
        return [
            ctx.record(
                table=ctx.spec["paper"].get("table"),
                row="/".join(r["paper_row"]) if r["paper_row"] else label,
                column=metric,
                metric=metric,
                unit="percent",
                protocol={"consistency": "shift"}.get(metric),
                measured=r[metric],
                paper=r["paper"][i] if r["paper"] else None,
                dataset="imagenet",
                images=settings["images"],
                model=label,
                wall_s=r["wall_s"],
                photos=r["photos"],
                network=r["paper_row"][0] if r["paper_row"] else None,
                filter=r["paper_row"][1] if r["paper_row"] else None,
                source=r["source"],
                preprocess=r["preprocess"],
                skipped_files=r["skipped_files"],
            )
            for i, metric in enumerate(("accuracy", "consistency"))
        ]

    def render(self, spec: dict, results: dict) -> str:
        return render_table(spec, results["settings"], results)

    def figures(self, spec: dict, results: dict, output: Path) -> None:
        plot(results["settings"], results, output)


RUNNER = BlurPoolRunner()
