"""How Caffe's Accuracy layer would have scored a springenberg-curve checkpoint.

All-CNN-C puts a ReLU on its class scores before the global average, so an image on which every
class unit is non-positive everywhere scores exactly 0 for all ten classes. Which class such an
image is given is then a convention, and the conventions differ:

- **ours** (Keras's accuracy, an argmax): the first class, airplane;
- **Caffe before PR #5836** (merged August 2017): ``partial_sort`` of ``(score, index)`` pairs
  under ``std::greater``, so the last class, truck;
- **Caffe from PR #5836 on**: an image counts only if its true class scores strictly above every
  other class, so such an image is always wrong.

The public Caffe log does not say which Caffe it ran, so this bounds what the convention can
change: at most the share of test images whose ten scores are all 0, times the share of those
that are airplanes (or trucks).

Usage:
    python examples/curve_ties.py --data-dir DATA RUN_FOLDER [RUN_FOLDER ...]

Each RUN_FOLDER is a ``kerasinv recipe springenberg-curve`` output folder on this machine, with its
``work/checkpoint/state.npz`` (the state after its last completed epoch) and ``preprocessing.npz``.
Prints one Markdown row per run: the checkpoint's epoch, the share of test images whose scores
all tie at 0, and the test accuracy under each convention.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from kerasinv.recipes import fidelity


def checkpoint_scores(folder: Path, data_dir: str) -> tuple[int, np.ndarray, np.ndarray]:
    """``(epoch, pooled class scores [N, 10], labels [N])`` of a run's checkpoint on its test set."""
    from kerasinv import models, training
    from kerasinv.data.preprocessing import GCNZCA
    from kerasinv.recipes.allcnn_protocol import model_options
    from kerasinv.recipes.cifar_runs import load_splits
    from kerasinv.recipes.curve import class_scores

    settings = json.loads((folder / "results.json").read_text())["settings"]
    splits = load_splits(
        settings["data"], data_dir, False, settings.get("train_subset"),
        settings.get("test_subset"), settings["seed"], dataset="cifar10",
    )  # fmt: skip
    x_test = GCNZCA.load(folder / "preprocessing.npz").transform(splits.x_test)
    model = models.get(
        settings["model"], classes=splits.num_classes, width=settings["width"],
        **model_options(settings),
    )  # fmt: skip
    epoch = training.ResumableCheckpoint(folder / "work" / "checkpoint").restore_model(model)
    scores = class_scores(model, x_test, batch_size=500)
    return epoch, scores, np.asarray(splits.y_test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("runs", nargs="+", type=Path)
    args = parser.parse_args()
    print("| Run | Epoch | Scores all 0 | Ours (first class) | Caffe < 2017-08 (last class) "
          "| Caffe ≥ 2017-08 (strict) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    for folder in args.runs:
        epoch, scores, labels = checkpoint_scores(folder, args.data_dir)
        a = fidelity.accuracy_conventions(scores, labels)
        print(f"| {folder.name} | {epoch} | {a['all_zero']:.4f} | {a['first_index']:.4f} "
              f"| {a['last_index']:.4f} | {a['strict']:.4f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
