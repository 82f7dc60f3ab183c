"""Train and export the small CIFAR-10 model shipped in ``saved_models/all-cnn-c-bn-w050/``.

The network is All-CNN-C (Springenberg et al. 2015) at half width with batch normalisation, no
dropout, no ReLU on the class conv and the per-channel CIFAR-10 mean/std in the graph, so it takes
raw 0-255 RGB pixels. It is trained on all 50,000 CIFAR-10 training images with flips and shifts of up
to 4 px, then tested once on all 10,000 test images (no model selection on the test set).

    .venv/bin/python examples/train_shipped_model.py [--data ../shared/data/cifar10-jpeg.tar.gz]
        [--epochs 10] [--out saved_models] [--workdir runs/shipped]

Resumes from its last finished epoch if interrupted (rerun the same command). Writes
``<out>/all-cnn-c-bn-w050/1/`` (SavedModel), ``model.keras`` and ``training.json`` beside it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time
from pathlib import Path

import numpy as np

from kerasinv import models, training
from kerasinv.data.cifar import load_cifar
from kerasinv.export import export_serving
from kerasinv.io import atomic_path
from kerasinv.recipes.cifar_runs import channel_stats

NAME = "all-cnn-c-bn-w050"
WIDTH = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=None, help="CIFAR-10 folder or archive")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--out", default="saved_models")
    parser.add_argument("--workdir", default="runs/shipped")
    parser.add_argument("--limit", type=int, default=None, help="use only N images (trial runs)")
    args = parser.parse_args()

    splits = load_cifar("cifar10", args.data)
    if args.limit:
        rng = np.random.default_rng(0)  # the files may be sorted by class: sample at random
        train = rng.permutation(len(splits.x_train))[: args.limit]
        test = rng.permutation(len(splits.x_test))[: args.limit]
        splits = dataclasses.replace(
            splits,
            x_train=splits.x_train[train],
            y_train=splits.y_train[train],
            x_test=splits.x_test[test],
            y_test=splits.y_test[test],
        )
    mean, std = channel_stats(splits.x_train)  # float64: a float32 sum saturates at 2**32
    # Drops after 60 % and 85 % of the run (the paper's 200/350 and 300/350 steps, without the
    # 250/350 one, which a 10-epoch run cannot use).
    config = training.TrainConfig(
        epochs=args.epochs,
        learning_rate=0.05,
        drops=(210, 300),
        augment=True,
        max_shift=4,
        seed=0,
        verbose=2,
    )
    train_data, test_data = training.make_datasets(
        splits.x_train, splits.y_train, splits.x_test, splits.y_test, None, config
    )

    def build():
        return models.build_allcnn(
            "all-cnn",
            "c",
            width=WIDTH,
            batch_norm=True,
            dropout=False,
            class_relu=False,
            kernel_initializer="he_normal",
            weight_decay=0.001,
            input_normalization=(mean, std),
            name=NAME.replace("-", "_"),
        )

    start = time.time()
    result = training.train(build, train_data, test_data, config, args.workdir)
    seconds = time.time() - start
    print(
        f"test accuracy {result.test_accuracy:.4f} after {result.epochs_run} epochs, {seconds:.0f} s"
    )

    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    result.model.save(Path(args.workdir) / f"{NAME}.keras")
    target = export_serving(result.model, args.out, NAME, version=1, overwrite=True)
    with atomic_path(target.parent / "model.keras", suffix=".keras") as tmp:
        result.model.save(tmp)
    record = {
        "model": "all-cnn-c",
        "options": {
            "width": WIDTH,
            "batch_norm": True,
            "dropout": False,
            "class_relu": False,
            "kernel_initializer": "he_normal",
            "weight_decay": 0.001,
            "input_normalization": {"mean": mean, "std": std},
        },
        "parameters": int(result.model.count_params()),
        "training": {
            "data": "CIFAR-10, all 50,000 training images",
            "epochs": config.epochs,
            "batch_size": config.batch_size,
            "optimizer": f"SGD momentum {config.momentum}",
            "learning_rate": config.learning_rate,
            "drop_epochs": training.drop_epochs(config.epochs, config.drops),
            "drop_factor": config.drop_factor,
            "augmentation": f"horizontal flip + translation up to {config.max_shift} px (zero fill)",
            "seed": config.seed,
            "seconds_this_process": round(seconds),
            "resumed_from_epoch": result.resumed_from_epoch,
            "machine": f"{platform.machine()}, {platform.system()}",
        },
        "history": result.history,
        "test_accuracy": result.test_accuracy,
        "test_images": len(splits.x_test),
    }
    with atomic_path(target.parent / "training.json") as tmp:
        Path(tmp).write_text(json.dumps(record, indent=2))
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
