"""Several springenberg-curve runs on one figure and in one table, against the Caffe reference.

Usage:
    python examples/curve_seeds.py OUT_PREFIX [--band=PREFIX] LABEL=RUN_FOLDER [LABEL=RUN_FOLDER ...]

Each RUN_FOLDER is a ``kerasinv recipe springenberg-curve`` output folder (or a copy holding its
``results.json``). Writes ``OUT_PREFIX.png`` (every run's test accuracy per epoch, ±1 standard
error over the test images, over the reference curve and its ±5-point band) and ``OUT_PREFIX.md``
(one column per run, the reference and each run's difference from it; then the test
cross-entropy beside Caffe's logged test loss, for runs that recorded it), and prints the tables.
With ``--band=PREFIX`` the table opens with the min / median / max per epoch of the runs whose
label starts with PREFIX, beside Caffe (:mod:`kerasinv.recipes.fidelity`), and the figure draws
the other runs fainter and dashed.
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


def load(folder: str) -> dict[int, dict]:
    """``{epoch: record}`` of one curve run."""
    results = json.loads((Path(folder) / "results.json").read_text())
    return {
        int(r["epoch"]): {**r, "test_images": results.get("test_images")}
        for r in results["records"]
    }


def per_epoch_table(epochs, curves: dict, reference_at, images: int, cell) -> str:
    """Markdown: one row per epoch, the reference's value (``reference_at(images seen)``), then
    ``cell(record)`` for each run ("–" where a run has no such epoch or field)."""
    rows = []
    for e in epochs:
        ref = reference_at(e * images)
        row = [e, f"{ref:.3f}" if ref is not None else "–"]
        for c in curves.values():
            try:
                row.append(cell(c[e]))
            except KeyError:
                row.append("–")
        rows.append(row)
    return markdown_table(["Epoch", "Caffe", *curves], rows)


def band_section(prefix: str, curves: dict, reference_at, images: int, epochs) -> str:
    """Markdown: min / median / max per epoch of the runs labelled ``prefix...``, beside Caffe."""
    group = {k: {e: r["measured"] for e, r in c.items()} for k, c in curves.items()
             if k.startswith(prefix)}  # fmt: skip
    if not group:
        sys.exit(f"--band={prefix}: no run's label starts with it")
    rows = fidelity.bands(group, lambda e: reference_at(e * images), epochs)
    headers, cells = fidelity.band_table(rows)
    return (
        f"{prefix}: the {len(group)} runs' min / median / max per epoch\n\n"
        + markdown_table(headers, cells, digits=3)
        + f"\n\n{fidelity.verdict(rows).sentence()}\n\n"
    )


def main(out: str, runs: list[str]) -> None:
    reference = caffe_all_cnn_c()
    band = next((a.partition("=")[2] for a in runs if a.startswith("--band=")), None)
    runs = [a for a in runs if not a.startswith("--band=")]
    curves = {}
    for item in runs:
        label, _, folder = item.partition("=")
        curves[label] = load(folder)
    epochs = sorted({e for c in curves.values() for e in c})
    first = next(iter(next(iter(curves.values())).values()))
    images = first.get("images_per_epoch") or first["train_images"]

    def accuracy(r):  # its difference from the reference value the run recorded beside it
        return f"{r['measured']:.3f} ({100 * (r['measured'] - r['paper']):+.1f})"

    table = band_section(band, curves, reference.accuracy_at, images, epochs) if band else ""
    table += per_epoch_table(epochs, curves, reference.accuracy_at, images, accuracy)
    table += "\n\nEach run: test accuracy on all 10,000 test images (its difference from Caffe, in points).\n"
    losses = {k: c for k, c in curves.items() if any("test_cross_entropy" in r for r in c.values())}
    if losses:  # the data term, what Caffe logs as its test loss; older runs did not record it
        table += "\n" + per_epoch_table(
            epochs, losses, reference.loss_at, images, lambda r: f"{r['test_cross_entropy']:.3f}"
        )
        table += (
            "\n\nTest cross-entropy (the data term, without weight decay: what Caffe logs as its "
            "test loss), for the runs that recorded it.\n"
        )
    print(table)
    write_text(Path(f"{out}.md"), table)

    seen = reference.images_seen() / images
    keep = seen <= max(epochs) + 1.5
    fig, ax = plt.subplots(figsize=(8.5, 4.4), layout="constrained")
    ax.plot(seen[keep], reference.accuracy[keep], color="0.4", lw=2, label="Caffe reference")
    ax.fill_between(
        seen[keep], reference.accuracy[keep] - 0.05, reference.accuracy[keep] + 0.05,
        color="0.55", alpha=0.15, lw=0, label="reference ± 5 points",
    )  # fmt: skip
    for label, c in curves.items():
        xs = sorted(c)
        ys = np.array([c[e]["measured"] for e in xs])
        errors = plots.binomial_error(ys, [c[e]["test_images"] for e in xs])
        outside = band is not None and not label.startswith(band)  # drawn fainter, dashed
        ax.errorbar(xs, ys, yerr=errors, fmt="o--" if outside else "o-", capsize=2, label=label,
                    alpha=0.55 if outside else 1.0, ms=3 if outside else 5)  # fmt: skip
    ax.axhline(0.1, color="0.8", lw=1, ls=":", label="chance")
    ax.set_xlabel(f"epochs ({images:,} training images each)")
    ax.set_ylabel("test accuracy (±1 s.e.)")
    ax.set_xlim(0, max(epochs) + 1)
    ax.set_ylim(
        0, max(0.8, float(max(r["measured"] for c in curves.values() for r in c.values())) + 0.1)
    )
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    plots.legend_outside(ax, fontsize=8)
    ax.set_title("All-CNN-C, paper protocol: runs against the public Caffe run", fontsize=10)
    plots.save(fig, Path(f"{out}.png"), dpi=120)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
