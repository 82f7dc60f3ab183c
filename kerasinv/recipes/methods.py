"""Runner for ``shift-methods``: every shift-invariance method trained the same way on the same CIFAR
network, and measured under every kind of shift (docs/papers.md §3, §5, §6).

Units: every (model, method, padding, training seed). Each network is built by
:func:`kerasinv.recipes.cifar_runs.builder` (methods ``baseline`` = the stock strided layers,
``blur-K`` = BlurPool, ``aps[-K]``, ``lps[-K]``; padding ``zero`` or ``circular`` in every conv,
pool window and blur), trained with one configuration, then measured on the same test images
with the same shift draws (``seed``), so every comparison is paired:

- ``accuracy``: the test images as they are;
- ``consistency``: Zhang's two random crop shifts of the padded image (ordinary shifts);
- ``circular_consistency`` / ``half_pixel_consistency``: two random circular shifts on the
  integer / half-pixel grid (band-limited, :func:`kerasinv.perturb.fourier.fourier_shift`);
- ``worst_shift_accuracy`` / ``worst_half_pixel_accuracy``: AFC's accuracy under the worst
  circular shift of the grid ``-reach .. reach`` (integer / half-pixel steps).

Each record carries its sampling error over the test images (``standard_error``); the table gives
the mean over the training seeds with the standard error across them (one seed: the sampling
error), and the published numbers of other networks from the spec's ``[[published]]`` tables,
for direction only.

Output folder (atomic writes; ``results.json`` after each network, so a long run resumes):
``results.json``, ``table.md``, ``methods.png``, ``models/*.keras``, ``work/`` (checkpoints).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from kerasinv.errors import ConfigError
from kerasinv.recipes import cifar_runs
from kerasinv.recipes.engine import Runner, Unit, train_config
from kerasinv.recipes.options import CIFAR_TRAINING, option
from kerasinv.recipes.settings import CIFAR_PROTOCOL, CIFAR_RUN, DATA, SEED, SHIFT_PAIRS, Setting
from kerasinv.reporting import records as rec

#: This recipe's options (besides the common ones).
OPTIONS = (
    option("models", help="Comma-separated subset of the CIFAR networks (all-cnn-c, vgg13-cifar)."),
    option("methods"),
    option("paddings"),
    option("seeds"),
    *map(option, CIFAR_TRAINING),
    option(
        "augment",
        help="Train with flips and translations up to 4 px (off: the architecture's own "
        "invariance is measured).",
    ),
    option("trials"),
    option("precision"),
)

GENERATED = ("table.md", "methods.png", "models", "work")
PADDINGS = ("zero", "circular")
#: the method that keeps the network's own strided layers
BASELINE = "baseline"

#: What a run reads of the spec (see :mod:`kerasinv.recipes.settings`).
SETTINGS = (
    DATA,
    Setting("models", "strs", home="", known="models", noun="model", selects=True),
    Setting("methods", "strs", home="", known="methods", noun="method", selects=True),
    Setting("paddings", "strs", home="", choices=PADDINGS, noun="padding", selects=True),
    Setting("seeds", "ints", home="", minimum=0, noun="seed", selects=True),
    *CIFAR_RUN[1:],
    *CIFAR_PROTOCOL,
    *SHIFT_PAIRS,
    Setting("worst_reach", "int", home="evaluation", positive=True),
    SEED,
)

#: the measured columns: (metric, header, the shifts it is measured under)
COLUMNS = (
    ("accuracy", "Accuracy", None),
    ("consistency", "Shift cons.", "shift"),
    ("circular_consistency", "Circular cons.", "circular shift"),
    ("half_pixel_consistency", "Half-pixel cons.", "half-pixel circular shift"),
    ("worst_shift_accuracy", "Worst-shift acc.", "worst circular shift"),
    ("worst_half_pixel_accuracy", "Worst half-pixel acc.", "worst half-pixel circular shift"),
)
#: half-pixel shifts: pixels per step of the grid
HALF_PIXEL = 0.5


def antialias_of(method: str) -> str | None:
    """The builders' ``antialias`` of a method name (``baseline``: ``None``)."""
    return None if method == BASELINE else method


def derive_settings(settings: dict) -> dict:
    """The drops in :mod:`kerasinv.training`'s 350-epoch convention; every method checked and the
    seeds without repeats."""
    from kerasinv.layers.antialias import parse_antialias

    for method in settings["methods"]:
        if method != BASELINE:
            try:
                parse_antialias(method)
            except ValueError as e:
                raise ConfigError(f"method {method!r}: {e}") from None
    for key in ("methods", "paddings", "seeds", "models"):
        if len(set(settings[key])) != len(settings[key]):
            raise ConfigError(f"{key} {settings[key]}: each may be named only once")
    out = cifar_runs.protocol(settings)
    return out


def unit_key(model: str, method: str, padding: str, seed: int) -> str:
    return f"{model} {method} {padding} seed {seed}"


def sampling_error(per_image: np.ndarray) -> float:
    """The standard error of a mean over the test images of per-image values ``[N]`` (agreement
    averaged over passes, or 0/1 correctness)."""
    per_image = np.asarray(per_image, np.float64)
    return float(per_image.std(ddof=1) / np.sqrt(len(per_image))) if len(per_image) > 1 else 0.0


def shift_measurements(model, x: np.ndarray, y: np.ndarray, settings: dict) -> dict:
    """``{metric: (value, standard error)}`` of :data:`COLUMNS` for ``model`` on test images ``x``
    (``uint8 [N, S, S, 3]``) with labels ``y``: every pair and grid from :mod:`kerasinv.measure`,
    drawn with the run's ``seed`` (the same draws for every network)."""
    from kerasinv import measure

    m, size = settings["max_shift"], x.shape[1]
    trials, seed, reach = settings["trials"], settings["seed"], settings["worst_reach"]
    x = np.asarray(x, np.float32)
    padded = cifar_runs.padded_for_shifts(x, settings)
    predict = measure.keras_predictor(model)
    batch = 500
    correct = measure.predict_batched(predict, x, batch).argmax(-1) == y
    pairs = {
        "consistency": measure.shift_pairs(predict, padded, size, trials, seed, batch),
        "circular_consistency": measure.subpixel_shift_pairs(
            predict, x, 1.0, 2 * m, trials, seed, batch
        ),
        "half_pixel_consistency": measure.subpixel_shift_pairs(
            predict, x, HALF_PIXEL, 2 * m, trials, seed, batch
        ),
    }
    out = {"accuracy": (float(correct.mean()), sampling_error(correct))}
    for metric, found in pairs.items():
        agree = found.agree.mean(0)  # per image, over the passes
        out[metric] = (found.consistency, sampling_error(agree))
    for metric, step in (("worst_shift_accuracy", 1.0), ("worst_half_pixel_accuracy", HALF_PIXEL)):
        grid = measure.shift_grid(predict, x, step, reach, batch)
        every = np.all(grid.top1 == y[:, None], axis=1)
        out[metric] = (grid.worst_accuracy(y), sampling_error(every))
    return out


class MethodsRunner(Runner):
    """Units: every (model, method, padding, seed), trained and measured."""

    recipe_outputs = GENERATED
    SETTINGS = SETTINGS

    def derive(self, spec: dict, settings: dict, options) -> dict:
        return derive_settings(settings)

    def units(self, spec: dict, settings: dict, options) -> list[Unit]:
        return [
            Unit(unit_key(m, a, p, s), (m, a, p, s))
            for m in settings["models"]
            for a in settings["methods"]
            for p in settings["paddings"]
            for s in settings["seeds"]
        ]

    def unit_key(self, record: dict) -> str:
        return unit_key(
            record["model"], record["method"], record["padding"], record["training_seed"]
        )

    def prepare(self, ctx):
        """The splits and their channel statistics, loaded once."""
        splits = cifar_runs.run_splits(ctx)
        return splits, cifar_runs.channel_stats(splits.x_train)

    def measure(self, ctx, unit: Unit) -> list[dict]:
        model_name, method, padding, seed = unit.value
        settings = ctx.settings
        splits, stats = ctx.prepared
        config = train_config(settings, ctx.verbose, max_shift=settings["augment_shift"], seed=seed)
        name = f"{model_name}-{method}-{padding}-seed{seed}"
        ctx.say(f"{unit}: training {settings['epochs']} epoch(s) ...")
        t0 = time.perf_counter()
        build = cifar_runs.builder(
            model_name, antialias_of(method), padding, settings["width"],
            settings["weight_decay"], stats,
        )  # fmt: skip
        net, history = cifar_runs.train_or_load(
            build, ctx.output / "models" / f"{name}.keras", splits.x_train, splits.y_train,
            splits.x_test, splits.y_test, config, ctx.output / "work" / name,
        )  # fmt: skip
        train_s = round(time.perf_counter() - t0, 1)
        ctx.say(f"{unit}: measuring on {len(splits.x_test):,} test images ...")
        found = shift_measurements(net, splits.x_test, np.asarray(splits.y_test), settings)
        wall_s = round(time.perf_counter() - t0, 1)
        common = dict(
            table="CIFAR-10", row=f"{model_name} {method} {padding}", dataset="cifar10",
            data_source=ctx.results.get("data_source"), model=model_name, method=method,
            padding=padding, training_seed=seed, params=int(net.count_params()),
            test_images=len(splits.x_test), wall_s=wall_s,
        )  # fmt: skip
        records = []
        for metric, _, protocol in COLUMNS:
            value, error = found[metric]
            extra = {}
            if metric == "accuracy":
                loss = (history or {}).get("loss", [None])[-1]
                extra = {"final_train_loss": loss, "train_images": len(splits.x_train)}
                extra["train_s"] = train_s
            fields = dict(column=metric, measured=value, standard_error=error, metric=metric)
            records.append(
                ctx.record(**fields, unit="fraction", protocol=protocol, **common, **extra)
            )
        summary = ", ".join(
            f"{header.lower()} {100 * found[metric][0]:.1f} %" for metric, header, _ in COLUMNS
        )
        ctx.say(f"{unit}: {summary} ({wall_s:.0f} s)")
        return records

    def render(self, spec: dict, results: dict) -> str:
        return render_table(spec, results)

    def figures(self, spec: dict, results: dict, output: Path) -> None:
        plot(results, output)


def summarise(records, metric: str) -> tuple[float, float, int]:
    """``(mean, standard error, seeds)`` of ``metric`` over the training seeds of one row's
    ``records``: the standard error across seeds when there are several (it holds both the
    training's and the test sample's spread), else the one run's sampling error."""
    found = records.where(column=metric)
    values = np.array([r.measured for r in found], np.float64)
    if len(values) > 1:
        return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values))), len(values)
    return float(values[0]), float(found[0].get("standard_error") or 0.0), 1


def rows_of(settings: dict, records) -> list[tuple[str, str, str, object]]:
    """``(model, method, padding, its records)`` of every measured row, in the settings' order."""
    out = []
    for model in settings["models"]:
        for method in settings["methods"]:
            for padding in settings["paddings"]:
                found = records.where(model=model, method=method, padding=padding)
                if len(found):
                    out.append((model, method, padding, found))
    return out


def _cell(mean: float, error: float) -> str:
    return f"{100 * mean:.2f} ± {100 * error:.2f}"


def render_table(spec: dict, results: dict) -> str:
    """``table.md`` from the records alone: the mean table, every seed, the published numbers."""
    settings = results["settings"]
    records = rec.Records(results["records"])
    rows = rows_of(settings, records)
    lines = [f"## {spec.get('title', spec['recipe'])}", ""]
    if not rows:
        return "\n".join(lines) + "\n"
    m = settings["max_shift"]
    tested = sorted({r.get("test_images") for r in records})
    lines.append(
        f"CIFAR-10 ({results.get('data_source', '')}), {', '.join(map(str, tested))} test images. "
        f"Preset `{settings['preset']}`: width {settings['width']:g}, {settings['epochs']} "
        f"epoch(s), {'flips + shifts' if settings['augment'] else 'no augmentation'}, the same "
        f"training for every method; training seeds {', '.join(map(str, settings['seeds']))}; "
        f"shift draws and data subset seed {settings['seed']} (the same for every network)."
    )
    lines += [
        "",
        f"All values in %. Shift cons.: two random crops of the image padded by {m} px "
        f"({settings['padding']}), {settings['trials']} pass(es). Circular / half-pixel cons.: two "
        f"random circular shifts of 0 .. {2 * m - 1} px in integer steps / 0 .. "
        f"{2 * m - 0.5:g} px in half-pixel steps (band-limited Fourier shift). Worst-shift acc.: "
        "an image counts only if it is classified correctly under every circular shift of "
        f"-{settings['worst_reach']} .. "
        f"{settings['worst_reach']} px (integer / half-pixel steps) and unshifted (AFC). ± is the "
        "standard error across the training seeds (with one seed: the sampling error over the "
        "test images).",
        "",
    ]
    headers = ["Model", "Method", "Padding", "Seeds", *(h for _, h, _ in COLUMNS)]
    table = []
    for model, method, padding, found in rows:
        cells = [summarise(found, metric) for metric, _, _ in COLUMNS]
        table.append([model, method, padding, cells[0][2], *(_cell(v, e) for v, e, _ in cells)])
    lines.append(rec.markdown_table(headers, table))
    guarantees = guarantee_lines(rows)
    if guarantees:
        lines += ["", *guarantees]
    if any(len(found.where(column="accuracy")) > 1 for *_, found in rows):
        lines += ["", "Every seed (± sampling error over the test images):", ""]
        per_seed = []
        for model, method, padding, found in rows:
            for r0 in found.where(column="accuracy"):
                seed = r0.get("training_seed")
                one = found.where(training_seed=seed)
                per_seed.append([
                    model, method, padding, seed,
                    *(_cell(r.measured, r.get("standard_error")) for r in (
                        one.where(column=metric)[0] for metric, _, _ in COLUMNS
                    )),
                ])  # fmt: skip
        lines.append(
            rec.markdown_table(["Model", "Method", "Padding", "Seed", *headers[4:]], per_seed)
        )
    lines += ["", *published_table(spec)]
    if settings["preset"] != "paper":
        lines += [
            "",
            "Reduced protocol (few epochs, narrow networks, a subset of the data): compare the "
            "methods with each other, not with the published numbers.",
        ]
    return "\n".join(lines) + "\n"


def guarantee_lines(rows) -> list[str]:
    """What the records say of the polyphase guarantee (100 % circular consistency with circular
    padding), for every APS / LPS row with circular padding."""
    lines = []
    for model, method, padding, found in rows:
        if padding == "circular" and method.split("-")[0] in ("aps", "lps"):
            values = [r.measured for r in found.where(column="circular_consistency")]
            held = all(v == 1.0 for v in values)
            lines.append(
                f"- {model} {method} circular: circular consistency "
                f"{'100 % in every seed (the guarantee holds)' if held else 'below 100 %: the guarantee FAILED'}"
                f" ({len(values)} seed(s))."
            )
    return lines


def published_table(spec: dict) -> list[str]:
    """The spec's ``[[published]]`` numbers (other networks and data: for direction only)."""
    published = spec.get("published", [])
    if not published:
        return []
    methods = list(dict.fromkeys(k for p in published for k in p.get("values", {})))
    rows = [
        [p["source"], p["setting"], p["metric"], *(p["values"].get(k, "–") for k in methods)]
        for p in published
    ]
    notes = [f"- {p['source']}: {p['note']}" for p in published if p.get("note")]
    return [
        "Published numbers (%), other networks and data: they show the direction the methods "
        "should take, not values to match.",
        "",
        rec.markdown_table(["Source", "Setting", "Metric", *methods], rows),
        *(["", *notes] if notes else []),
    ]


def plot(results: dict, output: Path) -> None:
    """``methods.png``: one panel per column (two rows of three per model), a bar per method and
    padding, ± the table's error."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kerasinv.reporting import figures as plots

    settings = results["settings"]
    rows = rows_of(settings, rec.Records(results["records"]))
    if not rows:
        return
    models = list(dict.fromkeys(r[0] for r in rows))
    per_row = 3  # the columns of one model on two rows of panels
    lines = -(-len(COLUMNS) // per_row)
    fig, axes = plt.subplots(
        lines * len(models), per_row, figsize=(4.2 * per_row + 1.5, 3.0 * lines * len(models)),
        squeeze=False, layout="constrained",
    )  # fmt: skip
    methods = [m for m in settings["methods"] if any(r[1] == m for r in rows)]
    paddings = [p for p in settings["paddings"] if any(r[2] == p for r in rows)]
    width = 0.8 / len(paddings)
    for i, model in enumerate(models):
        for j, (metric, header, _) in enumerate(COLUMNS):
            ax = axes[i * lines + j // per_row][j % per_row]
            for k, padding in enumerate(paddings):
                xs, ys, es = [], [], []
                for x, method in enumerate(methods):
                    found = [r[3] for r in rows if r[:3] == (model, method, padding)]
                    if found:
                        mean, error, _ = summarise(found[0], metric)
                        xs.append(x + (k - (len(paddings) - 1) / 2) * width)
                        ys.append(100 * mean)
                        es.append(100 * error)
                ax.bar(xs, ys, width, yerr=es, capsize=2, label=f"{padding} padding")
            ax.set_xticks(range(len(methods)), methods, rotation=45, ha="right", fontsize=8)
            ax.set_title(f"{model}: {header.lower()} %", fontsize=9)
            low = min((100 * summarise(r[3], metric)[0] for r in rows if r[0] == model), default=0)
            ax.set_ylim(max(0.0, low - 10), 100.5)
            ax.grid(axis="y", alpha=0.3)
    plots.legend_outside(axes[0][-1], fontsize=8)
    fig.suptitle(
        "mean over the training seeds, ± the standard error across them (one seed: the sampling "
        "error)", fontsize=9,
    )  # fmt: skip
    plots.save(fig, output / "methods.png", dpi=110)


RUNNER = MethodsRunner()

__all__ = ["COLUMNS", "OPTIONS", "RUNNER", "SETTINGS", "shift_measurements"]
