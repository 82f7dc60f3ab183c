"""Measuring: perturb images, run a model, keep what it predicts per image.

This is the one place where perturbations meet models; :mod:`kerasinv.metrics` then turns the stored
predictions into numbers, and ``kerasinv evaluate``, every recipe and ``kerasinv finetune`` measure
through these functions, so the same model, images and seed give the same number everywhere.

A *predictor* maps a batch of frames ``[B, S, S, C]`` (float, the images' range; preprocessing is the
predictor's job) to class scores ``[B, K]``: :attr:`kerasinv.models.LoadedModel.predict`, or
:func:`keras_predictor` for a plain ``keras.Model``.

- :func:`onepixel`: Azulay & Weiss's nine-frame one-pixel sequences (docs/papers.md §2.2);
- :func:`shift_pairs` / :func:`circular_shift_pairs`: Zhang's two random shifts per image
  (docs/papers.md §3.3, §5), drawn by :func:`kerasinv.perturb.shift_pair_offsets`;
  :func:`subpixel_shift_pairs`: the same with band-limited shifts on a half-pixel or finer grid;
- :func:`shift_grid`: every shift of a grid, for the accuracy under the worst one (AFC, §6);
- :func:`diagonal_sweep`: Zhang's accuracy along a diagonal shift;
- :func:`layerwise_sensitivity` / :func:`layer_smoothness`: representations and filters of a
  ``keras.Model`` (Ruderman et al., docs/papers.md §4).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: The evaluate protocols: four one-pixel sequences (Azulay & Weiss) and Zhang's shift pairs.
#: :data:`kerasinv.perturb.ONEPIXEL_PROTOCOLS`, spelled out so that this module (and the CLI's
#: checks through it) stays free of TensorFlow; tests/test_measure.py checks they are equal
ONEPIXEL_PROTOCOLS = ("crop", "black", "inpaint", "scale")
#: consistency under two random circular shifts of the whole image: integer, on the half-pixel grid,
#: and fractional (a 1/1024-pixel grid); pixels per step of each (docs/papers.md §5, §6)
CIRCULAR_PROTOCOLS = {"circular": 1.0, "half-pixel": 0.5, "fractional": 1 / 1024}
#: accuracy under the worst circular shift of a grid of up to ``WORST_SHIFT_RANGE`` px each way:
#: integer steps, or half-pixel steps (AFC's metric, docs/papers.md §6)
WORST_PROTOCOLS = {"worst-shift": 1.0, "worst-half-pixel": 0.5}
WORST_SHIFT_RANGE = 2
#: every protocol of ``kerasinv evaluate``: the one-pixel ones, Zhang's shift consistency, the
#: circular and sub-pixel consistencies and the worst-shift accuracies
PROTOCOLS = (*ONEPIXEL_PROTOCOLS, "shift", *CIRCULAR_PROTOCOLS, *WORST_PROTOCOLS)
#: One-pixel steps per sequence (nine frames, eight consecutive pairs).
STEPS = 8
#: Azulay & Weiss embed the photo at ``S / 1.3`` in the ``S`` canvas (their s = 1.3).
EMBED_RATIO = 1.3


def keras_predictor(model) -> Callable[[np.ndarray], np.ndarray]:
    """``model.predict_on_batch`` as a predictor (inference mode, NumPy out)."""
    return lambda batch: np.asarray(model.predict_on_batch(np.asarray(batch, np.float32)))


def predict_batched(predict: Callable, images, batch_size: int = 64) -> np.ndarray:
    """Scores ``[N, K]`` of ``images`` ``[N, ...]`` in batches of ``batch_size``."""
    out = [
        np.asarray(predict(np.asarray(images[i : i + batch_size], np.float32)))
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(out)


def _predict_frames(predict: Callable, frames) -> np.ndarray:
    """Scores ``[B, T, K]`` of frames ``[B, T, S, S, C]``."""
    frames = np.asarray(frames)
    b, t = frames.shape[:2]
    return np.asarray(predict(frames.reshape(b * t, *frames.shape[2:]))).reshape(b, t, -1)


# ----------------------------------------------------------------------------- one-pixel sequences


def onepixel_frames(images, protocol: str, size: int, background="mean"):
    """The nine frames of a one-pixel protocol for square photos ``[B, P, P, 3]`` (any P):
    ``[B, 9, size, size, 3]``.

    - ``crop``: the photo at ``size + 10`` (234 for 224), ``size`` windows at 9 consecutive diagonal
      offsets around the centre;
    - ``black`` / ``inpaint``: the photo at ``round(size / 1.3)`` pasted on a ``size`` canvas at 9
      diagonal offsets (``background`` canvas, by default the ImageNet mean colour as in the
      authors' code; ``inpaint`` then fills it);
    - ``scale``: the embedded photo at 9 consecutive sizes, centred.
    """
    import tensorflow as tf

    from kerasinv import perturb
    from kerasinv.errors import ConfigError

    x = tf.convert_to_tensor(images, tf.float32)
    if protocol == "crop":
        source = perturb.resize(x, size + STEPS + 2)
        return perturb.onepixel_sequence(source, "crop", canvas=size, steps=STEPS)
    if protocol in ("black", "inpaint", "scale"):
        embedded = max(4, round(size / EMBED_RATIO))
        return perturb.onepixel_sequence(
            x, protocol, canvas=size, size=embedded, steps=STEPS, background=background
        )
    raise ConfigError(
        f"unknown one-pixel protocol {protocol!r}; known: {', '.join(ONEPIXEL_PROTOCOLS)}"
    )


@functools.lru_cache(maxsize=32)
def compiled_onepixel_frames(protocol: str, size: int, background="mean"):
    """:func:`onepixel_frames` compiled by XLA (the perturbations are gathers, which XLA fuses:
    several times faster than a plain graph on CPU); ``fn(images)``."""
    import tensorflow as tf

    # no reduce_retracing: a trace generalised to unknown H and W would need the resize op XLA
    # cannot compile (ScaleAndTranslate); one trace per image shape is cheap
    @tf.function(jit_compile=True)
    def frames(images):
        return onepixel_frames(images, protocol, size, background)

    return frames


@dataclass(frozen=True)
class OnePixel:
    """Per-image results of :func:`onepixel`.

    Attributes:
        top1: int ``[N, 9]`` top-1 class of each frame.
        changed: bool ``[N, 8]`` top-1 changed between consecutive frames.
        abs_change: ``[N, 8]`` ``|p_t(k*) - p_{t+1}(k*)|`` (k* the top-1 class of frame t).
    """

    top1: np.ndarray
    changed: np.ndarray
    abs_change: np.ndarray


def onepixel(
    predict: Callable, images, protocol: str, size: int, background="mean", batch_size: int = 16
) -> OnePixel:
    """Run a one-pixel protocol (:func:`onepixel_frames`) over square photos ``[N, P, P, 3]``."""
    from kerasinv import metrics, progress

    tops, changed, change = [], [], []
    frames_of = compiled_onepixel_frames(protocol, size, background)
    starts = range(0, len(images), batch_size)
    for i in progress.track(starts, protocol, unit=f"batches of {batch_size} photos"):
        probs = _predict_frames(
            predict, frames_of(np.asarray(images[i : i + batch_size], np.float32))
        )
        tops.append(probs.argmax(-1))
        c, a = metrics.onepixel_changes(probs)
        changed.append(c)
        change.append(a)
    return OnePixel(*(np.concatenate(v) for v in (tops, changed, change)))


# ----------------------------------------------------------------------------- random shift pairs


@dataclass(frozen=True)
class ShiftPairs:
    """Per-image results of :func:`shift_pairs` / :func:`circular_shift_pairs`.

    Attributes:
        top1: int ``[trials, N, 2]`` top-1 class of the two shifted copies.
        offsets: int ``[trials, N, 2, 2]`` the shifts (trial, image, first / second, row / column).
    """

    top1: np.ndarray
    offsets: np.ndarray

    @property
    def agree(self) -> np.ndarray:
        """bool ``[trials, N]``: the two copies' top-1 classes agree."""
        return self.top1[..., 0] == self.top1[..., 1]

    @property
    def consistency(self) -> float:
        """Zhang's consistency: the fraction of pairs that agree."""
        from kerasinv import metrics

        return metrics.pair_consistency(self.top1[..., 0], self.top1[..., 1])


@functools.lru_cache(maxsize=8)
def _compiled_pair(crop: int | None, fourier: bool = False):
    import tensorflow as tf

    from kerasinv import perturb
    from kerasinv.perturb.fourier import fourier_shift

    @tf.function(jit_compile=True)
    def pair(images, offsets):  # offsets [B, 2, 2]
        if fourier:
            return tf.stack([fourier_shift(images, offsets[:, k]) for k in (0, 1)], 1)
        if crop is None:
            return tf.stack([perturb.circular_shift(images, offsets[:, k]) for k in (0, 1)], 1)
        return tf.stack([perturb.crop(images, offsets[:, k], crop) for k in (0, 1)], 1)

    return pair


def _pairs(
    predict, images, crop, max_offset, trials, seed, batch_size, step: float = 1.0
) -> ShiftPairs:
    """``step`` < 1: band-limited shifts by ``step`` times the drawn integers (``max_offset`` is
    then in steps)."""
    from kerasinv import perturb, progress

    images = np.asarray(images, np.float32)
    offsets = perturb.shift_pair_offsets(seed, len(images), max_offset, trials).numpy()
    fourier = step != 1.0
    offsets = (offsets * step).astype(np.float32) if fourier else offsets
    make = _compiled_pair(crop, fourier)
    top1 = np.zeros((trials, len(images), 2), np.int64)
    starts = [(t, i) for t in range(trials) for i in range(0, len(images), batch_size)]
    label = "shift pairs" if crop is not None else "circular shift pairs"
    for t, i in progress.track(starts, label, unit=f"batches ({trials} passes)"):
        frames = make(images[i : i + batch_size], offsets[t, i : i + batch_size])
        top1[t, i : i + batch_size] = _predict_frames(predict, frames).argmax(-1)
    return ShiftPairs(top1, offsets)


def shift_pairs(
    predict: Callable, images, crop: int, trials: int = 5, seed: int = 0, batch_size: int = 16
) -> ShiftPairs:
    """Zhang's random-shift pairs: two ``crop`` windows of each square image ``[N, S, S, C]``
    (``S > crop``), at offsets drawn uniformly from ``0 .. S - crop - 1`` (his
    ``np.random.randint(S - crop, size=2)``), ``trials`` passes (Zhang: 5)."""
    images = np.asarray(images)
    s = images.shape[1]
    if images.ndim != 4 or images.shape[2] != s or s <= crop:
        raise ValueError(
            f"images must be square [N, S, S, C] and larger than crop={crop}, got {images.shape}"
        )
    return _pairs(predict, images, crop, s - crop, trials, seed, batch_size)


def circular_shift_pairs(
    predict: Callable, images, max_shift: int, trials: int = 5, seed: int = 0,
    batch_size: int = 16,
) -> ShiftPairs:  # fmt: skip
    """Two circular shifts of each image ``[N, S, S, C]`` by offsets in ``0 .. max_shift - 1``:
    the same offsets as :func:`shift_pairs` with ``S - crop = max_shift`` and the same seed."""
    return _pairs(predict, images, None, max_shift, trials, seed, batch_size)


def subpixel_shift_pairs(
    predict: Callable, images, step: float, max_shift: int | None = None, trials: int = 5,
    seed: int = 0, batch_size: int = 16,
) -> ShiftPairs:  # fmt: skip
    """Two circular shifts of each image ``[N, S, S, C]`` by multiples of ``step`` px from 0 up
    to ``max_shift`` (default ``S``, every shift), drawn as :func:`circular_shift_pairs` draws (the
    same seed gives the same pairs on a finer grid). ``step`` 1 is :func:`circular_shift_pairs`;
    below 1 (0.5: the half-pixel grid; 1/1024: fractional) the shifts are band-limited
    (:func:`kerasinv.perturb.fourier.fourier_shift`) and ``offsets`` are float pixels."""
    images = np.asarray(images)
    steps = round((max_shift or images.shape[1]) / step)
    return _pairs(predict, images, None, steps, trials, seed, batch_size, step=step)


@dataclass(frozen=True)
class ShiftGrid:
    """Per-image results of :func:`shift_grid`.

    Attributes:
        top1: int ``[N, G]`` top-1 class under each shift of the grid (the unshifted image among them).
        shifts: float ``[G, 2]`` the grid's shifts (rows, columns; pixels).
    """

    top1: np.ndarray
    shifts: np.ndarray

    def worst_accuracy(self, labels) -> float:
        """AFC's accuracy under the worst shift: an image counts only if every shift of the grid,
        the unshifted one included, is classified as its label."""
        from kerasinv import metrics

        return metrics.worst_shift_accuracy(self.top1, labels)


def shift_grid(
    predict: Callable, images, step: float = 1.0, reach: int = 2, batch_size: int = 16
) -> ShiftGrid:
    """Top-1 under every circular shift ``(dy, dx)``, ``dy, dx`` in ``-reach .. reach`` by ``step``
    px, of images ``[N, S, S, C]``: integer steps by pixel permutation, others band-limited
    (:func:`kerasinv.perturb.fourier.fourier_shift`). ``(2 reach / step + 1)^2`` frames per image."""
    import tensorflow as tf

    from kerasinv import perturb, progress
    from kerasinv.perturb.fourier import fourier_shift

    images = np.asarray(images, np.float32)
    axis = np.arange(-reach, reach + step / 2, step, dtype=np.float32)
    shifts = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    shift = perturb.circular_shift if step == 1.0 else fourier_shift
    make = tf.function(shift, jit_compile=True)
    top1 = np.zeros((len(images), len(shifts)), np.int64)
    starts = range(0, len(images), batch_size)
    for i in progress.track(starts, f"shift grid ({len(shifts)} shifts)", unit="batches"):
        batch = images[i : i + batch_size]
        for g, d in enumerate(shifts):
            frames = make(batch, np.repeat(d[None], len(batch), 0))
            top1[i : i + batch_size, g] = np.asarray(predict(np.asarray(frames))).argmax(-1)
    return ShiftGrid(top1, shifts)


def diagonal_sweep(predict: Callable, images, crop: int, batch_size: int = 16) -> np.ndarray:
    """Scores ``[N, S - crop + 1, K]`` of the windows at ``(k, k)``, ``k = 0 .. S - crop``, of
    square images ``[N, S, S, C]`` (Zhang's diagonal plot)."""
    from kerasinv import perturb, progress

    images = np.asarray(images, np.float32)
    starts = range(0, len(images), batch_size)
    return np.concatenate(
        [
            _predict_frames(predict, perturb.diagonal_sweep(images[i : i + batch_size], crop))
            for i in progress.track(starts, "diagonal sweep", unit="batches")
        ]
    )


# ----------------------------------------------------------------------------- inside a model


def representation_model(model, layer_names):
    """A model mapping the inputs of ``model`` to ``{layer name: output}``: every chosen layer from
    one forward pass."""
    import keras

    missing = [n for n in layer_names if n not in {layer.name for layer in model.layers}]
    if missing:
        raise ValueError(f"model {model.name!r} has no layers {missing}")
    outputs = {name: model.get_layer(name).output for name in layer_names}
    return keras.Model(model.inputs, outputs)


def representations(probe, images, batch_size: int = 128) -> dict[str, np.ndarray]:
    """``{layer: [N, ...]}`` from a :func:`representation_model` ``probe`` on ``images``, in batches."""
    from kerasinv import progress

    x = np.asarray(images)
    starts = progress.track(range(0, len(x), batch_size), "representations", unit="batches")
    outs = [probe.predict_on_batch(x[i : i + batch_size]) for i in starts]
    return {name: np.concatenate([o[name] for o in outs]) for name in outs[0]}


def layerwise_sensitivity(
    model, layer_names, images, deformed, batch_size: int = 128, pairs: int = 1000, seed: int = 0
) -> dict[str, np.ndarray]:
    """``{layer: per-image normalised sensitivity [N]}`` of ``model``'s layers between ``images`` and
    ``deformed`` (``[N, H, W, C]`` each, preprocessed as the model expects). To compare one set of
    images with several deformations, build the probe once and call :func:`representations` and
    :func:`kerasinv.metrics.deformation_sensitivity` directly, as the ruderman-deformation recipe
    does."""
    from kerasinv import metrics

    probe = representation_model(model, layer_names)
    clean = representations(probe, images, batch_size)
    moved = representations(probe, deformed, batch_size)
    return {
        name: metrics.deformation_sensitivity(clean[name], moved[name], pairs, seed)
        for name in layer_names
    }


def layer_smoothness(model, sigma: float = 1.0) -> dict[str, dict[str, float]]:
    """``{layer: {"total_variation": mean, "gaussian_smoothness": mean}}`` for every convolution of
    ``model`` with spatial kernels (at least 2x2); the measures are
    :func:`kerasinv.metrics.total_variation` and :func:`kerasinv.metrics.gaussian_smoothness`."""
    from kerasinv import metrics

    out = {}
    for layer in model.layers:
        kernel = getattr(layer, "depthwise_kernel", None)
        if kernel is None:
            kernel = getattr(layer, "kernel", None)
        if kernel is None or len(kernel.shape) != 4 or min(kernel.shape[:2]) < 2:
            continue
        k = np.asarray(kernel)
        out[layer.name] = {
            "total_variation": float(metrics.total_variation(k).mean()),
            "gaussian_smoothness": float(metrics.gaussian_smoothness(k, sigma).mean()),
        }
    return out


__all__ = [
    "CIRCULAR_PROTOCOLS",
    "EMBED_RATIO",
    "ONEPIXEL_PROTOCOLS",
    "PROTOCOLS",
    "STEPS",
    "WORST_PROTOCOLS",
    "WORST_SHIFT_RANGE",
    "OnePixel",
    "ShiftGrid",
    "ShiftPairs",
    "circular_shift_pairs",
    "compiled_onepixel_frames",
    "diagonal_sweep",
    "keras_predictor",
    "layer_smoothness",
    "layerwise_sensitivity",
    "onepixel",
    "onepixel_frames",
    "predict_batched",
    "representation_model",
    "representations",
    "shift_grid",
    "shift_pairs",
    "subpixel_shift_pairs",
]
