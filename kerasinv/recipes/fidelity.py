"""Whether several seeds of a learning curve reproduce a reference curve: the band and the verdict.

One run of ours against one run of the reference cannot say whether a difference is the protocol
or the seed. The claim is made about the spread of our seeds instead:

- **band**: at every epoch of ``band_epochs`` the reference lies inside ``[min, max]`` of our
  seeds (every seed that reached that epoch; at least ``min_seeds`` of them);
- **median**: at every epoch of ``median_epochs`` the median seed is within ``tolerance`` of the
  reference.

Accuracies are fractions; ``tolerance`` 0.05 is 5 points. An epoch that too few seeds reached is
"not reached", and a criterion with any such epoch is not met yet (``None``), never passed.
Pure Python and NumPy: the records are read, nothing is trained.

How strict the band is depends on the number of seeds: if the reference run were one more draw
from the same distribution as our seeds, it would fall inside the range of ``n`` seeds with
probability ``(n − 1) / (n + 1)`` at any one epoch (:func:`band_coverage`: one half for three
seeds, 0.82 for ten), and at every one of ten correlated epochs less often still. A failed band
with few seeds is therefore weak evidence against a protocol; the median criterion and the
seed-by-seed comparisons carry more of the weight.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

#: the claim issue 24 states for the All-CNN-C curve against the Caffe run
BAND_EPOCHS = tuple(range(1, 11))
MEDIAN_EPOCHS = (5, 10)
TOLERANCE = 0.05
MIN_SEEDS = 3


@dataclass(frozen=True)
class EpochBand:
    """Our seeds at one epoch beside the reference.

    ``values`` holds the seeds that reached the epoch (label -> test accuracy); ``reference`` is
    the reference's accuracy after the same number of images (``None`` past its end).
    """

    epoch: int
    reference: float | None
    values: Mapping[str, float]

    @property
    def seeds(self) -> int:
        return len(self.values)

    @property
    def low(self) -> float:
        return float(min(self.values.values()))

    @property
    def median(self) -> float:
        return float(np.median(list(self.values.values())))

    @property
    def high(self) -> float:
        return float(max(self.values.values()))

    def inside(self) -> bool | None:
        """Whether the reference lies in ``[low, high]`` (``None``: no reference or no seed)."""
        if self.reference is None or not self.values:
            return None
        return self.low <= self.reference <= self.high


def bands(
    curves: Mapping[str, Mapping[int, float]],
    reference_at: Callable[[int], float | None],
    epochs: Iterable[int],
) -> list[EpochBand]:
    """One :class:`EpochBand` per epoch: ``curves`` is ``{label: {epoch: accuracy}}`` and
    ``reference_at(epoch)`` the reference's accuracy at that epoch."""
    return [
        EpochBand(
            epoch=e,
            reference=reference_at(e),
            values={label: float(c[e]) for label, c in curves.items() if e in c},
        )
        for e in epochs
    ]


@dataclass(frozen=True)
class Verdict:
    """The two criteria and the claim. Each is ``True``, ``False`` or ``None`` (not decided: some
    epoch it needs has fewer than ``min_seeds`` seeds). ``reasons`` says, per failed or undecided
    epoch, why."""

    band: bool | None
    median: bool | None
    reasons: tuple[str, ...]

    @property
    def met(self) -> bool | None:
        """The claim: both criteria met (``False`` as soon as one fails; ``None`` if undecided)."""
        if self.band is False or self.median is False:
            return False
        if self.band is None or self.median is None:
            return None
        return True

    def sentence(self) -> str:
        """One line for a table's foot or a README."""
        word = {True: "MET", False: "NOT MET", None: "NOT DECIDED YET"}[self.met]
        return f"Fidelity claim: {word}." + (
            " " + "; ".join(self.reasons) + "." if self.reasons else ""
        )


def verdict(
    rows: Iterable[EpochBand],
    band_epochs: Iterable[int] = BAND_EPOCHS,
    median_epochs: Iterable[int] = MEDIAN_EPOCHS,
    tolerance: float = TOLERANCE,
    min_seeds: int = MIN_SEEDS,
) -> Verdict:
    """Judge ``rows`` (from :func:`bands`) against the claim stated in the module docstring."""
    by_epoch = {r.epoch: r for r in rows}
    reasons: list[str] = []

    def judge(epochs, test, fails) -> bool | None:
        """False if any epoch fails (every failing epoch is a reason), else None if any epoch
        has too few seeds, else True."""
        decided, failed = True, False
        for e in epochs:
            r = by_epoch.get(e)
            if r is None or r.seeds < min_seeds or r.reference is None:
                have = 0 if r is None else r.seeds
                reasons.append(f"epoch {e}: {have} of the {min_seeds} seeds needed")
                decided = False
                continue
            if not test(r):
                reasons.append(fails(r))
                failed = True
        return False if failed else (True if decided else None)

    band = judge(
        band_epochs,
        lambda r: r.inside(),
        lambda r: (
            f"epoch {r.epoch}: Caffe {r.reference:.3f} outside our seeds "
            f"[{r.low:.3f}, {r.high:.3f}]"
        ),
    )
    median = judge(
        median_epochs,
        lambda r: abs(r.median - r.reference) <= tolerance + 1e-9,
        lambda r: (
            f"epoch {r.epoch}: median {r.median:.3f} is {100 * (r.median - r.reference):+.1f} "
            f"points from Caffe {r.reference:.3f} (tolerance {100 * tolerance:g})"
        ),
    )
    return Verdict(band=band, median=median, reasons=tuple(dict.fromkeys(reasons)))


#: the accuracy that marks leaving the dead-class-unit plateau (Caffe's run crosses it at epoch 5.6)
ESCAPE_LEVEL = 0.30


def crossing(epochs, values, level: float = ESCAPE_LEVEL) -> float | None:
    """The first epoch at which a curve rises through ``level`` (linear between its points;
    ``None`` if it never does). ``epochs`` ascending, ``values`` the accuracies there."""
    for i in range(1, len(epochs)):
        if values[i - 1] < level <= values[i]:
            step = (level - values[i - 1]) / (values[i] - values[i - 1])
            return float(epochs[i - 1] + step * (epochs[i] - epochs[i - 1]))
    return None


def aligned(
    epochs, values, reference_epochs, reference_values, after=(1, 2, 3, 5),
    level: float = ESCAPE_LEVEL,
) -> tuple[float | None, dict[int, tuple[float, float]]]:  # fmt: skip
    """When a run leaves the plateau is seed-dependent; how fast it learns afterwards is the
    protocol's. ``(the run's crossing epoch, {d: (ours, reference)})``: both curves' accuracy
    ``d`` epochs after each one's own crossing of ``level``, for every ``d`` the run reached."""
    ours, theirs = (
        crossing(epochs, values, level),
        crossing(reference_epochs, reference_values, level),
    )
    if ours is None or theirs is None:
        return ours, {}
    return ours, {
        d: (
            float(np.interp(ours + d, epochs, values)),
            float(np.interp(theirs + d, reference_epochs, reference_values)),
        )
        for d in after
        if ours + d <= epochs[-1]
    }


@dataclass(frozen=True)
class EscapeRank:
    """Where the reference's escape epoch falls among our seeds'.

    ``earlier``: our seeds that crossed the escape level before the reference did; ``later``:
    those that crossed after it, or had not crossed by a last epoch at or past it;
    ``undecided``: those that stopped before the reference's escape without crossing.
    """

    reference: float
    earlier: tuple[str, ...]
    later: tuple[str, ...]
    undecided: tuple[str, ...]

    @property
    def p_as_late(self) -> float:
        """If the reference were one more exchangeable run of our protocol, the chance that at
        most ``len(later)`` of our ``n`` decided seeds escape after it: ``(later + 1) / (n + 1)``
        (its rank among the ``n + 1`` runs is uniform). Small: the reference left the plateau
        unusually late for our protocol."""
        n = len(self.earlier) + len(self.later)
        return (len(self.later) + 1) / (n + 1)

    def sentence(self) -> str:
        n = len(self.earlier) + len(self.later)
        text = (
            f"{len(self.earlier)} of {n} seeds left the plateau before the reference's epoch "
            f"{self.reference:.1f} and {len(self.later)} after it or not at all"
        )
        if self.undecided:
            text += f" ({len(self.undecided)} stopped too early to say)"
        return text + (
            f"; were the reference one more of our seeds, a rank this late or later has "
            f"probability {self.p_as_late:.2f}"
        )


def escape_rank(escapes: Mapping[str, tuple[float | None, float]], reference: float) -> EscapeRank:
    """``escapes``: ``{label: (crossing epoch or None, last epoch recorded)}`` (from
    :func:`crossing`); ``reference``: the reference's crossing epoch."""
    earlier, later, undecided = [], [], []
    for label, (epoch, last) in escapes.items():
        if epoch is not None:
            (earlier if epoch < reference else later).append(label)
        else:
            (later if last >= reference else undecided).append(label)
    return EscapeRank(float(reference), tuple(earlier), tuple(later), tuple(undecided))


def accuracy_conventions(scores, labels) -> dict[str, float]:
    """Test accuracy under the three conventions for ties at the top of the class scores.

    All-CNN-C's class scores pass a ReLU, so an image on which every class unit is non-positive
    scores exactly 0 for every class. Keras's argmax gives it the first class; Caffe's Accuracy
    layer before BVLC/caffe PR #5836 (August 2017) sorted ``(score, index)`` pairs descending and
    gave it the last; from that PR on, an image counts only if its true class scores strictly
    above every other, so it is wrong.

    Args:
        scores: ``[N, classes]`` class scores (pooled, after the class ReLU).
        labels: ``[N]`` integer labels.

    Returns:
        ``all_zero`` (the share of images whose scores are all <= 0), and the accuracy with ties
        to the ``first_index``, to the ``last_index``, and ``strict``.
    """
    scores, labels = np.asarray(scores), np.asarray(labels)
    true = scores[np.arange(len(labels)), labels]
    last = scores.shape[1] - 1
    return {
        "all_zero": float((scores.max(axis=1) <= 0).mean()),
        "first_index": float((scores.argmax(axis=1) == labels).mean()),
        "last_index": float((last - scores[:, ::-1].argmax(axis=1) == labels).mean()),
        "strict": float(((scores >= true[:, None]).sum(axis=1) == 1).mean()),
    }


def band_coverage(seeds: int) -> float:
    """The chance that one more draw from the distribution of ``seeds`` exchangeable runs lies
    inside their range (``(n − 1) / (n + 1)``; 0 for fewer than two)."""
    return 0.0 if seeds < 2 else (seeds - 1) / (seeds + 1)


def band_table(
    rows: Iterable[EpochBand], min_seeds: int = MIN_SEEDS
) -> tuple[list[str], list[list]]:
    """``(headers, rows)`` for :func:`kerasinv.reporting.records.markdown_table`: per epoch the
    reference, the number of seeds, min / median / max, the median's difference in points
    (``"+1.2"``) and whether the reference lies inside the range (judged only with ``min_seeds``
    seeds or more)."""
    headers = [
        "Epoch",
        "Caffe",
        "Seeds",
        "Min",
        "Median",
        "Max",
        "Median − Caffe",
        "Caffe in range",
    ]
    out = []
    for r in rows:
        if not r.values:
            out.append([r.epoch, r.reference, 0, None, None, None, None, None])
            continue
        gap = None if r.reference is None else f"{100 * (r.median - r.reference):+.1f}"
        inside = {True: "yes", False: "**no**", None: "–"}[r.inside()]
        if r.seeds < min_seeds:
            inside = f"– (fewer than {min_seeds} seeds)"
        out.append([r.epoch, r.reference, r.seeds, r.low, r.median, r.high, gap, inside])
    return headers, out


__all__ = [
    "BAND_EPOCHS",
    "ESCAPE_LEVEL",
    "MEDIAN_EPOCHS",
    "MIN_SEEDS",
    "TOLERANCE",
    "EpochBand",
    "EscapeRank",
    "Verdict",
    "accuracy_conventions",
    "aligned",
    "band_coverage",
    "band_table",
    "bands",
    "crossing",
    "escape_rank",
    "verdict",
]
