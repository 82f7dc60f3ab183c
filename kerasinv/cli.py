"""The ``kerasinv`` command line: a thin Click layer over the library (no logic of its own).

User errors (:class:`~kerasinv.errors.KerasinvError`) print one message and exit non-zero; ``--debug``
shows the traceback and TensorFlow's start-up log.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys

import click

from kerasinv import __version__
from kerasinv.convert import FORMATS, QUANTIZE
from kerasinv.precision import PRECISIONS


@contextlib.contextmanager
def _silenced_stderr():
    """Hide C++ log lines written straight to file descriptor 2 (TensorFlow's start-up noise)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _import_tensorflow(debug: bool) -> None:
    """Import TensorFlow early and quietly (its C++ start-up log bypasses Python)."""
    if debug:
        import tensorflow  # noqa: F401

        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if not os.environ.get("CUDA_VISIBLE_DEVICES") and not _has_nvidia_driver():
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"  # no GPU: skip the failing cuInit and its error
    with _silenced_stderr():
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
    import warnings

    warnings.filterwarnings("ignore", module="keras")


def _has_nvidia_driver() -> bool:
    return os.path.exists("/proc/driver/nvidia/version")


#: errno values of a full disk or an exhausted quota
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}


class _Group(click.Group):
    """Runs commands with kerasinv's error handling."""

    def invoke(self, ctx):
        from kerasinv.errors import KerasinvError

        try:
            return super().invoke(ctx)
        except KerasinvError as e:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            # one line: what was wrong and what to do (multi-line messages list places searched)
            click.secho(f"error: {e}", fg="red", err=True)
            ctx.exit(e.exit_code)
        except click.UsageError as e:  # a bad flag or value: one line, exit 2, where to read more
            command = e.ctx.command_path if e.ctx else "kerasinv"
            click.secho(f"error: {e.format_message()} (see `{command} --help`)", fg="red", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("\ninterrupted; run the same command again to resume", err=True)
            ctx.exit(130)
        except OSError as e:
            if e.errno not in _DISK_FULL or (ctx.obj and ctx.obj.get("debug")):
                raise
            where = f" writing {e.filename}" if e.filename else ""
            click.secho(
                f"error: the disk is full{where} ({e.strerror}); every file is written "
                "atomically, so earlier results are intact: free some space and run the same "
                "command again to resume",
                fg="red", err=True,
            )  # fmt: skip
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kerasinv")
@click.option("--debug", is_flag=True, help="Show tracebacks and TensorFlow's start-up log.")
@click.pass_context
def main(ctx, debug):
    """kerasinv: reproduce shift-invariance papers in Keras, anti-alias models, measure stability."""
    ctx.obj = {"debug": debug}


#: ``--quiet`` of every command that reports progress (kerasinv.progress)
QUIET_HELP = "No progress on stderr (bars, step lines); stdout still gets the table."


def _csv(_ctx, _param, value):
    if not value:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def _csv_or_none(_ctx, _param, value):
    """Comma-separated list; ``none`` gives an empty list (e.g. ``--networks none``)."""
    if value is None:
        return None
    if value.strip().lower() == "none":
        return []
    return [v.strip() for v in value.split(",") if v.strip()]


def _numbers(cast, what: str):
    """A Click callback reading comma-separated numbers as ``cast``."""

    def read(_ctx, _param, value):
        if not value:
            return None
        try:
            return [cast(v) for v in value.split(",") if v.strip()]
        except ValueError:
            raise click.BadParameter(f"expected comma-separated {what}, got {value!r}") from None

    return read


_KIND_TYPES = {"int": int, "float": float, "str": str}


def _click_option(opt) -> click.Option:
    """A :class:`kerasinv.recipes.options.Option` as a Click option (no default: an unset option
    is left to the spec and preset)."""
    flag, common = opt.cli_flag, {"help": opt.help, "metavar": opt.metavar}
    if opt.kind == "flag":
        return click.Option([flag, opt.name], is_flag=True, default=None, help=opt.help)
    if opt.kind == "switch":
        no = "--no-" + flag[2:]
        return click.Option([f"{flag}/{no}", opt.name], default=None, help=opt.help)
    if opt.kind == "multiple":
        return click.Option([flag, opt.name], multiple=True, **common)
    if opt.kind == "choice":
        return click.Option([flag, opt.name], type=click.Choice(opt.choices), help=opt.help)
    if opt.kind == "path":
        return click.Option([flag, opt.name], type=click.Path(path_type=str), **common)
    if opt.kind == "int" and opt.minimum is not None:
        return click.Option([flag, opt.name], type=click.IntRange(min=opt.minimum), **common)
    callbacks = {
        "csv": _csv,
        "csv_or_none": _csv_or_none,
        "floats": _numbers(float, "numbers"),
        "ints": _numbers(int, "whole numbers"),
    }
    if opt.kind in callbacks:
        return click.Option([flag, opt.name], callback=callbacks[opt.kind], **common)
    return click.Option([flag, opt.name], type=_KIND_TYPES[opt.kind], **common)


def _presets_help(spec: dict) -> str:
    """The epilog of a recipe's --help: its presets, what each runs and what it costs here."""
    import textwrap

    lines = ["\b", "Presets:"]
    for name, p in spec["presets"].items():
        default = " (default)" if name == spec.get("default_preset", "smoke") else ""
        text = f"{name}{default}: {p.get('description', '')}"
        if p.get("cost"):
            text += f". Cost on 2 CPU cores, measured: {p['cost']}."
        lines += textwrap.wrap(text, 76, initial_indent="  ", subsequent_indent="      ")
    lines += [
        "",
        "Running again into the same --output with the same settings resumes where it stopped;",
        "different settings are refused (--overwrite starts afresh).",
    ]
    from kerasinv.recipes import runner_module
    from kerasinv.recipes.options import flag_of

    selects = [s.option_name for s in runner_module(spec).RUNNER.SETTINGS if s.selects]
    if selects:
        flags = ", ".join(flag_of(name) for name in selects)
        lines += textwrap.wrap(
            f"Only {flags} may differ: they add their networks to the folder's earlier ones.", 78
        )
    return "\n".join(lines)


def _print_spec(spec: dict):
    """The ``--print-spec`` callback: the spec file's text on stdout, then exit."""

    def callback(ctx, _param, value):
        if value:
            from pathlib import Path

            click.echo(Path(spec["_path"]).read_text(encoding="utf-8"), nl=False)
            ctx.exit(0)

    return callback


def _recipe_command(spec: dict) -> click.Command:
    """``kerasinv recipe NAME``: the recipe's own options (common + its runner's) and presets."""
    from kerasinv.recipes import recipe_options

    presets = tuple(spec["presets"])
    declared = [
        o.but(help=f"Preset: {', '.join(presets)} (see the list below).")
        if o.name == "preset"
        else o
        for o in recipe_options(spec)
    ]
    params = [_click_option(o) for o in declared] + [
        click.Option(
            ["--output"], type=click.Path(path_type=str),
            help=f"Output folder [runs/{spec['recipe']}-<preset>].",
        ),
        click.Option(
            ["--print-spec"], is_flag=True, expose_value=False, is_eager=True,
            callback=_print_spec(spec),
            help="Print this recipe's spec (TOML) and exit: save it, edit it, run the copy.",
        ),
        click.Option(["--quiet"], is_flag=True, help=QUIET_HELP),
    ]  # fmt: skip

    @click.pass_context
    def callback(ctx, output, quiet, **options):
        _run_recipe(ctx, spec, output, quiet, options)

    return click.Command(
        spec["recipe"],
        params=params,
        callback=callback,
        help=f"{spec.get('title', spec['recipe'])}.",
        short_help=spec.get("title", ""),
        epilog=_presets_help(spec),
        context_settings={"help_option_names": ["-h", "--help"]},
    )


def _run_recipe(ctx, spec: dict, output, quiet: bool, options: dict) -> None:
    from kerasinv.recipes import check_request

    options = {k: v for k, v in options.items() if v is not None and v != ()}
    output, worker = check_request(spec, output, options)
    _import_tensorflow(ctx.find_root().obj["debug"])
    from kerasinv import progress
    from kerasinv.recipes import run_recipe

    with progress.shown(not quiet):
        run_recipe(spec, output=output, verbose=progress.keras_verbose(), **options)
    if worker is not None:
        click.echo(f"Worker {worker} done; the chief wrote the results.", err=True)
        return
    click.echo(open(os.path.join(output, "table.md"), encoding="utf-8").read())
    click.echo(f"Results, tables and figures in {output}/", err=True)


class _Recipes(click.Group):
    """``kerasinv recipe NAME|SPEC.toml [OPTIONS]``: one command per recipe, built from its spec and
    its runner's declared options, so ``--help`` shows only what that recipe takes."""

    def list_commands(self, ctx):
        from kerasinv.recipes import list_specs

        return list_specs()

    def get_command(self, ctx, name):
        from kerasinv.recipes import load_spec

        return _recipe_command(load_spec(name))  # an unknown name: a one-line error with hints

    def format_commands(self, ctx, formatter):
        from kerasinv.recipes import list_specs, load_spec

        rows = []
        for name in list_specs():
            spec = load_spec(name)
            presets = ", ".join(spec["presets"])
            rows.append((name, f"{spec.get('title', '')} [presets: {presets}]"))
        with formatter.section("Recipes (or a path to your own .toml spec)"):
            formatter.write_dl(rows)


@main.group(cls=_Recipes, invoke_without_command=True, subcommand_metavar="RECIPE [OPTIONS]")
@click.option("--list", "list_", is_flag=True, help="List the shipped recipes and their presets.")
@click.pass_context
def recipe(ctx, list_):
    """Run a paper recipe (a shipped name or a path to your own .toml spec) and print its table.

    `kerasinv recipe RECIPE --help` lists that recipe's options, its presets and what each costs.
    """
    if ctx.invoked_subcommand is not None:
        return
    if not list_:
        click.echo(ctx.get_help())
        return
    from kerasinv.recipes import list_specs, load_spec

    click.echo("Recipes:")
    for name in list_specs():
        spec = load_spec(name)
        click.echo(f"  {name}: {spec.get('title', '')}")
        for preset, p in spec["presets"].items():
            cost = f" [{p['cost']}]" if p.get("cost") else ""
            click.echo(f"      --preset {preset:<7} {p.get('description', '')}{cost}")


@main.command()
@click.argument("model_file", type=click.Path(path_type=str))
@click.argument("destination", type=click.Path(path_type=str))
@click.option(
    "--format",
    "format_",
    type=click.Choice(FORMATS),
    default="saved_model",
    show_default=True,
    help="saved_model: DESTINATION/<version>/ for TF Serving; tflite, onnx: the file DESTINATION.",
)
@click.option(
    "--quantize",
    type=click.Choice(QUANTIZE),
    default="none",
    show_default=True,
    help="TFLite only. dynamic: int8 weights; int8: integer only (uint8 pixels in), calibrated on "
    "--representative.",
)
@click.option(
    "--representative",
    type=click.Path(path_type=str),
    help="Photos (folder, tar, or cifar10-sample) to calibrate --quantize int8 (200 of them; the "
    "train/ split of a train/ + test/ layout).",
)
@click.option(
    "--version", "version", type=click.IntRange(min=1), help="Version number [next free one]."
)
@click.option(
    "--preprocessing",
    type=click.Path(path_type=str),
    help="A preprocessing.npz from a recipe run, put inside the graph (input becomes raw pixels).",
)
@click.option(
    "--preprocess",
    type=click.Choice(["none", "caffe", "tf", "torch"]),
    default="none",
    show_default=True,
    help="keras.applications preprocessing put inside the graph (input becomes raw pixels).",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing version folder or file.")
@click.pass_context
def export(
    ctx, model_file, destination, format_, quantize, representative, version, preprocessing,
    preprocess, overwrite,
):  # fmt: skip
    """Export MODEL_FILE (.keras, or `shipped`) for deployment.

    SavedModel (default): DESTINATION is the model's folder, e.g. saved_models/allcnn, and TF
    Serving serves it with --model_name=allcnn --model_base_path=$PWD/saved_models/allcnn.
    TFLite and ONNX: DESTINATION is the file (twin.tflite, twin.onnx), with the same signature:
    images (raw 0-255 pixels) -> probabilities, classes (and logits when the model has no final
    softmax). `kerasinv evaluate` measures the written file.
    """
    from kerasinv.export import check_request

    if model_file == "shipped" and not os.path.exists(model_file):
        from kerasinv.models.shipped import shipped_keras

        model_file = str(shipped_keras())
    check_request(
        model_file, destination, version, preprocessing, overwrite, format_, quantize,
        representative, preprocess,
    )  # fmt: skip
    _import_tensorflow(ctx.obj["debug"])
    from kerasinv.export import export_file

    path = export_file(
        model_file, destination, version, preprocessing, overwrite, format_, quantize,
        representative, preprocess,
    )  # fmt: skip
    what = format_ + ("" if quantize == "none" else f", {quantize} quantized")
    click.echo(
        f"exported {model_file} -> {path} ({what}; signature serving_default: {_outputs(path)})"
    )


def _outputs(path) -> str:
    """``images -> ...`` of an exported SavedModel, TFLite or ONNX file."""
    from kerasinv.models.deployed import signature

    inputs, outputs = signature(path)
    return f"{', '.join(inputs)} -> {', '.join(outputs)}"


@main.command()
@click.argument("model_path", type=click.Path(path_type=str))
@click.option(
    "--images",
    required=True,
    type=click.Path(path_type=str),
    help="Folder or tar of photos (names with a WordNet id, n01440764_x.JPEG, give labels), or "
    "cifar10-sample: the real CIFAR-10 images shipped with kerasinv.",
)
@click.option(
    "--protocols",
    callback=_csv,
    default="crop,black,inpaint,scale,shift",
    show_default=True,
    help="Comma-separated: crop, black, inpaint, scale (Azulay & Weiss), shift (Zhang).",
)
@click.option(
    "--preprocess",
    type=click.Choice(["auto", "none", "caffe", "tf", "torch"]),
    default="auto",
    show_default=True,
    help="keras.applications preprocessing of 0..255 pixels (VGG16/ResNet50: caffe; IRV2, MobileNet: "
    "tf); auto: by the model's name, none for SavedModels.",
)
@click.option(
    "--labels",
    "label_file",
    type=click.Path(path_type=str),
    help="Label file for photos named without WordNet ids: '<file> <wnid>' or '<file> <index>' lines, or LOC_val_solution.csv.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    help="Use N photos, spread evenly over the classes (seeded by --seed).",
)
@click.option(
    "--background",
    type=click.Choice(["black", "mean"]),
    default="mean",
    show_default=True,
    help="Canvas of the black/inpaint/scale protocols: the ImageNet mean colour (the authors' "
    "code, and azulay-onepixel's default), or pixel 0.",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True)
@click.option(
    "--shift-trials",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Passes of random shift pairs over the photos (Zhang: 5; the zhang recipe's --trials).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--output", type=click.Path(path_type=str), help="Output folder [runs/evaluate-<model>]."
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace an earlier report in --output (only kerasinv's files; nothing else is touched).",
)
@click.option("--quiet", is_flag=True, help=QUIET_HELP)
@click.pass_context
def evaluate(
    ctx,
    model_path,
    images,
    protocols,
    preprocess,
    label_file,
    limit,
    background,
    batch_size,
    shift_trials,
    seed,
    output,
    overwrite,
    quiet,
):
    """Measure how MODEL_PATH (.keras file, SavedModel folder, .tflite or .onnx file, or `shipped`:
    kerasinv's trained CIFAR-10 model) reacts to one-pixel shifts, embeddings, rescaling, random
    crops and circular or sub-pixel shifts; print the table and write results, per-image arrays and
    a figure."""
    from kerasinv.evaluation import check_request

    model_path, images, output = check_request(
        model_path, images, label_file, protocols, output, overwrite
    )
    _import_tensorflow(ctx.obj["debug"])
    from kerasinv import progress
    from kerasinv.evaluation import render_table, run_report

    with progress.shown(not quiet), progress.context("evaluate"):
        result, meta = run_report(
            model_path, images, protocols, output, preprocess=preprocess, label_file=label_file,
            limit=limit, background=background, batch_size=batch_size, shift_trials=shift_trials,
            seed=seed, overwrite=overwrite, log=progress.say,
        )  # fmt: skip
    click.echo(render_table(result, f"Invariance of {meta['model']}", meta))
    for note in meta["notes"]:
        click.echo(f"note: {note}", err=True)
    click.echo(f"Report in {output}/", err=True)


@main.command()
@click.argument("model")
@click.option(
    "--data",
    required=True,
    help="cifar10 or cifar100 (found as for the recipes, or in --data-dir), cifar10-sample (the "
    "real CIFAR-10 images shipped with kerasinv: offline), or an image folder / .tar(.gz) with "
    "train/<class>/ and test/<class>/.",
)
@click.option(
    "--data-dir", type=click.Path(path_type=str), help="Where CIFAR is (cifar10/100 only)."
)
@click.option(
    "--antialias",
    default="blur-3",
    show_default=True,
    help="The twin: blur-K (K=1..7), aps[-K] or lps[-K].",
)
@click.option("--epochs", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--lr", "learning_rate", type=float, default=0.005, show_default=True,
              help="SGD learning rate, constant (small: the weights are already trained).")  # fmt: skip
@click.option("--batch-size", type=click.IntRange(min=1), default=128, show_default=True)
@click.option(
    "--train-subset", type=click.IntRange(min=10), help="Fine-tune on N images (class-balanced)."
)
@click.option(
    "--test-subset",
    type=click.IntRange(min=10),
    default=1000,
    show_default=True,
    help="Measure on N test images (class-balanced).",
)
@click.option(
    "--augment", is_flag=True, help="Flips and translations up to 4 px while fine-tuning."
)
@click.option(
    "--preprocess",
    type=click.Choice(["none", "caffe", "tf", "torch"]),
    default="none",
    show_default=True,
    help="none: raw 0-255 pixels into the model; else that keras.applications mode.",
)
@click.option(
    "--weights", type=click.Path(path_type=str), help="Weights file for a keras.applications MODEL."
)
@click.option(
    "--input-size",
    type=click.IntRange(min=8),
    help="Input size for a keras.applications MODEL [224].",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--precision",
    type=click.Choice(PRECISIONS),
    default="float32",
    show_default=True,
    help="Of the fine-tuning, where the hardware has the units; every model is measured in float32.",
)
@click.option(
    "--skip",
    callback=_csv,
    help="Comma-separated layers to leave unchanged (block/name inside a nested model).",
)
@click.option(
    "--output",
    type=click.Path(path_type=str),
    help="Output folder [runs/finetune-<model>-<antialias>].",
)
@click.option("--overwrite", is_flag=True, help="Discard a previous run in --output.")
@click.option("--quiet", is_flag=True, help=QUIET_HELP)
@click.pass_context
def finetune(ctx, model, data, data_dir, output, overwrite, quiet, weights, input_size, **options):
    """Anti-alias MODEL, fine-tune the twin on your images, and report before and after.

    MODEL is `shipped` (kerasinv's CIFAR-10 model), a .keras file, a folder written by
    `kerasinv export`, or a keras.applications name (e.g. MobileNet) with --weights. Writes
    OUTPUT/table.md (accuracy, shift consistency and one-pixel P(top-1 change) of the stock model,
    its drop-in twin and the fine-tuned twin), results.json, twin.keras and saved_models/. Started
    again the same way, an interrupted run resumes from its last completed epoch.
    """
    from kerasinv.finetune import check_request

    output = check_request(model, data, options["antialias"], output, overwrite, data_dir)
    _import_tensorflow(ctx.obj["debug"])
    from kerasinv import progress
    from kerasinv.finetune import FinetuneConfig
    from kerasinv.finetune import finetune as run_finetune

    options["skip"] = tuple(options.get("skip") or ())
    config = FinetuneConfig(**options)
    with progress.shown(not quiet):
        run_finetune(
            model, data, output, config, data_dir=data_dir, weights=weights,
            input_size=input_size, overwrite=overwrite, verbose=progress.keras_verbose(),
        )  # fmt: skip
    click.echo(open(os.path.join(output, "table.md"), encoding="utf-8").read())
    click.echo(f"Results, twin.keras and saved_models/ in {output}/", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()
