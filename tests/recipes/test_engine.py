"""The engine's one loop, driven by a toy runner (pure Python: nothing is trained or imported
from TensorFlow): units measured in order, saved after each, skipped on resume, a changed setting
refused, tables rendered from the records alone."""

import json

import pytest

from kerasinv.errors import OutputError
from kerasinv.recipes.engine import Runner, Unit, execute
from kerasinv.recipes.settings import SEED

SPEC = {"recipe": "toy", "seed": 0, "presets": {"smoke": {}}}


class Toy(Runner):
    """Units a, b, c; measuring one gives a record whose value is its position."""

    recipe_outputs = ("table.md", "figure.txt")

    def __init__(self, fail_at=None):
        self.fail_at, self.measured, self.prepared = fail_at, [], 0

    SETTINGS = (SEED,)

    def units(self, spec, settings, options):
        return [Unit(k, i) for i, k in enumerate(options.get("units", "abc"))]

    def unit_key(self, record):
        return record["model"]

    def prepare(self, ctx):
        self.prepared += 1
        return {"offset": 10}

    def measure(self, ctx, unit):
        if unit.key == self.fail_at:
            raise KeyboardInterrupt  # a kill in the middle of the run
        self.measured.append(unit.key)
        value = ctx.prepared["offset"] + unit.value
        return [ctx.record(table="t", row=unit.key, column="v", measured=value, dataset="d", metric="v", unit="count",
                           model=unit.key, wall_s=0.0)]  # fmt: skip

    def render(self, spec, results):
        return "".join(f"{r['model']}={r['measured']}\n" for r in results["records"])

    def figures(self, spec, results, output):
        (output / "figure.txt").write_text(str(len(results["records"])))


def _results(out):
    return json.loads((out / "results.json").read_text())


def test_the_loop_measures_every_unit_saves_and_renders_from_the_records(tmp_path):
    runner = Toy()
    records = execute(runner, SPEC, tmp_path / "out", {}, log=lambda m: None)
    assert [r["measured"] for r in records] == [10, 11, 12]
    assert runner.measured == ["a", "b", "c"] and runner.prepared == 1
    results = _results(tmp_path / "out")
    assert results["records"] == records and results["settings"] == {"preset": "smoke", "seed": 0}
    assert {"versions", "wall_s", "recipe"} <= set(results)
    assert (tmp_path / "out" / "table.md").read_text() == "a=10\nb=11\nc=12\n"
    assert (tmp_path / "out" / "figure.txt").read_text() == "3"


def test_a_killed_run_resumes_with_the_units_it_has_not_measured(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        execute(Toy(fail_at="c"), SPEC, tmp_path / "out", {}, log=lambda m: None)
    assert [r["model"] for r in _results(tmp_path / "out")["records"]] == ["a", "b"]  # saved
    lines, again = [], Toy()
    records = execute(again, SPEC, tmp_path / "out", {}, log=lines.append)
    assert again.measured == ["c"] and [r["measured"] for r in records] == [10, 11, 12]
    assert sum("already measured" in line for line in lines) == 2
    # one progress style: every line under the recipe's name, as its bars are
    assert all(line.startswith(f"{SPEC['recipe']} › ") for line in lines), lines


def test_nothing_pending_prepares_nothing(tmp_path):
    execute(Toy(), SPEC, tmp_path / "out", {}, log=lambda m: None)
    again = Toy()
    execute(again, SPEC, tmp_path / "out", {}, log=lambda m: None)
    assert again.prepared == 0 and again.measured == []


def test_other_units_records_are_kept_in_the_units_order(tmp_path):
    execute(Toy(), SPEC, tmp_path / "out", {"units": "ab"}, log=lambda m: None)
    runner = Toy()
    records = execute(runner, SPEC, tmp_path / "out", {"units": "cb"}, log=lambda m: None)
    assert runner.measured == ["c"]
    assert [r["model"] for r in records] == ["c", "b", "a"]  # this run's order, then the rest


def test_a_changed_setting_is_refused_and_overwrite_starts_afresh(tmp_path):
    execute(Toy(), SPEC, tmp_path / "out", {}, log=lambda m: None)
    with pytest.raises(OutputError, match=r"different settings \(seed\)"):
        execute(Toy(), SPEC, tmp_path / "out", {"seed": 1}, log=lambda m: None)
    fresh = Toy()
    execute(fresh, SPEC, tmp_path / "out", {"seed": 1, "overwrite": True}, log=lambda m: None)
    assert fresh.measured == ["a", "b", "c"] and _results(tmp_path / "out")["settings"]["seed"] == 1


def test_measure_all_may_emit_units_as_one_long_computation_goes(tmp_path):
    class Curve(Toy):
        def measure_all(self, ctx, units, emit):
            for unit in units:  # e.g. one training run, a record after every epoch
                self.measured.append(unit.key)
                emit(unit, [ctx.record(table="t", row=unit.key, column="v", measured=unit.value, metric="v", unit="count",
                                       dataset="d", model=unit.key, wall_s=0.0)])  # fmt: skip
                assert _results(tmp_path / "out")["records"][-1]["model"] == unit.key  # saved

    records = execute(Curve(), SPEC, tmp_path / "out", {}, log=lambda m: None)
    assert [r["measured"] for r in records] == [0, 1, 2]


def test_every_record_names_its_metric_and_unit(tmp_path):
    from kerasinv.reporting.records import UNITS, record

    results = {"recipe": "toy", "settings": {"preset": "smoke", "seed": 0}, "versions": {}}
    r = record(results, table=None, row="r", column="c", measured=0.5, dataset="d", model="m",
               wall_s=0.0, metric="accuracy", unit="fraction")  # fmt: skip
    assert (r["metric"], r["unit"]) == ("accuracy", "fraction") and "percent" in UNITS
    with pytest.raises(ValueError, match="unit must be one of"):
        record(results, table=None, row="r", column="c", measured=50, dataset="d", model="m",
               wall_s=0.0, metric="accuracy", unit="%")  # fmt: skip
