"""The in-memory train/test split every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kerasinv.errors import ConfigError


@dataclass
class ImageSplits:
    """A labelled image dataset held in memory.

    Attributes:
        name: dataset name, e.g. ``"cifar10"``.
        x_train, x_test: ``uint8 [N, H, W, 3]`` raw pixels (0–255).
        y_train, y_test: ``int64 [N]`` class indices.
        class_names: names of the classes, indexed by label.
        source: where the data was read from (a path or a description), for records.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str] = field(default_factory=list)
    source: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def subset(
        self, train: int | None = None, test: int | None = None, seed: int = 0
    ) -> ImageSplits:
        """A class-stratified random subset of ``train`` / ``test`` images per split.

        Keeps the class balance (each class contributes in proportion to its share) and the
        original order of the kept images; ``None`` keeps the whole split.

        Raises:
            ConfigError: more images asked for than the split has (never silently fewer).
        """
        rng = np.random.default_rng(seed)

        def pick(y: np.ndarray, n: int | None, which: str) -> np.ndarray:
            if n is not None and n > len(y):
                raise ConfigError(
                    f"a {which} subset of {n:,} images was asked for, but {self.source or self.name}"
                    f" has {len(y):,} {which} images: ask for at most that many"
                )
            if n is None or n == len(y):
                return np.arange(len(y))
            keep = []
            for c in np.unique(y):
                idx = np.flatnonzero(y == c)
                k = max(1, round(n * len(idx) / len(y)))
                keep.append(rng.choice(idx, size=min(k, len(idx)), replace=False))
            return np.sort(np.concatenate(keep))[:n]

        tr, te = pick(self.y_train, train, "training"), pick(self.y_test, test, "test")
        return ImageSplits(
            name=self.name,
            x_train=self.x_train[tr],
            y_train=self.y_train[tr],
            x_test=self.x_test[te],
            y_test=self.y_test[te],
            class_names=self.class_names,
            source=self.source
            + (f" (subset {len(tr)}/{len(te)}, seed {seed})" if (train or test) else ""),
        )
