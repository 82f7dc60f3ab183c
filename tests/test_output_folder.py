"""Output folders: nothing kerasinv did not write is deleted or replaced; one writer at a time."""

import os
import stat
import subprocess
import sys
import textwrap

import pytest

from kerasinv.errors import OutputError
from kerasinv.io import atomic_path, write_text
from kerasinv.output_folder import LOCK, MARKER, check_output, claim_output, read_marker, release


def _thesis(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "thesis.tex").write_text("five years of work")
    (folder / "data").mkdir()
    (folder / "data" / "raw.csv").write_text("1,2,3")


def _untouched(folder):
    assert (folder / "thesis.tex").read_text() == "five years of work"
    assert (folder / "data" / "raw.csv").read_text() == "1,2,3"


def test_a_folder_kerasinv_did_not_write_is_refused_without_overwrite(tmp_path):
    _thesis(tmp_path / "out")
    with pytest.raises(OutputError, match="not empty and was not written by kerasinv"):
        check_output(tmp_path / "out", "evaluate", overwrite=False)
    with pytest.raises(OutputError, match="not empty and was not written by kerasinv"):
        claim_output(tmp_path / "out", "evaluate", False, ["table.md"])
    _untouched(tmp_path / "out")
    assert not (tmp_path / "out" / MARKER).exists()


def test_overwrite_writes_beside_foreign_files_and_removes_only_its_own(tmp_path):
    out = tmp_path / "out"
    _thesis(out)
    claim_output(out, "evaluate", True, ["table.md", "per_image.npz"])
    write_text(out / "table.md", "first")
    release(out)
    assert read_marker(out)["entries"] == ["per_image.npz", "table.md"]
    (out / ".table.md.tmp-abc").write_text("left by a killed run")
    claim_output(out, "evaluate", True, ["table.md", "per_image.npz"])
    release(out)
    assert not (out / "table.md").exists() and not (out / ".table.md.tmp-abc").exists()
    _untouched(out)


def test_overwrite_keeps_a_users_files_inside_kerasinvs_own_sub_folders(tmp_path):
    """A SavedModel version the user exported into a run's saved_models/ (as kerasinv's export
    message suggests) survives --overwrite; what kerasinv wrote there goes."""
    out = tmp_path / "out"
    entries = ["results.json", "saved_models", "work"]
    claim_output(out, "recipe x", False, entries, resumable=True)
    write_text(out / "results.json", "{}")
    with atomic_path(out / "saved_models" / "net" / "1", directory=True) as tmp:
        (tmp / "saved_model.pb").write_text("ours")
    write_text(out / "work" / "net" / "state.npz", "checkpoint")
    release(out)
    mine = out / "saved_models" / "net" / "2"
    mine.mkdir()
    (mine / "saved_model.pb").write_text("the user's version 2")
    (out / "work" / "stray").write_text("scratch: goes with work/")
    claim_output(out, "recipe x", True, entries, resumable=True)
    release(out)
    assert (mine / "saved_model.pb").read_text() == "the user's version 2"
    assert not (out / "saved_models" / "net" / "1").exists()
    assert not (out / "results.json").exists() and not (out / "work").exists()


def test_kerasinv_never_replaces_a_name_it_did_not_write(tmp_path):
    out = tmp_path / "out"
    _thesis(out)
    (out / "models").mkdir()
    (out / "models" / "mine.keras").write_text("the user's")
    with pytest.raises(OutputError, match="already holds models, which kerasinv did not write"):
        claim_output(out, "recipe x", True, ["results.json", "models"], resumable=True)
    assert (out / "models" / "mine.keras").read_text() == "the user's"


def test_files_and_unwritable_places_are_refused_before_any_work(tmp_path):
    (tmp_path / "report.txt").write_text("keep me")
    with pytest.raises(OutputError, match="is a file"):
        check_output(tmp_path / "report.txt", "evaluate", overwrite=True)
    with pytest.raises(OutputError, match=r"report.txt is a file, so the folder cannot be made"):
        check_output(tmp_path / "report.txt" / "sub", "evaluate", overwrite=True)
    assert (tmp_path / "report.txt").read_text() == "keep me"
    with pytest.raises(OutputError, match="will not replace a file with a folder"):
        with atomic_path(tmp_path / "report.txt", directory=True):
            pass
    assert (tmp_path / "report.txt").read_text() == "keep me"
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "ro"
        locked.mkdir()
        locked.chmod(0o555)
        try:
            with pytest.raises(OutputError, match="is not writable"):
                check_output(locked / "run", "evaluate", overwrite=False)
        finally:
            locked.chmod(0o755)


def test_an_earlier_output_of_another_command_or_a_report_needs_overwrite(tmp_path):
    out = tmp_path / "out"
    claim_output(out, "recipe a", False, ["results.json"], resumable=True)
    write_text(out / "results.json", "{}")
    release(out)
    assert claim_output(out, "recipe a", False, ["results.json"], resumable=True)  # resumes
    release(out)
    with pytest.raises(OutputError, match="holds the output of `kerasinv recipe a`"):
        check_output(out, "evaluate", overwrite=False, entries=["table.md"])
    claim_output(tmp_path / "rep", "evaluate", False, ["table.md"])
    write_text(tmp_path / "rep" / "table.md", "x")
    release(tmp_path / "rep")
    with pytest.raises(OutputError, match="holds an earlier `kerasinv evaluate` output"):
        check_output(tmp_path / "rep", "evaluate", overwrite=False, entries=["table.md"])


def test_a_second_writer_is_stopped_with_a_clear_message(tmp_path):
    out = tmp_path / "out"
    holder = textwrap.dedent(
        f"""
        import sys, time
        from kerasinv.output_folder import claim_output
        claim_output({str(out)!r}, "recipe a", False, ["results.json"], resumable=True)
        print("locked", flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(
            OutputError, match=rf"being written by another kerasinv run \(pid {proc.pid}\)"
        ):
            claim_output(out, "recipe a", False, ["results.json"], resumable=True)
    finally:
        proc.kill()
        proc.wait()
    claim_output(out, "recipe a", False, ["results.json"], resumable=True)  # the lock died with it
    release(out)
    assert (out / LOCK).exists()


def test_folders_written_atomically_have_normal_permissions(tmp_path):
    """mkdtemp makes 0700 folders; TF Serving running as another user could not read an export."""
    umask = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "export" / "1", directory=True) as tmp:
            (tmp / "saved_model.pb").write_bytes(b"x")
        with atomic_path(tmp_path / "file.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "export" / "1").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "file.txt").stat().st_mode) == 0o644


def test_a_command_that_fails_before_writing_leaves_no_claimed_folder(tmp_path):
    from kerasinv.output_folder import abandoned_on_failure

    out = tmp_path / "out"
    claim_output(out, "recipe x", False, ["results.json"], resumable=True)
    with pytest.raises(RuntimeError), abandoned_on_failure(out):
        raise RuntimeError("the data could not be read")
    assert not out.exists()
    claim_output(out, "recipe x", False, ["results.json"], resumable=True)
    write_text(out / "results.json", "{}")
    with pytest.raises(RuntimeError), abandoned_on_failure(out):
        raise RuntimeError("killed after a unit was saved")
    assert (out / "results.json").is_file()  # a run to resume is kept


def test_a_dangling_link_as_output_and_a_results_file_of_another_shape_are_one_line(tmp_path):
    from kerasinv.reporting.folder import prepare_output

    link = tmp_path / "out"
    link.symlink_to(tmp_path / "gone")
    with pytest.raises(OutputError, match=r"is a link to .*gone, which does not exist"):
        check_output(link, "evaluate", overwrite=False)
    out = tmp_path / "run"
    claim_output(out, "recipe x", False, ["results.json"], resumable=True)
    write_text(out / "results.json", "[1, 2, 3]")
    release(out)
    with pytest.raises(OutputError, match="not a kerasinv results file"):
        prepare_output(out, {"seed": 0}, False, [], recipe="x")
