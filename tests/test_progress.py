"""Progress goes to stderr, never stdout, and ``--quiet`` silences it."""

import io
import sys

import pytest

from kerasinv import progress
from tests.helpers import run_cli_here


def test_a_long_step_in_a_log_writes_lines_to_stderr_only(monkeypatch, capsys):
    monkeypatch.setattr(progress, "LOG_AFTER", 0.0)
    monkeypatch.setattr(progress, "LOG_EVERY", 0.0)
    with progress.context("vgg16"):
        assert list(progress.track(range(3), "crop", unit="batches")) == [0, 1, 2]
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0].startswith("vgg16 › crop: 1/3 batches") and "left" in lines[0]
    assert lines[-1].startswith("vgg16 › crop: 3 batches in ")


def test_quiet_silences_bars_and_lines(monkeypatch, capsys):
    monkeypatch.setattr(progress, "LOG_AFTER", 0.0)
    with progress.shown(False):
        list(progress.track(range(3), "crop"))
        progress.say("a step")
        assert progress.keras_verbose() == 0
    assert capsys.readouterr() == ("", "")
    assert progress.enabled()  # restored after the block


def test_a_terminal_gets_a_bar_with_an_eta(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    list(progress.track(range(5), "decoding", unit="photos"))
    assert "decoding" in terminal.getvalue() and "5/5" in terminal.getvalue()
    assert progress.keras_verbose() == 1


def test_evaluate_prints_only_the_table_on_stdout(tmp_path):
    args = ["evaluate", "shipped", "--images", "cifar10-sample", "--protocols", "crop"]
    args += ["--limit", "10"]
    loud = run_cli_here(*args, "--output", str(tmp_path / "loud"))
    assert loud.returncode == 0, loud.stderr
    assert loud.stdout == (tmp_path / "loud" / "table.md").read_text() + "\n"
    assert "crop: P(top-1 change)" in loud.stderr and "{" not in loud.stderr  # no raw dicts
    # one style: every progress line under the command's name, the model's, then the step's
    lines = [x for x in loud.stderr.splitlines() if x and not x.startswith(("Report", "note:"))]
    assert lines and all(line.startswith("evaluate › ") for line in lines), loud.stderr
    assert any(line.startswith("evaluate › all-cnn-c-bn-w050 › crop: ") for line in lines)
    quiet = run_cli_here(*args, "--output", str(tmp_path / "quiet"), "--quiet")
    assert quiet.stdout == loud.stdout
    assert "crop:" not in quiet.stderr and "Report in" in quiet.stderr


@pytest.mark.parametrize("quiet", [False, True])
def test_keras_training_output_goes_to_stderr(tmp_path, quiet):
    """Keras prints its epoch lines to stdout; kerasinv's training sends them to stderr."""
    import numpy as np

    from kerasinv import models, training

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (16, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 2, 16)

    def tiny():
        return models.get("all-cnn-c", width=0.0625, classes=2, dropout=False)

    out, err = io.StringIO(), io.StringIO()
    with progress.shown(not quiet):
        cfg = training.TrainConfig(epochs=1, batch_size=8, verbose=progress.keras_verbose())
        tr, te = training.make_datasets(x, y, x, y, lambda b: b / 255.0, cfg)
        old = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        try:
            training.train(tiny, tr, te, cfg, tmp_path / "work")
        finally:
            sys.stdout, sys.stderr = old
    assert out.getvalue() == ""
    assert ("loss" in err.getvalue()) is not quiet


def test_a_long_label_is_shortened_so_a_bar_fits_80_columns(monkeypatch):
    import os

    from kerasinv import progress

    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(os, "get_terminal_size", lambda *a: os.terminal_size((80, 24)))
    label = "all_cnn_c_bn_w050_blur3 + aps-circular › shift pairs"
    short = progress.fit(label, 24 + 2 * 3 + 18)
    assert len(short) + 24 + 2 * 3 + 18 <= 80 and short.startswith("all_cnn") and "…" in short
    assert short.endswith("pairs")
    assert progress.fit("vgg16 › crop", 48) == "vgg16 › crop"


def test_lines_and_bars_share_one_style_under_the_nested_contexts(monkeypatch, capsys):
    """A recipe's step lines and its bars read the same: ``recipe › model › step``."""
    monkeypatch.setattr(progress, "LOG_AFTER", 0.0)
    heard = []
    with progress.context("azulay-onepixel"):
        say = progress.reporter(heard.append)  # a recipe's own log receives the same lines
        say("loading vgg16 ...")
        with progress.context("vgg16"):
            progress.say("crop: P(top-1 change) 0.100")
            list(progress.track(range(2), "crop", unit="batches"))
    err = capsys.readouterr().err.splitlines()
    assert heard == ["azulay-onepixel › loading vgg16 ..."]
    assert err[0] == "azulay-onepixel › vgg16 › crop: P(top-1 change) 0.100"
    assert err[1].startswith("azulay-onepixel › vgg16 › crop: 2 batches in ")
