"""What every recipe run shares, so a runner declares only its own settings, units, measurements,
records, table and figures.

- :func:`execute`: the one loop. Claim the output folder, list the runner's units, skip the units
  whose records are already there, measure each remaining unit (the runner returns its records),
  save atomically after each, then render the table and figures from the records alone.
- :class:`Runner`: what a runner declares for that loop (its units, how to prepare once, how to
  measure one unit, how to render).

- settings: a runner declares them (``Runner.SETTINGS``, :class:`~kerasinv.recipes.settings.Setting`)
  and the engine resolves them by one rule (:func:`kerasinv.recipes.settings.resolve`: the command
  line, then the preset, then the spec's table; no value in Python).
- :class:`RecipeRun`: what :func:`execute` holds of one run: the output folder (claimed, resumed
  or refused), the results and their records, saved atomically after every unit, and the finish
  (table, figures, timing).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kerasinv.recipes.settings import resolve

#: settings keys that are :class:`kerasinv.training.TrainConfig` fields of the same name
_TRAIN_KEYS = ("epochs", "batch_size", "learning_rate", "momentum", "drop_factor", "augment",
               "max_shift", "reshuffle", "stream", "seed", "strategy", "precision")  # fmt: skip


def train_config(settings: dict, verbose: int, **overrides):
    """The :class:`kerasinv.training.TrainConfig` of a run's ``settings`` (the keys it has of
    :data:`_TRAIN_KEYS`, and ``drops``), with ``overrides`` (e.g. ``schedule_epochs``)."""
    from kerasinv.training import TrainConfig

    fields = {k: settings[k] for k in _TRAIN_KEYS if k in settings}
    if "drops" in settings:
        fields["drops"] = tuple(settings["drops"])
    return TrainConfig(**{**fields, "verbose": verbose, **overrides})


class RecipeRun:
    """One run of a recipe into its output folder.

    Creating it claims ``output`` (:func:`kerasinv.reporting.folder.prepare_output`: resume a run
    with equal settings, refuse one with different settings, ``overwrite`` starts afresh) and
    builds the results: ``recipe``, ``spec``, ``settings``, ``versions``, ``records`` and what
    else the previous run noted (``data_source`` ...), carried over.

    Args:
        spec: the recipe spec.
        settings: everything that defines the run (compared on resume).
        output: the folder.
        overwrite: discard a previous run first.
        generated: what the runner writes besides ``results.json`` (removed by ``overwrite``).
        render: ``results -> table.md`` text.
        figures: ``(results, output) -> None``, drawn at the end.
        log: receives progress lines (default: stderr).
        selections: settings that only choose units (:attr:`Setting.selects`): a run may
            choose others than the folder's earlier run; the results' settings then list both
            (the earlier values first), so the table shows every unit measured.
    """

    def __init__(
        self,
        spec: dict,
        settings: dict,
        output,
        overwrite: bool,
        generated: Sequence[str],
        render: Callable[[dict], str],
        figures: Callable[[dict, Path], None] | None = None,
        log: Callable[[str], None] | None = None,
        selections: Sequence[str] = (),
    ):
        from kerasinv import progress
        from kerasinv.reporting import records
        from kerasinv.reporting.folder import prepare_output

        self.started = time.perf_counter()
        self.spec, self.settings, self.output = spec, settings, Path(output)
        self.previous = prepare_output(
            self.output, settings, overwrite, generated, spec["recipe"], selections=selections
        )
        before = self.previous.get("settings", {})
        chosen = {  # every unit of the folder, the earlier run's first
            key: list(dict.fromkeys([*before.get(key, []), *settings[key]]))
            for key in selections
            if key in before
        }
        self.results = {
            "recipe": spec["recipe"],
            "spec": spec.get("_path"),
            "settings": {**settings, **chosen},
            "versions": records.versions(),
            "started_at": self.previous.get("started_at") or records.now(),  # the first run's
            "records": list(self.previous.get("records", [])),
        }
        for key, value in self.previous.items():  # what a runner noted (data_source ...)
            self.results.setdefault(key, value)
        self._render, self._figures = render, figures
        self._say = progress.reporter(log)

    def say(self, message: str) -> None:
        """A progress line under the recipe's name (:func:`execute` enters it as the progress
        context): ``azulay-onepixel › vgg16: 1,000 images ...``."""
        self._say(message)

    def pending(self, units, is_done: Callable[[object], bool]) -> list:
        """The units still to measure, in order; each finished one is logged as skipped (a resumed
        run). ``is_done(unit)`` decides (in a multi-worker run, wrap it so the chief decides)."""
        todo = []
        for unit in units:
            if is_done(unit):
                self.say(f"{unit}: already measured in {self.output}, skipped")
            else:
                todo.append(unit)
        return todo

    def save(self) -> None:
        """Write ``results.json`` and ``table.md`` (atomically): after every unit, so a long run can
        be followed and resumed."""
        from kerasinv.io import write_json, write_text

        write_json(self.output / "results.json", self.results)
        write_text(self.output / "table.md", self._render(self.results))

    def finish(self, keep_work: bool = False) -> list[dict]:
        """Remove ``work/`` (unless ``keep_work``: a curve keeps its checkpoint to be extended),
        note the wall time, save, draw the figures; the run's records."""
        if not keep_work:
            shutil.rmtree(self.output / "work", ignore_errors=True)
        from kerasinv.reporting.records import now

        self.results["wall_s"] = round(time.perf_counter() - self.started, 1)
        self.results["finished_at"] = now()
        self.save()
        if self._figures is not None:
            self._figures(self.results, self.output)
        return self.results["records"]


@dataclass(frozen=True)
class Unit:
    """One thing a recipe measures (a trained network, an epoch of a curve, a network state).

    ``key`` names it in the records (:meth:`Runner.unit_key` of each of its records returns it),
    ``value`` is what :meth:`Runner.measure` receives, ``label`` what the progress lines say.
    """

    key: str
    value: object = None
    label: str = ""

    def __str__(self) -> str:
        return self.label or self.key


class Context:
    """What a runner's methods see of a run: ``spec``, ``settings``, ``options`` (the command's
    mapping), ``output``, ``results`` (the run's ``results.json``, for the runner's own top-level
    keys such as ``data_source``), ``verbose``, ``say`` (a progress line), ``resuming`` (the
    folder holds an earlier run's results), ``prepared`` (what :meth:`Runner.prepare` returned)
    and :meth:`record`."""

    def __init__(self, run: RecipeRun, options: Mapping, verbose: int):
        self.run, self.spec, self.settings = run, run.spec, run.settings
        self.options, self.output, self.results = options, run.output, run.results
        self.verbose = verbose
        self.say = run.say
        self.resuming = bool(run.previous)  # an earlier run's results are in the folder
        self.prepared = None

    def record(self, **fields) -> dict:
        """A record (:func:`kerasinv.reporting.records.record`'s fields) for :meth:`Runner.measure`
        to return."""
        from kerasinv.reporting.records import record

        return record(self.results, **fields)


class Runner:
    """A recipe's runner, as :func:`execute` drives it. Subclasses set ``recipe_outputs`` (what the
    runner writes besides ``results.json``) and ``SETTINGS``, and define :meth:`units`,
    :meth:`unit_key`, :meth:`measure` and :meth:`render`; the others have defaults."""

    #: files and folders (relative to the output folder) the runner writes besides results.json
    recipe_outputs: tuple[str, ...] = ()
    #: keep ``work/`` at the end (a curve keeps its checkpoint so that --epochs can extend it)
    keep_work: bool = False

    #: the settings it reads (:class:`~kerasinv.recipes.settings.Setting`), resolved by the engine
    SETTINGS: tuple = ()

    def derive(self, spec: dict, settings: dict, options: Mapping) -> dict:
        """The run's settings (everything that defines it, compared on resume) from the resolved
        ``settings``: checks across settings, values derived from them (default: as resolved)."""
        return settings

    def units(self, spec: dict, settings: dict, options: Mapping) -> list[Unit]:
        """The units this run measures, in the order of the table."""
        raise NotImplementedError

    def unit_key(self, record: dict) -> str:
        """The :attr:`Unit.key` a record belongs to."""
        raise NotImplementedError

    def is_done(self, output: Path, records: list[dict]) -> bool:
        """Whether a unit with these earlier ``records`` needs no new measurement."""
        return bool(records)

    def prepare(self, ctx: Context):
        """Once, before the first unit is measured, and only if one is (load data, fit ...); what
        it returns is ``ctx.prepared``. A runner holds no state of its own."""

    def measure(self, ctx: Context, unit: Unit) -> list[dict]:
        """Measure one unit: its records (:meth:`Context.record`)."""
        raise NotImplementedError

    def measure_all(self, ctx: Context, units: list[Unit], emit: Callable) -> None:
        """Measure ``units`` in order, handing each one's records to ``emit(unit, records)`` as
        soon as they exist (the engine saves them at once). The default measures one unit at a
        time; a learning curve overrides it to train once and emit after every epoch."""
        for unit in units:
            emit(unit, self.measure(ctx, unit))

    def render(self, spec: dict, results: dict) -> str:
        """``table.md``, from ``results`` (its records) alone."""
        raise NotImplementedError

    def figures(self, spec: dict, results: dict, output: Path) -> None:
        """Draw the figures from ``results`` alone (default: none)."""


def settings_of(runner: Runner, spec: dict, options: Mapping) -> dict:
    """The settings of a run of ``runner`` (everything that defines it, compared on resume): its
    declared settings resolved (:func:`kerasinv.recipes.settings.resolve`), then derived."""
    return runner.derive(spec, resolve(runner.SETTINGS, spec, options), options)


def execute(runner: Runner, spec: dict, output, options: Mapping, verbose: int = 2, log=None):
    """Run ``spec`` with ``runner`` into ``output``: the one loop (see the module docstring).

    ``options`` is the command's mapping (``overwrite`` among them); records of units this run
    does not list (an earlier run's other ``--models``) are kept. In a multi-worker run the
    chief's files decide what is done, so every worker measures the same units. Returns the run's
    records.
    """
    from kerasinv import progress

    with progress.context(spec["recipe"]):  # every line and bar of the run under its name
        return _execute(runner, spec, output, options, verbose, log)


def _execute(runner: Runner, spec: dict, output, options: Mapping, verbose: int, log) -> list:
    from kerasinv import multi_worker

    settings = settings_of(runner, spec, options)
    run = RecipeRun(
        spec, settings, output, bool(options.get("overwrite")), runner.recipe_outputs,
        render=lambda results: runner.render(spec, results),
        figures=lambda results, folder: runner.figures(spec, results, folder),
        log=log,
        selections=[s.name for s in runner.SETTINGS if s.selects],
    )  # fmt: skip
    ctx = Context(run, options, verbose)
    units = runner.units(spec, settings, options)
    # the records' order: every unit of the folder (an earlier run may have chosen others)
    order = {u.key: i for i, u in enumerate(runner.units(spec, run.results["settings"], options))}
    by_unit: dict[str, list[dict]] = {}
    for r in run.results["records"]:
        by_unit.setdefault(runner.unit_key(r), []).append(r)
    pending = run.pending(
        units,
        lambda u: multi_worker.chief_value(runner.is_done(run.output, by_unit.get(u.key, []))),
    )

    def emit(unit: Unit, records: list[dict]) -> None:
        by_unit[unit.key] = list(records)
        ranked = sorted(by_unit, key=lambda k: order.get(k, len(order)))
        run.results["records"] = [r for key in ranked for r in by_unit[key]]
        run.save()

    from kerasinv.output_folder import abandoned_on_failure

    with abandoned_on_failure(run.output):  # a failure before any write leaves no folder
        if pending:
            ctx.prepared = runner.prepare(ctx)
            runner.measure_all(ctx, pending, emit)
        return run.finish(keep_work=runner.keep_work)


__all__ = [
    "Context",
    "RecipeRun",
    "Runner",
    "Unit",
    "execute",
    "settings_of",
    "train_config",
]
