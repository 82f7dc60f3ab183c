"""Anti-alias a genuinely pretrained Keras model without retraining, and measure what it changes.

Builds ``keras.applications.MobileNet`` (alpha 0.75) with the real ImageNet weights in
``../shared/data`` (or ``--weights``), makes its anti-aliased twins with ``kerasinv.antialias``, loads
the same weights, and prints top-1 accuracy (centre 224 crop of a 256 centre crop) and Zhang's random-
shift consistency on labelled ImageNet photos (``--images``, a folder or tar named by WordNet id).

    python examples/antialias_mobilenet.py [--images PATH] [--weights PATH] [--trials 5]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def evaluate(weights, images_path, methods=("blur-4", "aps"), trials=5, seed=0, verbose=True):
    """``{method or "stock": (top-1 accuracy, ShiftPairs)}`` for the stock MobileNet and its
    twins, measured by :mod:`kerasinv.measure` (the pairs ``kerasinv evaluate`` draws)."""
    import keras
    import numpy as np

    import kerasinv
    from kerasinv import measure, perturb
    from kerasinv.data.imagenet import load_photos

    photos = load_photos(images_path)
    images, labels, skipped = photos.images, photos.labels, photos.skipped
    stock = keras.applications.MobileNet(input_shape=(224, 224, 3), alpha=0.75, weights=None)
    stock.load_weights(weights)
    results = {}
    for method in (None, *methods):
        model = stock if method is None else kerasinv.antialias(stock, method, verbose=verbose)
        if method is not None:
            model.load_weights(weights)  # the stock weights file loads into the twin unchanged

        def predict(batch, model=model):
            x = keras.applications.mobilenet.preprocess_input(batch.astype("float32"))
            return model.predict_on_batch(x)

        start = time.perf_counter()
        centre = measure.predict_batched(predict, perturb.centre_crop(images, 224), 16)
        pairs = measure.shift_pairs(predict, images, 224, trials=trials, seed=seed)
        accuracy = float(np.mean(centre.argmax(-1) == labels))
        results[method or "stock"] = (accuracy, pairs)
        if verbose:
            print(
                f"{method or 'stock':8s} top-1 {accuracy:.3f}  consistency {pairs.consistency:.3f}  "
                f"({time.perf_counter() - start:.0f} s, {len(images)} photos, {len(skipped)} skipped)"
            )
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", default=SHARED / "imagenet-samples-100.tar")
    parser.add_argument("--weights", default=SHARED / "mobilenet_0.75_224_imagenet.weights.h5")
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    evaluate(args.weights, args.images, trials=args.trials)


if __name__ == "__main__":
    main()
