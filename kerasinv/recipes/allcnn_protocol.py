"""The All-CNN training protocol that ``springenberg-allcnn`` and ``springenberg-curve`` share: its
settings (the spec's ``[training]`` table, overridden by flags), the builder options they imply,
the data and the GCN + ZCA preprocessing of a run.

Where the paper is silent the shipped specs follow the public Caffe reproduction (see their
comments and docs/recipes/springenberg-curve.md).
"""

from __future__ import annotations

from kerasinv.errors import ConfigError
from kerasinv.lazy import lazy_import
from kerasinv.recipes.settings import (
    BATCH_SIZE,
    DROP_FACTOR,
    DROPS,
    LEARNING_RATE,
    MOMENTUM,
    WEIGHT_DECAY,
    Setting,
)

# TensorFlow only when a run starts
training = lazy_import("kerasinv.training")
preprocessing = lazy_import("kerasinv.data.preprocessing")

#: Initialisers a user may pick with ``--init`` (Keras names).
INITIALIZERS = ("lecun_uniform", "glorot_uniform", "he_uniform", "he_normal", "lecun_normal")
GRIDS = ("even", "keras")


#: The protocol's settings, read from the spec's ``[training]`` table (a preset may override
#: them; flags override the ones that have one). Where the paper is silent the shipped specs
#: follow the public Caffe reproduction (see their comments): batch 256, Caffe's fan-in
#: ``xavier`` (``lecun_uniform``), decay on biases too, the even stride-2 grid, one data order for
#: every epoch.
PROTOCOL = (
    LEARNING_RATE,
    MOMENTUM,
    WEIGHT_DECAY,
    BATCH_SIZE,
    DROPS,
    DROP_FACTOR,
    Setting("max_shift", "int", minimum=0),
    Setting("class_relu", "bool"),
    Setting("init", "str", choices=INITIALIZERS, noun="initialiser"),
    Setting("bias_decay", "bool"),
    Setting("grid", "str", choices=GRIDS, noun="stride-2 grid"),
    Setting("reshuffle", "bool"),
    Setting("stream", "bool"),
)


def protocol_settings(resolved: dict, spec: dict) -> dict:
    """``resolved`` (the run's settings, :data:`PROTOCOL` among them) with the protocol's rules
    applied: ``reshuffle`` is kept only when false (absent means a new order every epoch,
    ``--reshuffle``), ``stream`` (Caffe's batches, which run across the end of the data) only when
    true, and only with one fixed data order.

    Raises:
        ConfigError: ``stream`` with ``reshuffle``.
    """
    out = dict(resolved)
    if not out.pop("reshuffle"):
        out["reshuffle"] = False
    if out.pop("stream"):
        if out.get("reshuffle", True):
            raise ConfigError(
                f"{spec.get('_path', 'the spec')}: [training] stream = true reads one fixed data "
                "order; it needs reshuffle = false (and no --reshuffle)"
            )
        out["stream"] = True
    return out


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
