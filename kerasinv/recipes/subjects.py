"""What a measuring recipe measures: the paper's networks with their weights, users' models, the
shipped CIFAR-10 model, and drop-in anti-aliased twins of any of them.

Command-line forms (parsed here, so the CLI stays thin):

- ``--weights imagenet`` (default): every paper network gets its keras.applications ImageNet weights;
  ``--weights vgg16=PATH`` gives one network a local ``.weights.h5`` / ``.h5``;
  ``--weights resnet50:blur-4=PATH`` gives an anti-aliased build of it its own (retrained) weights.
- ``--model PATH`` or ``--model LABEL=PATH``: any ``.keras`` file or SavedModel folder.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from kerasinv.errors import ConfigError, KerasinvError
from kerasinv.models.architectures import PAPER_NETWORKS, architecture

BASELINE = "baseline"


@dataclasses.dataclass
class Subject:
    """One network to measure.

    Attributes:
        label: its column name in tables and figures, e.g. ``"vgg16"``, ``"vgg16 + blur-3"``.
        network: the paper network it is an instance of (``"vgg16"``), or ``None`` for user models.
        variant: ``"baseline"`` or the anti-aliasing method (``"blur-3"``, ``"aps"``).
        model: the loaded model (:class:`kerasinv.models.LoadedModel`).
        weights: where the weights came from (for records).
        retrained: whether anti-aliased weights were trained with the blur (``False`` for drop-in
            twins of a network trained without it).
    """

    label: str
    network: str | None
    variant: str
    model: object
    weights: str
    retrained: bool = True


@dataclasses.dataclass
class Unavailable:
    """A subject that could not be loaded, with the reason (reported in the table, not fatal)."""

    label: str
    reason: str


def parse_weights(values: Sequence[str] | None) -> dict[tuple[str, str], str]:
    """``--weights`` values -> ``{(network, variant): "imagenet" | path}``; ``("*", "baseline")``
    holds the default for every network (``"imagenet"`` unless given)."""
    out: dict[tuple[str, str], str] = {("*", BASELINE): "imagenet"}
    for value in values or []:
        value = value.strip()
        if value == "imagenet":
            out[("*", BASELINE)] = "imagenet"
            continue
        if "=" not in value:
            raise ConfigError(
                f"--weights {value!r}: use 'imagenet', 'NETWORK=PATH' or 'NETWORK:blur-K=PATH' "
                "(e.g. --weights vgg16=vgg16.weights.h5)"
            )
        key, source = (part.strip() for part in value.split("=", 1))
        network, _, variant = key.partition(":")
        if network not in PAPER_NETWORKS:
            raise ConfigError(
                f"--weights {value!r}: unknown network {network!r}; known: "
                f"{', '.join(PAPER_NETWORKS)}"
            )
        if source != "imagenet" and not Path(source).is_file():
            raise ConfigError(f"--weights {value!r}: no file at {source}")
        out[(network, variant or BASELINE)] = source
    return out


def parse_models(values: Sequence[str] | None) -> list[tuple[str, Path]]:
    """``--model`` values -> ``[(label, path)]``; the label defaults to the file or folder name."""
    out = []
    for value in values or []:
        label, sep, path = value.partition("=")
        if not sep:
            label, path = "", value
        path = Path(path.strip()).expanduser()
        if not path.exists():
            raise ConfigError(f"--model {value!r}: no .keras file or SavedModel folder at {path}")
        if not label:
            label = path.parent.name if path.name.isdigit() else path.stem
        out.append((label.strip(), path))
    return out


def network(name: str, weights: str = "imagenet", variant: str = BASELINE) -> Subject:
    """A paper network built by :mod:`kerasinv.models.imagenet` with ``weights`` (``"imagenet"`` or a
    file) and ``variant`` (``"baseline"`` or an anti-aliasing method) built in."""
    from kerasinv import models
    from kerasinv.models.loading import from_keras

    model = models.get(
        name, classes=1000, weights=weights, antialias=None if variant == BASELINE else variant
    )
    label = name if variant == BASELINE else f"{name} + {variant}"
    loaded = from_keras(
        model, architecture(name).preprocess, source=f"{name} ({weights})", name=label
    )
    return Subject(label, name, variant, loaded, weights)


def check_user_models(model_paths: Sequence[tuple[str, Path]], preprocess: str = "auto") -> None:
    """Load every ``--model`` once before any measuring, so a model that cannot be measured (not
    loadable, not ``[B, S, S, 3] -> [B, K]``) is a one-line error at the start, not after minutes.

    Raises:
        DataFormatError: naming the model and what is wrong with it.
    """
    for label, path in model_paths:
        user_model(path, label, preprocess)


def user_model(path: Path, label: str, preprocess: str = "auto") -> Subject:
    """A user's ``.keras`` file or SavedModel."""
    from kerasinv.models.loading import load_model

    loaded = load_model(path, preprocess)
    loaded.name = label
    return Subject(label, None, BASELINE, loaded, str(path))


def twin(subject: Subject, method: str) -> Subject:
    """The drop-in anti-aliased twin of ``subject`` (same weights, no retraining).

    Raises:
        ConfigError: the subject has no Keras model (a SavedModel) or nothing to anti-alias.
    """
    from kerasinv.models import antialias, plan_antialias
    from kerasinv.models.loading import from_keras
    from kerasinv.models.twins import no_op_note

    keras_model = subject.model.keras_model
    if keras_model is None:
        raise ConfigError(
            f"{subject.label} is a SavedModel: anti-aliased twins need the Keras model (.keras)"
        )
    try:
        changes = plan_antialias(keras_model, method)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{subject.label} cannot be anti-aliased: {e}") from None
    if not any(c.kind != "skipped" for c in changes):
        raise ConfigError(f"{subject.label} has no strided layer to anti-alias")
    with warnings.catch_warnings():  # a no-op twin is noted with its numbers instead
        warnings.simplefilter("ignore")
        model = antialias(keras_model, method)
    label = f"{subject.label} + {method}"
    loaded = from_keras(model, subject.model.preprocess, source=subject.model.source, name=label)
    note = no_op_note(changes, method)
    if note:
        loaded.notes.append(note)
    return Subject(label, subject.network, method, loaded, subject.weights, retrained=False)


@dataclasses.dataclass
class Planned:
    """A subject to measure, built only when :meth:`load` is called (so finished subjects of a
    resumed run are never built, and one network group is in memory at a time)."""

    label: str
    make: Callable[[], Subject]

    def load(self, log=print) -> Subject | Unavailable:
        log(f"loading {self.label} ...")
        try:
            return self.make()
        except KerasinvError as e:
            log(f"{self.label}: not measured: {e}")
            return Unavailable(self.label, str(e))


def plan(
    networks: Sequence[str],
    weights: dict[tuple[str, str], str],
    model_paths: Sequence[tuple[str, Path]],
    countermeasures: Sequence[str],
    preprocess: str = "auto",
) -> list[Planned]:
    """Every subject of a run, in table order: each network (then its drop-in twins, or its builds
    with anti-aliased weights of their own), then each user model (then its twins)."""
    out: list[Planned] = []

    def group(label: str, make_base: Callable[[], Subject], own: dict[str, Callable]):
        cache: dict[str, Subject | KerasinvError] = {}

        def base() -> Subject:
            if "base" not in cache:
                try:
                    cache["base"] = make_base()
                except KerasinvError as e:  # the twins fail for the same reason: try once
                    cache["base"] = e
            if isinstance(cache["base"], KerasinvError):
                raise cache["base"]
            return cache["base"]

        out.append(Planned(label, base))
        for method in countermeasures:
            make = own.get(method) or (lambda m=method: twin(base(), m))
            out.append(Planned(f"{label} + {method}", make))

    for name in networks:
        base_weights = weights.get((name, BASELINE), weights[("*", BASELINE)])
        own = {
            m: (lambda m=m, n=name, w=weights[(name, m)]: network(n, w, m))
            for m in countermeasures
            if (name, m) in weights
        }
        group(name, lambda name=name, w=base_weights: network(name, w), own)
    for label, path in model_paths:
        group(label, lambda p=path, lab=label: user_model(p, lab, preprocess), {})
    return out


__all__ = [
    "BASELINE",
    "Planned",
    "Subject",
    "Unavailable",
    "network",
    "parse_models",
    "parse_weights",
    "plan",
    "twin",
    "user_model",
]
