"""Training pieces shared by the CIFAR recipes that train many small networks (zhang-blurpool,
ruderman-deformation): data loading, the in-graph input normalisation, one resumable training run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from kerasinv.io import atomic_path
from kerasinv.lazy import lazy_import

training = lazy_import("kerasinv.training")  # TensorFlow only when a run starts


def load_splits(
    data: str,
    data_dir,
    download: bool,
    train: int | None,
    test: int | None,
    seed: int,
    dataset: str = "cifar10",
):
    """The data a preset names, optionally subsampled (class-balanced, ``seed``).

    ``data="cifar"``: CIFAR-10/100 from ``data_dir`` (only there, when given) or the default caches.
    ``data="embedded"``: the shipped 2,000/1,000-image sample; but when the user passes ``data_dir``
    the sample is drawn from *their* CIFAR there instead (the same 2,000/1,000 sizes, class-balanced),
    so an explicit ``--data-dir`` is honoured on every preset (and a bad one is an error).
    """
    from kerasinv.data.cifar import load_cifar
    from kerasinv.data.samples import TEST_PER_CLASS, TRAIN_PER_CLASS, load_embedded_sample

    if data == "embedded" and data_dir is None:
        splits = load_embedded_sample()
    else:
        splits = load_cifar(dataset, data_dir, download)
        if data == "embedded":
            k = splits.num_classes
            train = train or TRAIN_PER_CLASS * min(k, 10)
            test = test or TEST_PER_CLASS * min(k, 10)
    if train or test:
        splits = splits.subset(train, test, seed=seed)
    return splits


def run_splits(ctx):
    """:func:`load_splits` for a recipe run (:class:`kerasinv.recipes.engine.Context`): its
    settings' data, subsets and seed, its ``--data-dir`` / ``--download``; the source is noted in
    the results and said."""
    settings, options = ctx.settings, ctx.options
    splits = load_splits(
        settings["data"], options.get("data_dir"), options.get("download", False),
        settings["train_subset"], settings["test_subset"], settings["seed"],
    )  # fmt: skip
    ctx.results["data_source"] = splits.source
    ctx.say(f"data: {splits.source}")
    return splits


def channel_stats(x: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of ``uint8 [N, H, W, C]`` training images, the
    ``input_normalization`` the builders put in the graph."""
    x = np.asarray(x, np.float64)
    return x.mean(axis=(0, 1, 2)).tolist(), x.std(axis=(0, 1, 2)).tolist()


def builder(
    name: str, antialias: str | None, conv_padding: str, width: float, weight_decay: float, stats
) -> Callable:
    """A builder of the CIFAR network ``name`` (``all-cnn-c`` or a ``vgg*-cifar``) as the short
    CIFAR recipes train it: batch normalisation, raw pixels standardised in the graph by
    ``stats`` (:func:`channel_stats`), ``antialias`` downsampling (``None``, ``blur-K``,
    ``aps[-K]``, ``lps[-K]``) and ``conv_padding`` (``zero``, or ``circular`` in every conv, pool
    window and blur); All-CNN-C without dropout or the class ReLU, He-initialised."""
    from kerasinv import models as registry

    options = {
        "width": width,
        "weight_decay": weight_decay,
        "batch_norm": True,
        "input_normalization": stats,
        "antialias": antialias,
        "conv_padding": conv_padding,
    }
    if name.startswith("all-cnn"):
        options.update(dropout=False, class_relu=False, kernel_initializer="he_normal")
    return lambda: registry.get(name, **options)


def scaled_drops(drops: list[int], total: int) -> tuple[int, ...]:
    """Drop epochs given for a ``total``-epoch schedule, in :mod:`kerasinv.training`'s 350-epoch
    convention (so ``TrainConfig`` scales them to any run length)."""
    return tuple(round(d * training.PAPER_EPOCHS / total) for d in drops)


def protocol(settings: dict) -> dict:
    """``settings`` read with :data:`~kerasinv.recipes.settings.CIFAR_PROTOCOL`, as a run keeps
    them: the drops in :mod:`kerasinv.training`'s 350-epoch convention instead of for
    ``schedule_epochs``."""
    out = {k: v for k, v in settings.items() if k != "schedule_epochs"}
    out["drops"] = list(scaled_drops(settings["drops"], settings["schedule_epochs"]))
    return out


def padded_for_shifts(x: np.ndarray, settings: dict) -> np.ndarray:
    """Test images ``[N, S, S, C]`` padded by ``max_shift`` px on every side (``padding``:
    ``reflect`` or ``zero``), float32: the larger image Zhang's shift pairs crop from
    (:data:`~kerasinv.recipes.settings.SHIFT_PAIRS`)."""
    m = settings["max_shift"]
    mode = "reflect" if settings["padding"] == "reflect" else "constant"
    return np.pad(np.asarray(x, np.float32), [(0, 0), (m, m), (m, m), (0, 0)], mode=mode)


def train_or_load(
    build: Callable,
    model_file: Path,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    config: training.TrainConfig,
    workdir: Path,
):
    """Train ``build()`` (resuming from ``workdir``) and save it to ``model_file`` atomically; or
    load ``model_file`` if a previous run finished it. Returns ``(model, history or None)``."""
    import keras

    import kerasinv.layers  # noqa: F401  (custom layers for loading)

    if model_file.is_file():
        return keras.saving.load_model(model_file, compile=False), None
    train_data, test_data = training.make_datasets(x_train, y_train, x_test, y_test, None, config)
    result = training.train(build, train_data, test_data, config, workdir)
    model_file.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(model_file, suffix=".keras") as tmp:
        result.model.save(tmp)
    return result.model, result.history


def predict(model, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Probabilities ``[N, K]`` of ``model`` on ``x`` in batches (inference mode)."""
    out = [
        np.asarray(model.predict_on_batch(np.asarray(x[i : i + batch_size], np.float32)))
        for i in range(0, len(x), batch_size)
    ]
    return np.concatenate(out)


__all__ = [
    "builder",
    "channel_stats",
    "load_splits",
    "padded_for_shifts",
    "predict",
    "protocol",
    "scaled_drops",
    "train_or_load",
]
