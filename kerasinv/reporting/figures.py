"""Figures rendered from records (PNG, written atomically); matplotlib's non-interactive backend."""

from __future__ import annotations

from pathlib import Path

from kerasinv.io import atomic_path


def binomial_error(p, n):
    """The sampling error ``√(p(1−p)/n)`` of a proportion ``p`` over ``n`` independent images (the
    tables' ±), elementwise; NaN where ``n`` is unknown (a record written before it was kept)."""
    import numpy as np

    p, n = np.asarray(p, float), np.asarray(n, float)  # None -> NaN
    return np.sqrt(np.clip(p * (1 - p), 0, None) / np.where(n > 0, n, np.nan))


def legend_outside(ax, **kwargs) -> None:
    """The legend to the right of the axes, clear of the data (use a ``constrained`` layout)."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **kwargs)


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
    fig, ax = plt.subplots(figsize=(max(7.5, 0.7 * len(records) + 4), 4.0), layout="constrained")
    measured = [r["measured"] for r in records]
    # test error in %, over the test images: ±1 standard error of the proportion
    errors = 100 * binomial_error(
        [m / 100 for m in measured], [r.get("test_images") for r in records]
    )
    ax.bar(x - 0.2, measured, 0.4, yerr=errors, capsize=2, label="kerasinv (measured, ±1 s.e.)")
    paper = [np.nan if r["paper"] is None else r["paper"] for r in records]
    ax.bar(x + 0.2, paper, 0.4, label="paper")
    ax.set_xticks(x, labels, rotation=45, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    top = np.nanmax([*(np.asarray(measured) + np.nan_to_num(errors)), *paper])
    ax.set_ylim(0, 1.1 * top)
    legend_outside(ax, fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return save(fig, path, dpi=120)
