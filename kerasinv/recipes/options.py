"""The command-line options a recipe can take, declared once; each runner lists the ones it takes
(its ``OPTIONS``), so ``kerasinv recipe NAME --help`` shows only those.

An :class:`Option` is plain data (no Click): ``kerasinv.cli`` turns it into a Click parameter, and
:func:`kerasinv.recipes.run_recipe` refuses keywords a runner did not declare.
"""

from __future__ import annotations

import dataclasses

from kerasinv.precision import PRECISIONS

#: Option kinds: how the command line parses the value.
OPTION_KINDS = ("str", "int", "float", "path", "flag", "switch", "csv", "csv_or_none", "floats", "ints",
         "choice", "multiple")  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Option:
    """One recipe option.

    Attributes:
        name: the runner's keyword argument (``learning_rate``).
        help: one line for ``--help``.
        kind: one of :data:`OPTION_KINDS` (``csv_or_none``: comma-separated, ``none`` = empty list;
            ``switch``: ``--x/--no-x``; ``multiple``: repeatable).
        flag: the command-line flag (default ``--`` + the name with hyphens).
        choices: the allowed values of a ``choice``.
        minimum: the smallest allowed ``int``.
        metavar: the value's placeholder in ``--help``.
    """

    name: str
    help: str
    kind: str = "str"
    flag: str | None = None
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    metavar: str | None = None

    def __post_init__(self):
        if self.kind not in OPTION_KINDS:
            raise ValueError(f"option {self.name}: unknown kind {self.kind!r}")

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    def but(self, **changes) -> Option:
        """A copy with some fields changed (a runner's own help text, say)."""
        return dataclasses.replace(self, **changes)


_OPTIONS = (
    # every recipe
    Option("preset", "Preset of the recipe (see the list below).", metavar="NAME"),
    Option("seed", "Seed for Python, NumPy and TensorFlow [0].", "int"),
    Option(
        "data_dir",
        "Folder or archive holding CIFAR (default: $KERASINV_DATA_DIR, then the tfds and Keras "
        "caches).",
        "path",
    ),
    Option("download", "Download CIFAR if it is not found locally (network).", "flag"),
    Option("overwrite", "Discard earlier results in the output folder.", "flag"),
    # training
    Option("models", "Comma-separated subset of the recipe's models.", "csv_or_none"),
    Option("epochs", "Override the preset's epochs.", "int", minimum=1),
    Option("width", "Override the preset's channel-width multiplier.", "float"),
    Option("learning_rate", "Override the learning rate.", "float", flag="--lr"),
    Option("batch_size", "Override the batch size.", "int", minimum=1),
    Option("train_subset", "Train on a class-balanced subset of this size.", "int", minimum=10),
    Option("augment", "Train with flips and translations.", "flag"),
    Option("dataset", "cifar10 or cifar100.", "choice", choices=("cifar10", "cifar100")),
    Option(
        "strategy",
        "tf.distribute strategy [default]; multi-worker reads the cluster from TF_CONFIG (run the "
        "same command on every worker; the chief writes --output).",
        "choice",
        choices=("default", "mirrored", "multi-worker"),
    ),
    Option(
        "precision",
        "float32 (the reproductions'), or mixed_bfloat16 / mixed_float16 where the hardware has "
        "the units (refused where it would only emulate them); models are measured in float32.",
        "choice",
        choices=PRECISIONS,
    ),
    Option(
        "init",
        "Conv initialiser: lecun_uniform (Caffe's xavier), glorot_uniform, he_uniform, he_normal, "
        "lecun_normal.",
    ),
    Option("bias_decay", "Weight decay on the biases too (Caffe's default).", "switch"),
    Option(
        "reshuffle",
        "A new order of the training images every epoch, or (--no-reshuffle) one seeded order "
        "every epoch, as Caffe's LMDB data layer reads it.",
        "switch",
    ),
    Option(
        "grid",
        "Positions a stride-2 conv samples: even (Caffe, PyTorch) or keras (padding='same').",
        "choice",
        choices=("even", "keras"),
    ),
    # measuring
    Option(
        "model",
        "A .keras file or SavedModel folder to measure, as PATH or LABEL=PATH. Repeatable.",
        "multiple",
    ),
    Option(
        "images",
        "Folder or tar of ImageNet photos (named by WordNet id, or see --labels).",
        "path",
    ),
    Option(
        "labels",
        "Label file for photos named without WordNet ids ('<file> <wnid>' lines, "
        "LOC_val_solution.csv).",
        "path",
    ),
    Option(
        "limit", "Use at most N photos, spread evenly over the classes (seeded).", "int", minimum=1
    ),
    Option(
        "preprocess",
        "Preprocessing of --model inputs (auto: by the model's name).",
        "choice",
        choices=("auto", "none", "caffe", "tf", "torch"),
    ),
    Option(
        "networks",
        "Comma-separated ImageNet networks (vgg16, resnet50, inception-resnet-v2) or none.",
        "csv_or_none",
    ),
    Option(
        "weights",
        "'imagenet' (default), NETWORK=PATH, or NETWORK:blur-K=PATH for anti-aliased weights. "
        "Repeatable.",
        "multiple",
    ),
    Option("protocols", "Comma-separated subset of crop, black, inpaint, scale, shift.", "csv"),
    Option(
        "countermeasures", "Anti-aliasing twins to add, e.g. blur-3,aps, or none.", "csv_or_none"
    ),
    Option(
        "background",
        "Canvas of black/inpaint/scale (the spec's default: mean, as the authors' code).",
        "choice",
        choices=("black", "mean"),
    ),
    Option("cifar_images", "CIFAR-10 test images for CIFAR-size models.", "int", minimum=2),
    Option(
        "variants",
        "Comma-separated subset of the downsampling variants (blur-1 .. blur-7, aps).",
        "csv",
    ),
    Option(
        "methods",
        "Comma-separated subset of the downsampling methods (baseline, blur-K, aps[-K], lps[-K]).",
        "csv",
    ),
    Option("paddings", "Comma-separated subset of the paddings: zero, circular.", "csv"),
    Option(
        "seeds",
        "Comma-separated training seeds (initialisation and data order), e.g. 0,1,2.",
        "ints",
    ),
    Option("trials", "Random-shift passes (paper: 5).", "int", minimum=1),
    Option(
        "strengths",
        "Comma-separated deformation strengths C in pixels, e.g. 0.5,1,2,4.",
        "floats",
    ),
    Option("probe_images", "Test images on which sensitivity is measured.", "int", minimum=4),
)

#: Every option a recipe may declare, by name.
CATALOG = {o.name: o for o in _OPTIONS}
#: The options every recipe takes.
COMMON = ("preset", "seed", "data_dir", "download", "overwrite")
#: The options of a recipe that trains small CIFAR networks (zhang, ruderman, methods).
CIFAR_TRAINING = ("epochs", "width", "learning_rate", "batch_size", "train_subset")


def option(name: str, **changes) -> Option:
    """The catalogue's option ``name``, with ``changes`` (e.g. ``help=``) applied."""
    return CATALOG[name].but(**changes) if changes else CATALOG[name]


def flag_of(name: str) -> str:
    """The command-line flag of a keyword (``learning_rate`` -> ``--lr``)."""
    return CATALOG[name].cli_flag if name in CATALOG else "--" + name.replace("_", "-")


def common() -> tuple[Option, ...]:
    return tuple(CATALOG[name] for name in COMMON)


__all__ = [
    "CATALOG",
    "CIFAR_TRAINING",
    "COMMON",
    "OPTION_KINDS",
    "Option",
    "common",
    "flag_of",
    "option",
]
