"""Runner for ``azulay-onepixel``: one-pixel instability of ImageNet and CIFAR networks (docs/papers.md §2).

Each subject (a paper network with its weights, a user model, the shipped CIFAR-10 model, and the
anti-aliased twin of each) is measured by :func:`kerasinv.evaluation.evaluate` on every protocol:
P(top-1 change) and mean absolute change over 8 consecutive one-pixel diagonal steps, and top-1
accuracy of the first frame. Networks with an input of at most 64 px are measured on CIFAR-10 test
images, the others on the ``--images`` photos (resized to ``S · 256/224`` and centre-cropped).

Output folder (written atomically, ``results.json`` after every subject so a long run resumes):

- ``results.json``: settings, versions, one record per (subject, protocol, metric) with the
  subject's details, the subjects that could not be loaded and why;
- ``table.md``: the JMLR Table 1 layout (rows: metric and protocol; columns: networks), the paper's
  values under ours;
- ``p_top1_change.png``: P(top-1 change) per protocol and network, the paper's values as markers;
- ``per_image/<subject>.npz``: per-image top-1 classes, change flags and absolute changes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kerasinv.errors import ConfigError, DataNotFoundError, UnknownNameError
from kerasinv.io import atomic_path
from kerasinv.measure import PROTOCOLS
from kerasinv.recipes import subjects as subj
from kerasinv.recipes.engine import Runner, Unit
from kerasinv.recipes.options import option
from kerasinv.recipes.settings import SEED, Setting
from kerasinv.reporting import figures as plots
from kerasinv.reporting import records as rec

GENERATED = ("table.md", "p_top1_change.png", "per_image")
METRICS = {"p_top1_change": "P(top-1 change)", "mean_absolute_change": "MAC"}
CIFAR_MAX_SIZE = 64  # subjects with inputs up to this size are measured on CIFAR-10

#: The recipe finds its own data: CIFAR-10 only for CIFAR-size models (see preflight).
CIFAR = False

#: This recipe's options (besides the common ones).
OPTIONS = (
    option("images"),
    option("labels"),
    option("limit"),
    option("networks"),
    option("weights"),
    option("model"),
    option("protocols"),
    option("countermeasures"),
    option("background"),
    option("preprocess"),
    option("cifar_images"),
    option("batch_size", help="Frames per forward pass."),
)


#: every anti-aliasing method a twin can take (``kerasinv.antialias``'s grammar)
METHODS = (*(f"blur-{k}" for k in range(1, 8)), "aps", *(f"aps-{k}" for k in range(1, 8)))


def check_method(method: str) -> None:
    """Refuse a countermeasure ``antialias()`` would refuse, before any work, with the closest
    name (``blur3`` -> ``blur-3``)."""
    from kerasinv.antialias_spec import parse_antialias

    try:
        parse_antialias(method)
    except ValueError:
        raise UnknownNameError("countermeasure", method, METHODS) from None


def precheck(spec: dict, preset: dict, options: dict) -> None:
    """This recipe's checks before TensorFlow: --weights and --model parse, the ImageNet networks
    have photos, and a named --data-dir holds CIFAR-10 (without one the shipped model is measured
    on the embedded sample)."""
    from kerasinv.data.cifar import locate_cifar

    subj.parse_weights(options.get("weights"))
    subj.parse_models(options.get("model"))
    given = options.get("countermeasures")
    for method in spec.get("countermeasures", []) if given is None else given:
        check_method(method)
    networks = options.get("networks", preset.get("networks", spec["models"]))
    if networks and not options.get("images"):
        raise ConfigError(
            f"preset {options.get('preset') or spec.get('default_preset')!r} measures "
            f"{', '.join(networks)} on ImageNet photos: pass --images DIR (a folder or tar of "
            "photos), or --networks none to skip them"
        )
    if options.get("data_dir") is not None:  # a named place must hold CIFAR-10
        locate_cifar("cifar10", options["data_dir"], options.get("download", False))


#: What a run reads of the spec (see :mod:`kerasinv.recipes.settings`).
SETTINGS = (
    Setting("images", "str", home=None),
    Setting("photos", "int", home="", option="limit", positive=True),
    Setting("networks", "strs", home="", key="models", known="models", empty=True, noun="network"),
    Setting("protocols", "strs", home="", choices=PROTOCOLS, noun="protocol"),
    Setting("countermeasures", "strs", home="", empty=True),
    Setting("background", "str", home="", choices=("black", "mean"), noun="background"),
    Setting("cifar_model", "bool", home=""),
    Setting("cifar_data", "str", home="", choices=("cifar", "embedded")),
    Setting("cifar_images", "int", home="", minimum=2),
    SEED,
)


def _cifar_images(settings: dict, data_dir, download: bool):
    from kerasinv.data.cifar import load_cifar
    from kerasinv.data.samples import load_embedded_sample

    note = ""
    if settings["cifar_data"] == "embedded" and data_dir is None:
        splits = load_embedded_sample()
    elif data_dir is not None:  # the user named the data: that or an error, never a fall-back
        splits = load_cifar("cifar10", data_dir=data_dir, download=download)
    else:
        try:
            splits = load_cifar("cifar10", data_dir=data_dir, download=download)
        except DataNotFoundError:  # the sample's 1,000 real test images still make a measurement
            splits = load_embedded_sample()
            note = " (CIFAR-10 not found: pass --data-dir for the full test set)"
    splits = splits.subset(0, settings["cifar_images"], seed=settings["seed"])
    return splits.x_test, splits.y_test, f"CIFAR-10 test images: {splits.source}{note}"


def paper_values(spec: dict, network: str | None, protocol: str, metric: str) -> dict:
    """``{"keras": value, "pytorch": value}`` from the spec's Table 1 entries (missing: absent)."""
    entry = spec.get("paper", {}).get(network or "", {}).get(protocol, {})
    out = {}
    if f"{metric}_keras" in entry:
        out["keras"] = entry[f"{metric}_keras"]
    if metric in entry:
        out["pytorch"] = entry[metric]
    return out


def _paper_cell(found) -> str:
    """``keras / pytorch`` of the paper's values on a record (``""``: none published)."""
    ref = {}
    if found and found[0].paper is not None:
        ref["keras"] = found[0].paper
    if found and found[0].get("paper_pytorch") is not None:
        ref["pytorch"] = found[0].get("paper_pytorch")
    if not ref:
        return ""
    return " / ".join(str(ref[k]) if k in ref else "–" for k in ("keras", "pytorch"))


def _onepixel_rows(here, labels: list, protocols: list) -> list[list[str]]:
    """One row per metric and one-pixel protocol, each followed by the paper's where published."""
    rows = []
    for metric, metric_name in METRICS.items():
        for protocol in (p for p in protocols if p != "shift"):
            found = [here.where(model=label, protocol=protocol, metric=metric) for label in labels]
            rows.append(
                [f"{metric_name}, {protocol}"]
                + [f"{f[0].measured:.3f}" if f else "–" for f in found]
            )
            paper = [_paper_cell(f) for f in found]
            if any(paper):
                rows.append(["↳ paper (Keras / PyTorch)", *paper])
    return rows


def _data_block(here, settings: dict) -> str:
    """The table of one data source's records: networks as columns."""
    labels = here.distinct("model")
    first_of = {label: here.where(model=label)[0] for label in labels}
    headers = [""] + [
        label
        if first_of[label].get("variant") == subj.BASELINE or first_of[label].get("retrained")
        else label + " (drop-in)"
        for label in labels
    ]

    def cell(label, protocol, metric):
        value = here.value(model=label, protocol=protocol, metric=metric)
        return "–" if value is None else f"{value:.3f}"

    rows = _onepixel_rows(here, labels, settings["protocols"])
    if "shift" in settings["protocols"]:
        rows.append(
            ["consistency, shift"] + [cell(label, "shift", "consistency") for label in labels]
        )
    rows.append(
        ["top-1 accuracy (images as they are)"]
        + [cell(label, None, "accuracy") for label in labels]
    )
    first = settings["protocols"][0]
    rows.append(
        [f"top-1 accuracy ({first}, first frame)"]
        + [cell(label, first, "frame_accuracy") for label in labels]
    )
    rows.append(["images"] + [str(first_of[label].get("images")) for label in labels])
    return rec.markdown_table(headers, rows)


def render_table(spec: dict, settings: dict, results: dict) -> str:
    """Markdown in the shape of JMLR Table 1: one block per data source."""
    lines = [f"## {spec.get('title', spec['recipe'])}", ""]
    lines.append(
        f"Preset `{settings['preset']}`, background `{settings['background']}`, seed "
        f"{settings['seed']}. Columns are networks; under each of our rows, the paper's value "
        f"({spec.get('paper', {}).get('table', 'paper')}: Keras / PyTorch) where published. "
        "`+ blur-K` / `+ aps`: anti-aliased twin"
        " with the same weights (drop-in, not retrained) unless marked retrained."
    )
    records = rec.Records(results["records"])
    for data in records.distinct("dataset"):
        here = records.where(dataset=data)
        source = here[0].get("data_source") or data  # e.g. "CIFAR-10 test images: <where>"
        lines += ["", f"**{source}**", "", _data_block(here, settings)]
    notes = {}
    for r in rec.Records(results["records"]):
        for note in r.get("notes") or []:
            notes.setdefault(note, [])
            if r.model not in notes[note]:
                notes[note].append(r.model)
    if notes:
        lines += ["", "Notes:", ""]
        lines += [f"- {', '.join(models)}: {note}" for note, models in notes.items()]
    if results.get("unavailable"):
        lines += ["", "Not measured:", ""]
        by_reason: dict[str, list[str]] = {}
        for label, reason in results["unavailable"].items():
            by_reason.setdefault(reason, []).append(f"**{label}**")
        lines += [f"- {', '.join(labels)}: {reason}" for reason, labels in by_reason.items()]
    if settings["preset"] != "paper":
        lines += [
            "",
            "Reduced protocol (fewer images than the paper's 1,000): expect sampling error of "
            "about ±√(p(1−p)/n) on each P(top-1 change).",
        ]
    return "\n".join(lines) + "\n"


def plot(spec: dict, settings: dict, results: dict, path: Path) -> Path:
    """Grouped bars of P(top-1 change) with ±1 standard error over the photos: protocols on x, one
    bar per subject, the paper's (Keras) values as dashes; the legend beside the axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    protocols = [p for p in settings["protocols"] if p != "shift"]
    records = rec.Records(results["records"]).where(metric="p_top1_change")
    labels = records.distinct("model")
    fig, ax = plt.subplots(
        figsize=(max(6.0, 1.4 * len(protocols) + 0.4 * len(labels)) + 2.6, 4.2),
        layout="constrained",
    )
    width = 0.8 / max(1, len(labels))
    x = np.arange(len(protocols))
    top = 0.05
    for i, label in enumerate(labels):
        mine = records.where(model=label)
        found = [mine.where(protocol=p) for p in protocols]
        values = np.array([f[0].measured if f else np.nan for f in found], float)
        errors = plots.binomial_error(values, [f[0].get("images") if f else None for f in found])
        at = x - 0.4 + width * (i + 0.5)
        bars = ax.bar(at, values, width, yerr=errors, capsize=2, label=label)
        refs = np.array([np.nan if not f or f[0].paper is None else f[0].paper for f in found])
        top = np.nanmax([top, *(values + np.nan_to_num(errors)), *refs])  # bars, errors, paper
        if not np.all(np.isnan(refs)):
            ax.plot(
                at, refs, "_", markersize=14, markeredgewidth=2, label=f"{label}: paper (Keras)",
                color=bars.patches[0].get_facecolor(),
            )  # fmt: skip
    ax.set_xticks(x, protocols)
    ax.set_ylim(0, 1.1 * top)
    ax.set_ylabel("P(top-1 change), one-pixel step")
    ax.set_title(
        f"{spec['recipe']} ({settings['preset']}); error bars: ±1 s.e. over photos", fontsize=10
    )
    ax.grid(axis="y", alpha=0.3)
    plots.legend_outside(ax, fontsize=7)
    plots.save(fig, path, dpi=120)
    return path


class OnePixelRunner(Runner):
    """Units: the planned subjects (paper networks, user models, the shipped CIFAR-10 model, and
    each one's anti-aliased twins). A subject that cannot be loaded gives no records: it is noted
    in ``results["unavailable"]`` and tried again by the next run."""

    recipe_outputs = GENERATED

    SETTINGS = SETTINGS

    def derive(self, spec: dict, settings: dict, options) -> dict:
        weight_sources = subj.parse_weights(options.get("weights"))
        model_paths = subj.parse_models(options.get("model"))
        settings["weights"] = {f"{k[0]}:{k[1]}": v for k, v in sorted(weight_sources.items())}
        settings["models"] = {label: str(path) for label, path in model_paths}
        if settings["networks"] and not settings["images"]:
            raise ConfigError(
                f"the ImageNet networks ({', '.join(settings['networks'])}) need photos: pass "
                "--images DIR (a folder or tar of ImageNet photos), or --networks none to skip them"
            )
        subj.check_user_models(model_paths, options.get("preprocess", "auto"))
        return settings

    def units(self, spec: dict, settings: dict, options) -> list[Unit]:
        preprocess = options.get("preprocess", "auto")
        weight_sources = subj.parse_weights(options.get("weights"))
        model_paths = subj.parse_models(options.get("model"))
        planned = subj.plan(
            settings["networks"], weight_sources, model_paths, settings["countermeasures"],
            preprocess,
        )  # fmt: skip
        if settings["cifar_model"]:
            from kerasinv.models.shipped import SHIPPED_NAME, shipped_keras

            planned += subj.plan(
                [], {("*", subj.BASELINE): "imagenet"}, [(SHIPPED_NAME, shipped_keras())],
                settings["countermeasures"], "none",
            )  # fmt: skip
        return [Unit(item.label, item) for item in planned]

    def unit_key(self, record: dict) -> str:
        return record["model"]

    def prepare(self, ctx) -> dict:
        ctx.results["unavailable"] = {}  # why a subject could not be measured, this time
        return {}  # the images of each input size, loaded when first needed

    def _images(self, ctx, size: int):
        """``(x, y, skipped files, labels_from, folder classes, data description)`` for models of
        input ``size``, or ``None`` (photos needed but not given)."""
        settings, options, cache = ctx.settings, ctx.options, ctx.prepared
        if size <= CIFAR_MAX_SIZE:
            if "cifar" not in cache:
                x, y, data = _cifar_images(
                    settings, options.get("data_dir"), options.get("download", False)
                )
                # CIFAR labels are the CIFAR model's own class indices
                cache["cifar"] = (x, y, [], "file", (), data)
            return cache["cifar"]
        images = options.get("images")
        if not images:
            return None
        if size not in cache:
            from kerasinv.data.imagenet import load_photos
            from kerasinv.models.architectures import photo_size

            photos = load_photos(
                images, resize=photo_size(size), limit=settings["photos"], require_labels=False,
                label_file=options.get("labels"), seed=settings["seed"],
            )  # fmt: skip
            skipped = photos.skipped
            data = f"ImageNet photos from {images}" + (
                f" ({len(skipped)} unreadable skipped)" if skipped else ""
            )
            cache[size] = (
                photos.images, photos.labels, skipped, photos.labels_from or "imagenet",
                photos.classes, data,
            )  # fmt: skip
        return cache[size]

    def measure(self, ctx, unit: Unit) -> list[dict]:
        from kerasinv.evaluation import evaluate

        settings, spec = ctx.settings, ctx.spec
        s = unit.value.load(ctx.say)
        if isinstance(s, subj.Unavailable):
            ctx.results["unavailable"][s.label] = s.reason
            return []
        size = s.model.input_size
        found = self._images(ctx, size)
        if found is None:
            ctx.results["unavailable"][s.label] = f"input {size}x{size}: needs --images"
            return []
        x, y, skipped, labels_from, folder_classes, data = found
        ctx.say(f"{s.label}: {len(x)} images at {size}x{size} ...")
        result = evaluate(
            s.model, x, y,  # evaluate() reports accuracy only when the labels fit the model's
            settings["protocols"], batch_size=ctx.options.get("batch_size") or 16,
            background=settings["background"], seed=settings["seed"],
            progress=ctx.say,  # under the model's name, as its bars
            labels_from=labels_from, folder_classes=folder_classes,
        )  # fmt: skip
        with atomic_path(ctx.output / "per_image" / f"{s.label}.npz", suffix=".npz") as tmp:
            np.savez_compressed(tmp, **result["per_image"])
        subject = {
            "network": s.network, "variant": s.variant, "retrained": s.retrained,
            "weights": s.weights, "source": s.model.source, "preprocess": s.model.preprocess,
            "input_size": size, "skipped_files": len(skipped), "notes": s.model.notes,
        }  # fmt: skip
        measured = [  # (metric, protocol, value, images, seconds, table row)
            (metric, protocol, row[metric], row["images"], row["seconds"], f"{metric}, {protocol}")
            for protocol, row in result["summary"].items()
            for metric in (*METRICS, "consistency", "frame_accuracy")
            if metric in row
        ]
        clean = result["clean"]
        if clean:  # the accuracy on the images as they are, beside the frames'
            measured.append(
                ("accuracy", None, clean["accuracy"], clean["labelled"], None, "accuracy")
            )
        records = []
        for metric, protocol, value, images, seconds, row_label in measured:
            ref = (
                paper_values(spec, s.network, protocol, metric)
                if s.variant == subj.BASELINE and protocol is not None
                else {}
            )
            records.append(
                ctx.record(
                    table=spec.get("paper", {}).get("table") if ref else None,
                    row=row_label, column=s.label, measured=value, paper=ref.get("keras"),
                    paper_pytorch=ref.get("pytorch"),
                    dataset="cifar10" if size <= CIFAR_MAX_SIZE else "imagenet",
                    data_source=data, model=s.label, images=images, wall_s=seconds,
                    protocol=protocol, metric=metric, unit="fraction", **subject,
                )
            )  # fmt: skip
        return records

    def measure_all(self, ctx, units: list[Unit], emit) -> None:
        super().measure_all(ctx, units, emit)
        if not ctx.results["records"]:
            raise DataNotFoundError(
                "nothing could be measured:\n"
                + "\n".join(f"  {k}: {v}" for k, v in ctx.results["unavailable"].items())
            )

    def render(self, spec: dict, results: dict) -> str:
        return render_table(spec, results["settings"], results)

    def figures(self, spec: dict, results: dict, output: Path) -> None:
        plot(spec, results["settings"], results, output / "p_top1_change.png")


RUNNER = OnePixelRunner()
