"""Groups of springenberg-curve seeds against the Caffe reference: the band, the verdict, and the
groups compared seed by seed.

Usage:
    python examples/curve_band.py OUT_PREFIX GROUP=RUN_FOLDER[,RUN_FOLDER...] [GROUP=...]

Each RUN_FOLDER is a ``kerasinv recipe springenberg-curve`` output folder (or a copy holding its
``results.json``); its seed is read from its settings. The first group is the one judged. Writes

- ``OUT_PREFIX.md``: per group, per epoch the Caffe accuracy and min / median / max of the group's
  seeds, whether Caffe lies in their range, and the verdict of the fidelity claim
  (:mod:`kerasinv.recipes.fidelity`); then, for seeds run in both of the first two groups,
  their accuracy, test cross-entropy and dead class units side by side (a paired comparison);
  then each run's escape from the plateau and its accuracy after it, beside Caffe's as long
  after its own escape, where Caffe's escape ranks among each group's, and every seed's escape
  epoch in every group;
- ``OUT_PREFIX.png``: the Caffe curve and, for the first two groups, each one's band (min to
  max of its seeds) and median where at least three seeds reached the epoch, and its seeds as
  thin lines;

and prints the Markdown.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from kerasinv.data.reference import caffe_all_cnn_c
from kerasinv.io import write_text
from kerasinv.recipes import fidelity
from kerasinv.reporting import figures as plots
from kerasinv.reporting.records import markdown_table


def load(folder: str) -> tuple[int, dict[int, dict]]:
    """``(seed, {epoch: record})`` of one curve run."""
    results = json.loads((Path(folder) / "results.json").read_text())
    return int(results["settings"]["seed"]), {int(r["epoch"]): r for r in results["records"]}


def group_section(name: str, runs: dict[int, dict], reference_at, epochs) -> tuple[str, list]:
    """The Markdown of one group's band and verdict, and its rows."""
    curves = {f"seed {s}": {e: r["measured"] for e, r in c.items()} for s, c in runs.items()}
    rows = fidelity.bands(curves, reference_at, epochs)
    headers, cells = fidelity.band_table(rows)
    reached = ", ".join(f"seed {s} to epoch {max(c)}" for s, c in sorted(runs.items()))
    coverage = fidelity.band_coverage(len(runs))
    text = (
        f"### {name}: {len(runs)} seeds ({reached})\n\n"
        f"Were Caffe's run one more draw of this protocol, it would lie inside the range of "
        f"{len(runs)} seeds at any one epoch with probability {coverage:.2f}.\n\n"
        + markdown_table(headers, cells, digits=3)
        + f"\n\n{fidelity.verdict(rows).sentence()}\n"
    )
    return text, rows


def paired_section(groups: dict[str, dict[int, dict]], reference_at, epochs) -> str:
    """Seeds run in the first two groups, side by side: ``accuracy / cross-entropy [dead]``."""
    groups = dict(list(groups.items())[:2])
    seeds = sorted(s for s in {s for g in groups.values() for s in g} if
                   sum(s in g for g in groups.values()) > 1)  # fmt: skip
    if not seeds:
        return ""
    headers, columns = ["Epoch", "Caffe"], []
    for s in seeds:
        for name, g in groups.items():
            if s in g:
                headers.append(f"seed {s}, {name}")
                columns.append(g[s])

    def cell(r):
        if r is None:
            return "–"
        ce = r.get("test_cross_entropy")
        dead = r.get("dead_class_units")
        return (
            f"{r['measured']:.3f}"
            + ("" if ce is None else f" / {ce:.3f}")
            + ("" if dead is None else f" [{dead}]")
        )

    rows = []
    for e in epochs:
        ref = reference_at(e)
        rows.append([e, "–" if ref is None else f"{ref:.3f}", *[cell(c.get(e)) for c in columns]])
    return (
        "### Seed by seed (same initialisation and data order; only the pixels differ)\n\n"
        + markdown_table(headers, rows)
        + "\n\nEach cell: test accuracy / test cross-entropy [dead class units of 10].\n"
    )


def escape_section(groups: dict[str, dict[int, dict]], reference, images: int) -> str:
    """Each run's escape from the plateau (its first crossing of the escape level) and its
    accuracy 1, 2, 3 and 5 epochs later beside Caffe's as long after Caffe's own crossing."""
    ref_epochs = list(reference.images_seen() / images)
    ref_values = list(reference.accuracy)
    theirs = fidelity.crossing(ref_epochs, ref_values)
    after = (1, 2, 3, 5)
    rows, ranks, by_seed = [], [], {}
    for name, runs in groups.items():
        escapes, by_seed[name] = {}, {}
        for seed, c in sorted(runs.items()):
            epochs = sorted(c)
            values = [c[e]["measured"] for e in epochs]
            if epochs[0] != 0:  # runs recorded before epoch 0 was: the fresh network is chance
                epochs, values = [0, *epochs], [0.1, *values]
            ours, later = fidelity.aligned(epochs, values, ref_epochs, ref_values, after)
            cells = [
                f"{later[d][0]:.3f} ({100 * (later[d][0] - later[d][1]):+.1f})"
                if d in later
                else "–"
                for d in after
            ]
            escape = f"{ours:.1f}" if ours is not None else f"not by {epochs[-1]}"
            rows.append([f"seed {seed}, {name}", escape, *cells])
            escapes[f"seed {seed}"] = (ours, epochs[-1])
            by_seed[name][seed] = escape
        ranks.append(f"- {name}: {fidelity.escape_rank(escapes, theirs).sentence()}.")
    headers = ["Run", "Escape epoch", *(f"+{d} epochs" for d in after)]
    return (
        f"### After the escape (first crossing of {fidelity.ESCAPE_LEVEL:.2f}; Caffe's: epoch "
        f"{theirs:.1f})\n\n"
        "When a run leaves the dead-class-unit plateau depends on its seed; how fast it learns "
        "afterwards is the protocol's. Each cell: our accuracy that many epochs after our "
        "escape (its difference from Caffe's as long after Caffe's own escape, in points).\n\n"
        + markdown_table(headers, rows)
        + "\n\nWhen the runs escape, against Caffe's run (`fidelity.escape_rank`):\n\n"
        + "\n".join(ranks)
        + "\n\nThe escape epoch seed by seed (a seed is one initialisation; the groups change "
        "the pixels, the data order or the batches):\n\n"
        + markdown_table(["Seed", *by_seed], pivot_rows(by_seed))
        + "\n"
    )


def pivot_rows(by_seed: dict[str, dict[int, str]]) -> list[list[str]]:
    """One row per seed: its cell in each group (``–`` where the group did not run it)."""
    seeds = sorted({s for cells in by_seed.values() for s in cells})
    return [[f"seed {s}", *(cells.get(s, "–") for cells in by_seed.values())] for s in seeds]


def figure(groups, bands_of, reference, images, path: Path) -> None:
    last = max(e for g in groups.values() for c in g.values() for e in c)
    seen = reference.images_seen() / images
    keep = seen <= last + 1.5
    fig, ax = plt.subplots(figsize=(8.5, 4.6), layout="constrained")
    ax.plot(seen[keep], reference.accuracy[keep], color="0.15", lw=2.2, label="Caffe reference")
    for i, (name, runs) in enumerate(list(groups.items())[:2]):  # more would hide the bands
        colour = f"C{i}"
        # a range or a median of one or two seeds is no band: drawn where enough seeds reached
        rows = [r for r in bands_of[name] if r.seeds >= fidelity.MIN_SEEDS]
        xs = [r.epoch for r in rows]
        ax.fill_between(xs, [r.low for r in rows], [r.high for r in rows], color=colour,
                        alpha=0.18, lw=0, label=f"{name}: range of its seeds")  # fmt: skip
        ax.plot(xs, [r.median for r in rows], "o-", color=colour, lw=2, ms=4,
                label=f"{name}: median seed (≥ {fidelity.MIN_SEEDS} seeds)")  # fmt: skip
        for c in runs.values():
            es = sorted(c)
            ax.plot(es, [c[e]["measured"] for e in es], color=colour, lw=0.7, alpha=0.5)
    ax.axhline(0.1, color="0.8", lw=1, ls=":", label="chance")
    ax.set_xlabel(f"epochs ({images:,} training images each)")
    ax.set_ylabel("test accuracy (10,000 test images)")
    ax.set_xlim(0, last + 0.5)
    ax.set_ylim(0, max(0.7, float(np.nanmax(reference.accuracy[keep])) + 0.1))
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    plots.legend_outside(ax, fontsize=8)
    ax.set_title("All-CNN-C, paper protocol: our seeds (thin lines) and the Caffe run", fontsize=10)
    plots.save(fig, path, dpi=120)


def main(out: str, specs: list[str]) -> None:
    reference = caffe_all_cnn_c()
    groups: dict[str, dict[int, dict]] = {}
    for item in specs:
        name, _, folders = item.partition("=")
        if not folders:
            sys.exit(f"{item!r}: expected GROUP=RUN_FOLDER[,RUN_FOLDER...]")
        groups[name] = dict(load(f) for f in folders.split(","))
    first = next(iter(next(iter(groups.values())).values()))
    first_record = next(iter(first.values()))
    images = first_record.get("images_per_epoch") or first_record["train_images"]
    epochs = sorted({e for g in groups.values() for c in g.values() for e in c})

    def reference_at(e):
        return reference.accuracy_at(e * images)

    sections, bands_of = [], {}
    for name, runs in groups.items():
        text, bands_of[name] = group_section(name, runs, reference_at, epochs)
        sections.append(text)
    sections.append(paired_section(groups, reference_at, epochs))
    sections.append(escape_section(groups, reference, images))
    claim = (
        "The claim judged: Caffe's test accuracy lies inside the range of our seeds at every epoch "
        f"1–10, and the median seed is within {100 * fidelity.TOLERANCE:g} points of it at epochs "
        f"{' and '.join(map(str, fidelity.MEDIAN_EPOCHS))}, with at least {fidelity.MIN_SEEDS} "
        "seeds at each of those epochs. Caffe's value is interpolated to the same number of "
        "training images.\n\n"
    )
    text = claim + "\n".join(s for s in sections if s)
    print(text)
    write_text(Path(f"{out}.md"), text)
    figure(groups, bands_of, reference, images, Path(f"{out}.png"))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
