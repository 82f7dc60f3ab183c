"""The recipe engine: load a declarative spec (TOML), run it, write records, tables and figures.

Specs live in the repository's top-level ``recipes/`` folder and ship inside the wheel as
``kerasinv/recipes/specs/``. ``kerasinv recipe NAME`` finds a shipped spec by name; ``kerasinv recipe
path/to/spec.toml`` runs a user's own. A spec names its ``runner``: the module that runs it.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from kerasinv.recipes.specs import find_spec, list_specs, load_spec

__all__ = ["RUNNERS", "find_spec", "list_specs", "load_spec", "preflight", "run_recipe"]

_COMMON = {"preset", "seed", "overwrite", "data_dir", "download"}
#: runner name -> (module, the options it takes besides the spec, output, verbose and log).
RUNNERS = {
    "springenberg": (
        "kerasinv.recipes.springenberg",
        _COMMON
        | {"models", "dataset", "epochs", "augment", "width", "learning_rate", "batch_size"}
        | {"train_subset", "strategy", "init", "bias_decay", "grid"},
    ),
    "curve": (
        "kerasinv.recipes.curve",
        _COMMON
        | {"models", "epochs", "width", "learning_rate", "batch_size", "strategy"}
        | {"init", "bias_decay", "grid"},
    ),
    "azulay": (
        "kerasinv.recipes.azulay",
        _COMMON
        | {"images", "labels", "limit", "networks", "weights", "model", "protocols"}
        | {"countermeasures", "background", "preprocess", "cifar_images", "batch_size"},
    ),
    "zhang": (
        "kerasinv.recipes.zhang",
        _COMMON
        | {"models", "variants", "epochs", "width", "learning_rate", "batch_size", "train_subset"}
        | {"augment", "images", "labels", "limit", "model", "preprocess", "trials"},
    ),
    "ruderman": (
        "kerasinv.recipes.ruderman",
        _COMMON
        | {"models", "epochs", "width", "learning_rate", "batch_size", "train_subset"}
        | {"strengths", "probe_images"},
    ),
}


def _runner_entry(spec: dict):
    from kerasinv.errors import ConfigError

    runner = spec.get("runner")
    if runner not in RUNNERS:
        raise ConfigError(
            f"recipe {spec.get('recipe', '?')!r} names runner {runner!r}; known runners: "
            f"{', '.join(RUNNERS)}"
        )
    return RUNNERS[runner]


def _flag(option: str) -> str:
    return "--lr" if option == "learning_rate" else "--" + option.replace("_", "-")


def check_options(spec: dict, options: dict) -> None:
    """Refuse options the recipe's runner does not use (e.g. ``--augment`` for azulay-onepixel)."""
    from kerasinv.errors import ConfigError

    _, accepted = _runner_entry(spec)
    extra = sorted(k for k in options if k not in accepted)
    if extra:
        flags = ", ".join(_flag(k) for k in extra)
        takes = ", ".join(_flag(k) for k in sorted(accepted))
        raise ConfigError(f"{flags}: not an option of recipe {spec['recipe']!r} (it takes {takes})")


def run_recipe(spec: dict, output, verbose: int = 2, log=None, **options):
    """Run ``spec`` with the runner it names; returns the run's records.

    ``options`` are the runner's keyword arguments (see each runner's ``run``); unknown ones are
    refused with the list of accepted ones. ``log`` receives progress lines (default: stderr).
    """
    check_options(spec, options)
    module, _ = _runner_entry(spec)
    if log is not None:
        options["log"] = log
    run = importlib.import_module(module).run
    if options.get("strategy") == "multi-worker":
        from kerasinv import multi_worker

        multi_worker.strategy()  # before any other TensorFlow op, as TensorFlow requires
        if not multi_worker.cluster().is_chief:
            import tempfile

            # other workers compute alongside the chief but write into a private folder
            with tempfile.TemporaryDirectory(prefix="kerasinv-worker-") as private:
                options["overwrite"] = False
                return run(spec, output=Path(private) / "output", verbose=verbose, **options)
    return run(spec, output=output, verbose=verbose, **options)


def preflight(spec: dict, **options) -> None:
    """Check names, paths and that the data can be found, without importing TensorFlow (< 1 s)."""
    from kerasinv.data.cifar import locate_cifar
    from kerasinv.errors import ConfigError, DataNotFoundError, UnknownNameError

    check_options(spec, options)
    if options.get("strategy") == "multi-worker":
        from kerasinv.multi_worker import cluster

        cluster()  # TF_CONFIG must describe the cluster
    preset = options.get("preset") or spec.get("default_preset")
    if preset not in spec["presets"]:
        raise UnknownNameError("preset", str(preset), spec["presets"])
    p = spec["presets"][preset]
    for name in [*(options.get("models") or []), *p.get("models", [])]:
        if name not in spec["models"] and spec["runner"] != "azulay":
            raise UnknownNameError("model", name, spec["models"])
    for name in options.get("networks") or []:
        if name not in spec["models"]:
            raise UnknownNameError("network", name, spec["models"])
    for key in ("images", "labels"):
        if options.get(key) and not Path(options[key]).exists():
            raise DataNotFoundError(f"--{key} {options[key]}: no such file or folder")
    runner = spec["runner"]
    if runner == "azulay":
        from kerasinv.recipes import subjects

        subjects.parse_weights(options.get("weights"))
        subjects.parse_models(options.get("model"))
        networks = options.get("networks", p.get("networks", spec["models"]))
        if networks and not options.get("images"):
            raise ConfigError(
                f"preset {preset!r} measures {', '.join(networks)} on ImageNet photos: pass --images "
                "DIR (a folder or tar of photos), or --networks none to skip them"
            )
        if options.get("data_dir") is not None:  # a named place must hold CIFAR-10
            locate_cifar("cifar10", options["data_dir"], options.get("download", False))
        return  # without CIFAR-10 the shipped model is measured on the embedded sample
    if runner == "zhang":
        from kerasinv.recipes import subjects

        subjects.parse_models(options.get("model"))
        if options.get("model") and not options.get("images"):
            raise ConfigError("--model needs --images DIR: the photos to measure consistency on")
    if p.get("data", "cifar") != "embedded" or options.get("data_dir") is not None:
        dataset = options.get("dataset", "cifar10")
        locate_cifar(dataset, options.get("data_dir"), options.get("download", False))
