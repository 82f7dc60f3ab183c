"""Inference cost of anti-aliasing: blur-4 and APS variants against the plain network, same run.

For each network the plain, ``blur-4`` and ``aps`` variants (untrained weights; the cost does not
depend on their values) are each wrapped in one ``tf.function`` forward pass in inference mode, warmed
up, and then timed in alternating rounds (plain, blur-4, aps, plain, ...) so that machine load hits
all three alike. Reported: the median seconds per batch, the ratio variant / plain (target for the
three ImageNet networks: at most 1.15), and the ratio of convolution multiply-accumulates twin /
plain: Zhang's rule runs each strided k x k conv at stride 1 (4x its MACs), a floor that no
implementation of that placement goes below.

    python benchmarks/antialias_overhead.py [--rounds 3] [--calls 4] [--only vgg16,resnet50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from kerasinv import models

#: name -> (builder, input size, batch)
NETWORKS = {
    "vgg16": (lambda aa: models.vgg16(weights=None, antialias=aa), 224, 8),
    "resnet50": (lambda aa: models.resnet50(weights=None, antialias=aa), 224, 8),
    "inception_resnet_v2": (
        lambda aa: models.inception_resnet_v2(weights=None, antialias=aa),
        299,
        4,
    ),
    "all-cnn-c": (lambda aa: models.get("all-cnn-c", antialias=aa), 32, 128),
}
VARIANTS = (None, "blur-4", "aps")


def conv_macs(model) -> int:
    """Multiply-accumulates of the model's convolutions and dense layers for one image."""
    total = 0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D"):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            c_in = layer.input.shape[-1]
            if kind == "Conv2D":
                total += h * w * kh * kw * c_in * c_out
            elif kind == "DepthwiseConv2D":
                total += h * w * kh * kw * c_out
            else:
                total += h * w * (kh * kw * c_in + c_in * c_out)
        elif kind == "Dense":
            total += layer.input.shape[-1] * layer.units
    return total


def forward_fn(model):
    @tf.function(jit_compile=False, reduce_retracing=True)
    def forward(x):
        return model(x, training=False)

    return forward


def time_calls(forward, x, calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        forward(x).numpy()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per variant")
    parser.add_argument("--calls", type=int, default=4, help="timed forward passes per round")
    parser.add_argument("--only", default=",".join(NETWORKS), help="comma-separated networks")
    args = parser.parse_args()
    print(
        f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores; "
        f"{args.rounds} rounds x {args.calls} calls"
    )
    print(
        f"{'network':20s} {'batch':>9s} {'plain s':>8s} {'blur-4 s':>9s} {'aps s':>8s} "
        f"{'blur-4/plain':>13s} {'aps/plain':>10s}"
    )
    for name in args.only.split(","):
        build, size, batch = NETWORKS[name]
        x = tf.constant(
            np.random.default_rng(0).uniform(-1, 1, (batch, size, size, 3)).astype("float32")
        )
        forwards, macs = {}, {}
        for aa in VARIANTS:
            model = build(aa)
            macs[aa] = conv_macs(model)
            forwards[aa] = forward_fn(model)
            forwards[aa](x).numpy()  # trace
            forwards[aa](x).numpy()  # warm up
        times = {aa: [] for aa in VARIANTS}
        for _ in range(args.rounds):
            for aa in VARIANTS:
                times[aa] += time_calls(forwards[aa], x, args.calls)
        med = {aa: statistics.median(t) for aa, t in times.items()}
        print(
            f"{name:20s} {batch:3d}x{size:<5d} {med[None]:8.3f} {med['blur-4']:9.3f} "
            f"{med['aps']:8.3f} {med['blur-4'] / med[None]:13.3f} {med['aps'] / med[None]:10.3f} "
            f"{macs['blur-4'] / macs[None]:16.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
