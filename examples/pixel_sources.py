"""How far apart two copies of CIFAR-10 are before and after the paper's GCN + ZCA whitening.

Usage:
    python examples/pixel_sources.py A B [--images N]

A and B are CIFAR-10 copies ``--data-dir`` accepts (for example the shared JPEG re-encoding and
the canonical PNG copy), holding the same photos in the same order (their class folders and
ranks agree). Each copy is whitened as a training run whitens it: GCN + ZCA fitted on its own
training split. For the first N test images (default 2,000) it prints, per stage (raw pixels,
after GCN, after GCN + ZCA), the median and 90th percentile over images of the relative
difference ‖a − b‖ / ‖b‖, and the ratio of the mean norms, so that one can see how much the
whitening, which amplifies the weak high-frequency directions, magnifies the difference between
the copies.
"""

from __future__ import annotations

import argparse

import numpy as np

from kerasinv.data.cifar import load_cifar
from kerasinv.data.preprocessing import fit_gcn_zca, global_contrast_normalize


def relative(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.reshape(len(a), -1).astype(np.float64), b.reshape(len(b), -1).astype(np.float64)
    return np.linalg.norm(a - b, axis=1) / np.linalg.norm(b, axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--images", type=int, default=2000)
    args = parser.parse_args()
    a, b = load_cifar("cifar10", args.a), load_cifar("cifar10", args.b)
    if not np.array_equal(a.y_test, b.y_test) or not np.array_equal(a.y_train, b.y_train):
        raise SystemExit("the two copies do not hold the same photos in the same order")
    n = args.images
    stages = {
        "raw pixels": (a.x_test[:n], b.x_test[:n]),
        "GCN": (global_contrast_normalize(a.x_test[:n]), global_contrast_normalize(b.x_test[:n])),
        "GCN + ZCA (each fitted on its own training split)": (
            fit_gcn_zca(a.x_train).transform(a.x_test[:n]),
            fit_gcn_zca(b.x_train).transform(b.x_test[:n]),
        ),
    }
    print(f"A = {a.source}\nB = {b.source}\n{n} test images\n")
    print("| stage | median ‖A − B‖ / ‖B‖ | 90th percentile | mean ‖A‖ / mean ‖B‖ |")
    print("| :--- | ---: | ---: | ---: |")
    for name, (x, y) in stages.items():
        r = relative(x, y)
        norms = (
            np.linalg.norm(x.reshape(n, -1), axis=1).mean()
            / np.linalg.norm(y.reshape(n, -1), axis=1).mean()
        )
        print(f"| {name} | {np.median(r):.3f} | {np.percentile(r, 90):.3f} | {norms:.3f} |")


if __name__ == "__main__":
    main()
