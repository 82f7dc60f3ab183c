"""How the initialisation scales All-CNN-C's signal: each conv layer's output spread at initialisation.

Caffe's ``xavier`` filler (FAN_IN, what the reference run used) draws kernels with
``Var(w) = 1/fan_in``; Keras's ``glorot_uniform`` with ``2/(fan_in + fan_out)``. For a 3x3 conv with
equal channel counts the two are the same; they differ where fan-in and fan-out differ. That is
above all the first layer (fan-in 27, fan-out 864: Glorot's variance is 16x smaller, its spread
4x), and the scale carries through every later ReLU layer to the class scores.

This script measures it on real whitened CIFAR-10 images: the standard deviation of each conv
layer's output at initialisation, for each initialiser. With ``--seeds N`` it also scores N freshly
initialised networks (``lecun_uniform``, the ``paper`` protocol's) on all the test images: their
test cross-entropy and accuracy, against the Caffe run's own test pass at iteration 0 (loss
2.30314, accuracy 0.1). Run:

    python examples/allcnn_init_signal.py [--data-dir CIFAR] [--images 256] [--seeds 4]
"""

from __future__ import annotations

import argparse

import keras
import numpy as np
import tensorflow as tf

from kerasinv import models
from kerasinv.data.preprocessing import GCNZCA
from kerasinv.recipes.cifar_runs import load_splits
from kerasinv.recipes.curve import initial_scores


def layer_spreads(init: str, x: np.ndarray, seed: int = 0) -> dict[str, float]:
    """Std of every conv output of a fresh full-width All-CNN-C (dropout off) on ``x``."""
    keras.utils.set_random_seed(seed)
    model = models.get("all-cnn-c", kernel_initializer=init, dropout=False, sampling_grid="even")
    convs = [layer for layer in model.layers if layer.name.startswith("conv")]
    probe = keras.Model(model.input, [layer.output for layer in convs])
    outputs = probe.predict(x, verbose=0)
    return {layer.name: float(np.std(out)) for layer, out in zip(convs, outputs, strict=True)}


def paper_network():
    """A fresh full-width All-CNN-C with the ``paper`` protocol's initialisation and grid."""
    return models.get("all-cnn-c", kernel_initializer="lecun_uniform", sampling_grid="even")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="CIFAR-10 (default: the embedded sample)")
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--seeds", type=int, default=0, help="score N fresh networks at step 0")
    args = parser.parse_args()
    data = "cifar" if args.data_dir else "embedded"
    splits = load_splits(data, args.data_dir, False, None, None, 0)
    prep = GCNZCA().fit(splits.x_train)
    x = prep.transform(splits.x_test[: args.images])
    inits = ("lecun_uniform", "glorot_uniform")
    spreads = {init: layer_spreads(init, x) for init in inits}
    print(f"std of each conv's output at initialisation, {len(x)} whitened CIFAR-10 test images")
    print(f"{'layer':8} {'lecun_uniform':>14} {'glorot_uniform':>15} {'ratio':>8}")
    for name in spreads[inits[0]]:
        a, b = spreads[inits[0]][name], spreads[inits[1]][name]
        print(f"{name:8} {a:14.3g} {b:15.3g} {a / b:8.1f}")
    last = list(spreads[inits[0]])[-1]
    print(
        f"class scores: lecun_uniform spreads them {spreads[inits[0]][last] / spreads[inits[1]][last]:.0f}x "
        "wider than glorot_uniform"
    )
    if args.seeds:
        test = prep.transform(splits.x_test)
        print(
            f"\nbefore any training, all {len(test):,} test images (Caffe at iteration 0: 2.30314, 0.100)"
        )
        print(f"{'seed':>4} {'cross-entropy':>14} {'accuracy':>9}")
        test_data = tf.data.Dataset.from_tensor_slices((test, splits.y_test)).batch(500)
        for seed in range(args.seeds):  # what the curve recipe records as epoch 0
            scores, _ = initial_scores(paper_network, seed, test_data, test[:1000])
            print(f"{seed:>4} {scores['val_cross_entropy']:14.5f} {scores['val_accuracy']:9.4f}")


if __name__ == "__main__":
    main()
