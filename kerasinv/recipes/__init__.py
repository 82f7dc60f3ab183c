"""The recipe engine: load a declarative spec (TOML), run it, write records, tables and figures.

Specs live in the repository's top-level ``recipes/`` folder and ship inside the wheel as
``kerasinv/recipes/specs/``. ``kerasinv recipe NAME`` finds a shipped spec by name; ``kerasinv recipe
path/to/spec.toml`` runs a user's own. A spec names its ``runner``: the module that runs it.
"""

from __future__ import annotations

from pathlib import Path

from kerasinv.recipes.specs import RUNNERS, find_spec, list_specs, load_spec, runner_module

__all__ = [
    "RUNNERS",
    "check_options",
    "check_request",
    "find_spec",
    "list_specs",
    "load_spec",
    "preflight",
    "recipe_options",
    "run_recipe",
    "runner_module",
]


def recipe_options(spec: dict) -> tuple:
    """The :class:`~kerasinv.recipes.options.Option` s ``spec``'s recipe takes: the common ones,
    then its runner's."""
    from kerasinv.recipes.options import common

    return (*common(), *runner_module(spec).OPTIONS)


def check_options(spec: dict, options: dict) -> None:
    """Refuse options the recipe's runner does not use (e.g. ``--augment`` for azulay-onepixel)."""
    from kerasinv.errors import ConfigError
    from kerasinv.recipes.options import flag_of

    accepted = {o.name for o in recipe_options(spec)}
    extra = sorted(k for k in options if k not in accepted)
    if extra:
        flags = ", ".join(flag_of(k) for k in extra)
        takes = ", ".join(flag_of(k) for k in sorted(accepted))
        raise ConfigError(f"{flags}: not an option of recipe {spec['recipe']!r} (it takes {takes})")


def run_recipe(spec: dict, output, verbose: int = 2, log=None, **options):
    """Run ``spec`` with the runner it names; returns the run's records.

    ``options`` are the recipe's options (its ``OPTIONS`` and the common ones), handed to the
    runner as one mapping; unknown ones are refused with the list of accepted ones. ``log``
    receives progress lines (default: stderr).
    """
    settings = preflight(spec, **options)  # the CLI's checks, for callers from Python too
    precision = settings.get("precision", "float32")
    if precision != "float32":  # before any data is read: the hardware must have the units
        from kerasinv.precision import check_precision

        check_precision(precision)
    runner = runner_module(spec).RUNNER

    def run(spec, output, verbose, **options):
        from kerasinv.recipes.engine import execute

        return execute(runner, spec, output, options, verbose, log)

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


def default_name(spec: dict) -> str:
    """The name of a run's default output folder: the recipe's for a shipped spec, the file's
    stem for a user's own (an edited copy of a shipped spec keeps the ``recipe`` key, and must not
    write into the shipped recipe's folder)."""
    from kerasinv.recipes.specs import list_specs

    path = Path(spec.get("_path", ""))
    shipped = list_specs().get(spec["recipe"])
    if shipped is not None and path.resolve() == shipped.resolve():
        return spec["recipe"]
    return path.stem or spec["recipe"]


def check_request(spec: dict, output, options: dict) -> tuple[str, int | None]:
    """Everything ``kerasinv recipe`` checks before TensorFlow: the options (:func:`preflight`) and
    the output folder (default ``runs/<recipe>-<preset>``; for a user's spec file,
    ``runs/<file stem>-<preset>``). Returns ``(output, worker)``: ``worker``
    is the task index of a multi-worker run's non-chief worker (it writes nothing of its own, so
    its folder is not checked), else ``None``. ``options`` is modified in place (lists for the
    repeatable options)."""
    from kerasinv.output_folder import check_output

    for key in ("weights", "model"):
        if key in options:
            options[key] = list(options[key])
    from kerasinv.recipes.settings import preset_table

    preflight(spec, **options)
    preset, _ = preset_table(spec, options.get("preset"))
    output = str(output or Path("runs") / f"{default_name(spec)}-{preset}")
    worker = None
    if options.get("strategy") == "multi-worker":
        from kerasinv.multi_worker import cluster

        place = cluster()
        worker = None if place.is_chief else place.task_index
    if worker is None:
        check_output(
            output, f"recipe {spec['recipe']}", bool(options.get("overwrite")), resumable=True
        )
    return output, worker


def preflight(spec: dict, **options) -> dict:
    """Check names, paths and that the data can be found, without importing TensorFlow (< 1 s):
    the options, every setting (:func:`kerasinv.recipes.settings.resolve`, whose result it
    returns), then the runner's own ``precheck``."""
    from kerasinv.data.cifar import locate_cifar
    from kerasinv.errors import DataNotFoundError
    from kerasinv.recipes.settings import preset_table, resolve

    check_options(spec, options)
    module = runner_module(spec)
    if options.get("strategy") == "multi-worker":
        from kerasinv.multi_worker import cluster

        cluster()  # TF_CONFIG must describe the cluster
    settings = resolve(module.RUNNER.SETTINGS, spec, options)
    for key in ("images", "labels"):
        if options.get(key) and not Path(options[key]).exists():
            raise DataNotFoundError(f"--{key} {options[key]}: no such file or folder")
    if hasattr(module, "precheck"):
        module.precheck(spec, preset_table(spec, options.get("preset"))[1], options)
    if getattr(module, "CIFAR", True) and (
        settings.get("data") != "embedded" or options.get("data_dir") is not None
    ):
        dataset = settings.get("dataset", "cifar10")  # the one data set of the other recipes
        locate_cifar(dataset, options.get("data_dir"), options.get("download", False))
    return settings
