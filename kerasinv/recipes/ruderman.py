"""Runner for ``ruderman-deformation``: layerwise deformation sensitivity of networks that differ only
in their downsampling, at initialisation, after training, and after training on random labels
(docs/papers.md §4; the paper's own protocol is unverified, this follows the proposal recorded there).

For every network and state the runner measures, on the same probe images and the same deformations:
the per-layer normalised sensitivity (:func:`kerasinv.measure.layerwise_sensitivity`) at each strength
C, the filters' smoothness (:func:`kerasinv.measure.layer_smoothness`) and the test accuracy.

Output folder: ``results.json`` (the records of every network and state), ``table.md``,
``sensitivity_by_layer.png``, ``sensitivity_by_strength.png``, ``smoothness_vs_sensitivity.png``,
``models/*.keras`` (trained networks), ``work/`` while training.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from kerasinv import models as registry
from kerasinv.lazy import lazy_import
from kerasinv.recipes import cifar_runs
from kerasinv.recipes.engine import Runner, Unit, train_config
from kerasinv.recipes.options import CIFAR_TRAINING, option
from kerasinv.recipes.settings import (
    BATCH_SIZE,
    CIFAR_RUN,
    DATA,
    DROPS,
    LEARNING_RATE,
    MOMENTUM,
    PRECISION,
    SEED,
    Setting,
)
from kerasinv.reporting import figures as plots
from kerasinv.reporting import records as rec

training = lazy_import("kerasinv.training")  # TensorFlow only when a run starts

#: This recipe's options (besides the common ones).
OPTIONS = (
    option("models", help="Comma-separated subset of the six networks (see the spec)."),
    *map(option, CIFAR_TRAINING),
    option("strengths"),
    option("probe_images"),
    option("precision"),
)

GENERATED = (
    "table.md",
    "sensitivity_by_layer.png",
    "sensitivity_by_strength.png",
    "smoothness_vs_sensitivity.png",
    "models",
    "work",
)
STATES = ("init", "trained", "random-labels")


#: :data:`kerasinv.perturb.BORDERS`, spelled out so that the CLI reads the settings without
#: TensorFlow (a test keeps the two equal)
BORDERS = ("constant", "edge", "reflect", "symmetric")

#: What a run reads of the spec (see :mod:`kerasinv.recipes.settings`).
SETTINGS = (
    DATA,
    Setting("models", "strs", home="", known="models", noun="model"),
    *CIFAR_RUN[1:],
    LEARNING_RATE,
    MOMENTUM,
    BATCH_SIZE,
    DROPS,
    PRECISION,
    Setting("strengths", "floats", home="deformation", minimum=0),
    Setting("reference_strength", "float", home="deformation", minimum=0),
    Setting("grid", "int", home="deformation", positive=True),
    Setting("border", "str", home="deformation", choices=BORDERS, noun="border"),
    Setting("pairs", "int", home="deformation", positive=True),
    Setting("probe_images", "int", home="", minimum=4),
    SEED,
)


def derive_settings(settings: dict) -> dict:
    """The run's settings from the resolved ones: the reference strength (of the per-layer table
    and the smoothness scatter) is the measured strength nearest the spec's."""
    chosen, reference = settings["strengths"], settings["reference_strength"]
    if reference not in chosen:
        reference = min(chosen, key=lambda c: abs(c - reference))
    return {**settings, "reference_strength": reference}


def deformed_probes(x: np.ndarray, settings: dict) -> dict[float, np.ndarray]:
    """``{C: deformed probe images}``: one fixed random deformation per image and strength."""
    import tensorflow as tf

    from kerasinv.perturb import random_deformation

    images = tf.constant(x, tf.float32)
    out = {}
    for i, c in enumerate(settings["strengths"]):
        seed = tf.constant([settings["seed"], 7919 + i], tf.int64)
        moved, _ = random_deformation(
            images, c, seed, grid=settings["grid"], border=settings["border"]
        )
        out[c] = moved.numpy()
    return out


def measure_network(
    model, probes: np.ndarray, deformed: dict, x_test, y_test, settings: dict
) -> dict:
    """Sensitivity per strength and layer, smoothness per conv layer, test accuracy."""
    from kerasinv import measure, metrics

    layers = registry.probe_layers(model)
    probe = measure.representation_model(model, layers)
    clean = measure.representations(probe, probes)  # once for every strength
    sensitivity, standard_error = {}, {}
    for c, moved in deformed.items():
        moved_reps = measure.representations(probe, moved)
        per_image = {
            name: metrics.deformation_sensitivity(
                clean[name], moved_reps[name], settings["pairs"], settings["seed"]
            )
            for name in layers
        }
        sensitivity[str(c)] = {name: float(v.mean()) for name, v in per_image.items()}
        standard_error[str(c)] = {  # of the mean over the probe images
            name: float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else None
            for name, v in per_image.items()
        }
    smooth = measure.layer_smoothness(model)
    probs = cifar_runs.predict(model, x_test)
    return {
        "layers": layers,
        "sensitivity": sensitivity,
        "sensitivity_standard_error": standard_error,
        "smoothness": smooth,
        "accuracy": metrics.accuracy(probs, y_test),
    }


def _conv_of(stage: str, smooth: dict) -> str | None:
    """The conv layer feeding probe ``stage{i}`` (``conv{i}`` or the strided conv ``stage{i}``)."""
    i = stage.removeprefix("stage")
    for name in (f"conv{i}", f"stage{i}"):
        if name in smooth:
            return name
    return None


def _units(settings: dict, records) -> list[tuple[str, str, object]]:
    """``(model, state, its records)`` for every measured network, in the settings' order."""
    units = {(r.model, r.get("state")) for r in records}
    order = sorted(units, key=lambda u: (settings["models"].index(u[0]), STATES.index(u[1])))
    return [(m, s, records.where(model=m, state=s)) for m, s in order]


def _sensitivity(unit_records, layer: str, c) -> float | None:
    return unit_records.value(column=f"sensitivity {layer} C={c}")


def _sensitivity_error(unit_records, layer: str, c) -> float:
    """The standard error of :func:`_sensitivity` over the probe images (NaN if not recorded)."""
    found = unit_records.where(column=f"sensitivity {layer} C={c}")
    value = found[0].get("standard_error") if found else None
    return np.nan if value is None else value


def _smoothness(unit_records) -> dict[str, float]:
    """``{conv layer: Gaussian-smoothing ratio}`` of one network."""
    return {r.get("layer"): r.measured for r in unit_records.where(metric="gaussian_smoothness")}


def render_table(spec: dict, settings: dict, results: dict) -> str:
    """The table, from the records alone."""
    c = str(settings["reference_strength"])
    lines = [
        f"## {spec.get('title', spec['recipe'])}",
        "",
        f"{results.get('data_source', '')}. Preset `{settings['preset']}`: width {settings['width']:g}, "
        f"{settings['epochs']} epoch(s), {settings['probe_images']} probe images, thin-plate "
        f"deformations on a {settings['grid']}x{settings['grid']} grid. Cells: mean normalised "
        f"sensitivity at C = {c} px (0 = unchanged, 1 = as different as another image). "
        "Smoothness: mean Gaussian-smoothing ratio ‖G*W‖/‖W‖ of the conv filters (1 = smooth). "
        "The paper's protocol and numbers are unverified (docs/papers.md §4): this is the proposal "
        "recorded there, with no published values to compare.",
        "",
    ]
    layers = registry.probe_layers()
    headers = ["Network", "State", *layers, "Smoothness", "Accuracy %"]
    rows = []
    for model, state, unit in _units(settings, rec.Records(results["records"])):
        smooth = list(_smoothness(unit).values())
        accuracy = unit.value(column="accuracy")
        rows.append(
            [model.removeprefix("downsampling-"), state]
            + [_sensitivity(unit, name, c) for name in layers]
            + [
                float(np.mean(smooth)) if smooth else None,
                None if accuracy is None else f"{100 * accuracy:.1f}",
            ]
        )
    lines.append(rec.markdown_table(headers, rows, digits=3))
    if settings["preset"] != "paper":
        lines += [
            "",
            "Reduced protocol (few epochs, a subset of the data): the random-label networks are far "
            "from memorising their labels, so their column shows the early effect of label noise.",
        ]
    return "\n".join(lines) + "\n"


def _by_state_figure(states: list, draw, title, path: Path, xlabel: str | None = None) -> None:
    """One panel per network state: ``draw(ax, state)`` draws it, ``title(state)`` names it."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, len(states), figsize=(4.6 * len(states) + 1.4, 3.6), squeeze=False, layout="constrained"
    )
    for ax, state in zip(axes[0], states, strict=True):
        draw(ax, state)
        ax.set_title(title(state), fontsize=9)
        if xlabel:
            ax.set_xlabel(xlabel)
        ax.set_ylabel("normalised sensitivity")
        ax.grid(alpha=0.3)
    plots.legend_outside(axes[0][-1], fontsize=7)
    plots.save(fig, path, dpi=110)


def _smoothness_scatter(units: list, models: list, c: str, layers, path: Path) -> None:
    """Each conv's filter smoothness against its stage's sensitivity, every network and state."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.0, 4.2), layout="constrained")
    markers = dict(zip(models, "osd^vP", strict=False))
    colours = {"init": "#999999", "trained": "#4477aa", "random-labels": "#cc6677"}
    for model, state, unit in units:
        smooth = _smoothness(unit)
        for stage in layers[:-1]:
            conv = _conv_of(stage, smooth)
            if conv is None:
                continue
            ax.scatter(
                smooth[conv],
                _sensitivity(unit, stage, c),
                marker=markers.get(model, "o"),
                color=colours[state],
                s=22,
            )
    for state, colour in colours.items():
        ax.scatter([], [], color=colour, label=state)
    for model, marker in markers.items():
        ax.scatter([], [], marker=marker, color="k", label=model[13:])
    ax.set_xlabel("filter smoothness ‖G*W‖/‖W‖ (conv feeding the stage)")
    ax.set_ylabel(f"sensitivity of the stage at C = {c} px")
    plots.legend_outside(ax, fontsize=7)
    ax.grid(alpha=0.3)
    plots.save(fig, path, dpi=110)


def plot(settings: dict, results: dict, output: Path) -> None:
    """The three figures (see the module docstring), from the records alone."""
    import matplotlib

    matplotlib.use("Agg")

    layers = registry.probe_layers()
    c = str(settings["reference_strength"])
    units = _units(settings, rec.Records(results["records"]))
    states = [s for s in STATES if any(u[1] == s for u in units)]
    models = [m for m in settings["models"] if any(u[0] == m for u in units)]

    def by_layer(ax, state):
        for model, _, unit in (u for u in units if u[1] == state):
            ax.errorbar(
                layers, [_sensitivity(unit, n, c) for n in layers],
                yerr=[_sensitivity_error(unit, n, c) for n in layers], fmt="o-", capsize=2,
                label=model[13:],
            )  # fmt: skip

    _by_state_figure(
        states, by_layer, lambda state: f"{state}: sensitivity at C = {c} px (±1 s.e.)",
        output / "sensitivity_by_layer.png",
    )  # fmt: skip
    last, cs = layers[-2], settings["strengths"]  # the deepest conv stage

    def by_strength(ax, state):
        for model, _, unit in (u for u in units if u[1] == state):
            ax.errorbar(
                cs, [_sensitivity(unit, last, str(x)) for x in cs],
                yerr=[_sensitivity_error(unit, last, str(x)) for x in cs], fmt="o-", capsize=2,
                label=model[13:],
            )  # fmt: skip
        ax.set_xticks([float(x) for x in cs])  # the strengths measured

    _by_state_figure(
        states, by_strength, lambda state: f"{state}: {last} sensitivity (±1 s.e.)",
        output / "sensitivity_by_strength.png", xlabel="deformation strength C (px)",
    )  # fmt: skip
    _smoothness_scatter(units, models, c, layers, output / "smoothness_vs_sensitivity.png")


def network_records(ctx, unit, m: dict, net, history: dict, source: str, wall_s: float) -> list:
    """The records of one measured network state (:func:`measure_network`'s ``m``): a
    sensitivity per strength and layer, the test accuracy, a smoothness per conv."""
    name, state = unit.value
    common = {"table": None, "row": str(unit), "dataset": "cifar10", "model": name,
              "data_source": source, "state": state, "wall_s": wall_s}  # fmt: skip
    records = [
        ctx.record(
            **common,
            column=f"sensitivity {layer} C={c}",
            measured=value,
            metric="sensitivity",
            unit="ratio",
            protocol="deformation",
            layer=layer,
            strength=float(c),
            standard_error=m["sensitivity_standard_error"][c][layer],
        )
        for c, per_layer in m["sensitivity"].items()
        for layer, value in per_layer.items()
    ]
    records.append(
        ctx.record(
            **common,
            column="accuracy",
            measured=m["accuracy"],
            metric="accuracy",
            unit="fraction",
            final_train_loss=(history or {}).get("loss", [None])[-1],
            final_train_accuracy=(history or {}).get("accuracy", [None])[-1],
            params=int(net.count_params()),
        )
    )
    records += [
        ctx.record(
            **common,
            column=f"smoothness {conv}",
            measured=values["gaussian_smoothness"],
            layer=conv,
            metric="gaussian_smoothness",
            unit="ratio",
        )
        for conv, values in m["smoothness"].items()
    ]
    return records


class Prepared(NamedTuple):
    """What every network of a run shares."""

    splits: object
    stats: tuple
    probes: np.ndarray
    deformed: dict
    random_labels: np.ndarray
    config: object


class DeformationRunner(Runner):
    """Units: every network in every state (``init``, ``trained``, ``random-labels``)."""

    recipe_outputs = GENERATED

    SETTINGS = SETTINGS

    def derive(self, spec: dict, settings: dict, options) -> dict:
        return derive_settings(settings)

    def units(self, spec: dict, settings: dict, options) -> list[Unit]:
        return [Unit(f"{m} {s}", (m, s)) for m in settings["models"] for s in STATES]

    def unit_key(self, record: dict) -> str:
        return f"{record['model']} {record['state']}"

    def prepare(self, ctx) -> Prepared:
        settings = ctx.settings
        splits = cifar_runs.run_splits(ctx)
        rng = np.random.default_rng(settings["seed"])
        count = min(settings["probe_images"], len(splits.x_test))
        probes = splits.x_test[np.sort(rng.choice(len(splits.x_test), count, replace=False))]
        probes = probes.astype(np.float32)
        random_labels = np.random.default_rng(settings["seed"] + 1).integers(
            0, splits.num_classes, len(splits.y_train)
        )
        return Prepared(
            splits, cifar_runs.channel_stats(splits.x_train), probes,
            deformed_probes(probes, settings), random_labels, train_config(settings, ctx.verbose),
        )  # fmt: skip

    def measure(self, ctx, unit: Unit) -> list[dict]:
        (name, state), settings, p = unit.value, ctx.settings, ctx.prepared
        splits = p.splits

        def build():
            return registry.get(
                name, classes=splits.num_classes, width=settings["width"],
                input_normalization=p.stats,
            )  # fmt: skip

        t0 = time.perf_counter()
        if state == "init":
            training.seed_everything(settings["seed"])  # the same init as the trained runs
            net, history = build(), {}
        else:
            labels = splits.y_train if state == "trained" else p.random_labels
            ctx.say(f"{unit}: training {settings['epochs']} epoch(s) ...")
            net, history = cifar_runs.train_or_load(
                build, ctx.output / "models" / f"{name}-{state}.keras", splits.x_train, labels,
                splits.x_test, splits.y_test, p.config, ctx.output / "work" / f"{name}-{state}",
            )  # fmt: skip
        m = measure_network(net, p.probes, p.deformed, splits.x_test, splits.y_test, settings)
        wall_s = round(time.perf_counter() - t0, 1)
        records = network_records(ctx, unit, m, net, history, splits.source, wall_s)
        c = str(settings["reference_strength"])
        ctx.say(
            f"{unit}: accuracy {100 * m['accuracy']:.1f} %, sensitivity at C={c}: "
            + ", ".join(f"{k} {v:.3f}" for k, v in m["sensitivity"][c].items())
        )
        return records

    def render(self, spec: dict, results: dict) -> str:
        return render_table(spec, results["settings"], results)

    def figures(self, spec: dict, results: dict, output: Path) -> None:
        plot(results["settings"], results, output)


RUNNER = DeformationRunner()
