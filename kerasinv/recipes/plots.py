"""Figures rendered from records (PNG, written atomically); matplotlib's non-interactive backend."""

from __future__ import annotations

from pathlib import Path

from kerasinv.io import atomic_path


def save(fig, path: str | Path, dpi: int = 110) -> Path:
    """Write ``fig`` to ``path`` as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=dpi)
    plt.close(fig)
    return Path(path)


def measured_vs_paper(records: list[dict], path: str | Path, title: str, ylabel: str) -> Path:
    """Grouped bars: each record's ``measured`` beside its ``paper`` value (missing paper: no bar)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = [r["row"] for r in records]
    x = np.arange(len(records))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.7 * len(records) + 2), 4.0), layout="constrained")
    ax.bar(x - 0.2, [r["measured"] for r in records], 0.4, label="kerasinv (measured)")
    paper = [np.nan if r["paper"] is None else r["paper"] for r in records]
    ax.bar(x + 0.2, paper, 0.4, label="paper")
    ax.set_xticks(x, labels, rotation=45, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    top = max([r["measured"] for r in records] + [p for p in paper if p == p], default=1.0)
    ax.set_ylim(0, 1.25 * top)  # room for the legend above the bars
    ax.legend(ncol=2, loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    return save(fig, path, dpi=120)
