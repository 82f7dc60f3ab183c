"""The All-CNN training protocol that ``springenberg-allcnn`` and ``springenberg-curve`` share: its
settings (the spec's ``[training]`` table, overridden by flags), the builder options they imply,
the data and the GCN + ZCA preprocessing of a run.

Where the paper is silent the shipped specs follow the public Caffe reproduction (see their
comments and docs/recipes/springenberg-curve.md).
"""

from __future__ import annotations

from kerasinv.errors import ConfigError, UnknownNameError
from kerasinv.lazy import lazy_import
from kerasinv.recipes.engine import setting

# TensorFlow only when a run starts
training = lazy_import("kerasinv.training")
preprocessing = lazy_import("kerasinv.data.preprocessing")

#: Initialisers a user may pick with ``--init`` (Keras names).
INITIALIZERS = ("lecun_uniform", "glorot_uniform", "he_uniform", "he_normal", "lecun_normal")
GRIDS = ("even", "keras")


def protocol_settings(
    spec: dict,
    learning_rate: float | None,
    batch_size: int | None,
    init: str | None,
    bias_decay: bool | None,
    grid: str | None,
    preset: dict | None = None,
    reshuffle: bool | None = None,
) -> dict:
    """The training protocol: the spec's ``[training]`` table (or the ``preset`` table's values),
    overridden by flags (:func:`kerasinv.recipes.engine.setting`'s rule).

    Where the paper is silent the shipped spec follows the public Caffe reproduction (see its
    comments): batch 256, Caffe's fan-in ``xavier`` (``lecun_uniform``), decay on biases too, the
    even stride-2 grid, one data order for every epoch. ``reshuffle`` appears in the settings
    only when false (absent means a new order every epoch, ``--reshuffle``); ``stream`` (``[training] stream = true``: Caffe's batches, which run across
    the end of the data) only when true.
    """
    t, p = spec.get("training", {}), preset or {}

    def drop(value):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{spec.get('_path', 'the spec')}: [training] drops must be epochs, got {value!r}"
            ) from None

    settings = {
        "learning_rate": setting(spec, p, "learning_rate", learning_rate, 0.05),
        "momentum": setting(spec, p, "momentum", None, 0.9),
        "weight_decay": setting(spec, p, "weight_decay", None, 0.001),
        "batch_size": setting(spec, p, "batch_size", batch_size, 128),
        "drops": [drop(d) for d in t.get("drops", training.PAPER_DROPS)],
        "drop_factor": setting(spec, p, "drop_factor", None, 0.1),
        "max_shift": setting(spec, p, "max_shift", None, 5),
        "class_relu": bool(t.get("class_relu", True)),
        "init": str(init or t.get("init", "glorot_uniform")),
        "bias_decay": bool(t.get("bias_decay", False) if bias_decay is None else bias_decay),
        "grid": str(grid or t.get("grid", "keras")),
    }
    if not (t.get("reshuffle", True) if reshuffle is None else reshuffle):
        settings["reshuffle"] = False  # Caffe's fixed data order (see the docstring)
    if t.get("stream", False):  # Caffe's batches across the end of the data (TrainConfig.stream)
        if settings.get("reshuffle", True):
            raise ConfigError(
                f"{spec.get('_path', 'the spec')}: [training] stream = true reads one fixed data "
                "order; it needs reshuffle = false (and no --reshuffle)"
            )
        settings["stream"] = True
    if settings["init"] not in INITIALIZERS:
        raise UnknownNameError("initialiser", settings["init"], INITIALIZERS)
    if settings["grid"] not in GRIDS:
        raise UnknownNameError("stride-2 grid", settings["grid"], GRIDS)
    return settings


def model_options(settings: dict) -> dict:
    """Builder keyword arguments for the protocol in ``settings``."""
    return {
        "weight_decay": settings["weight_decay"],
        "bias_decay": settings["bias_decay"],
        "kernel_initializer": settings["init"],
        "sampling_grid": settings["grid"],
        "class_relu": settings["class_relu"],
    }


def whitened_data(ctx) -> tuple:
    """``(splits, whitening layer)`` of a run (:class:`~kerasinv.recipes.engine.Context`): the
    embedded sample or CIFAR, subsampled as the preset says (an explicit ``--data-dir`` is honoured
    on every preset: :func:`~kerasinv.recipes.cifar_runs.load_splits`), and its GCN + ZCA:
    ``preprocessing.npz`` of the output folder when resuming, else fitted on the training split
    (cached on disk by :func:`~kerasinv.data.preprocessing.fit_gcn_zca`) and saved there. The data's
    source is noted in the run's results."""
    from kerasinv.recipes.cifar_runs import load_splits

    settings, options = ctx.settings, ctx.options
    ctx.say(f"preset {settings['preset']}: loading {settings['dataset']} ...")
    splits = load_splits(
        settings["data"], options.get("data_dir"), options.get("download", False),
        settings.get("train_subset"), settings.get("test_subset"), settings["seed"],
        dataset=settings["dataset"],
    )  # fmt: skip
    ctx.results["data_source"] = splits.source
    ctx.say(f"data: {splits.source}")
    prep_file = ctx.output / "preprocessing.npz"
    if prep_file.is_file() and ctx.resuming:
        return splits, preprocessing.GCNZCA.load(prep_file).layer()
    ctx.say(f"fitting GCN + ZCA on {len(splits.x_train)} training images ...")
    prep = preprocessing.fit_gcn_zca(splits.x_train)
    prep.save(prep_file)
    return splits, prep.layer()
