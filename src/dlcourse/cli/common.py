"""What every noun module shares: options generated from a config, the checks that run before
any work (``--out`` writable, a model directory, an existing file) and plain-text tables.

No heavy imports here (no torch, no numpy): ``dlcourse <noun> --help`` stays fast.

The grammar every noun follows::

    dlcourse NOUN train DATA --out DIR [options]
    dlcourse NOUN evaluate MODEL_DIR [DATA]
    dlcourse NOUN predict MODEL_DIR INPUT...   (embed: similar, analogy; lm: generate)

A lesson's training options come from its config dataclass through
:class:`~dlcourse.cli.options.ConfigOptions`, so each default lives once (in the config) and the
CLI refuses exactly what ``Config.validate`` refuses, before any data is read.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from dlcourse.cli.options import (
    ARGS_KEY,
    UNSET,
    given_value,
    last_typed,
    option_error,
    option_name,
    typed_value,
)
from dlcourse.engine.accelerator import check_device_name
from dlcourse.engine.distributed import is_main_process
from dlcourse.engine.files import check_out_dir
from dlcourse.engine.persist import MODEL_FILE, check_model_dir, check_out_lesson
from dlcourse.errors import ConfigError, DlcourseError

# ---------------------------------------------------------------------------- checks before work
#: the files a training run keeps in its folder (and the evaluations written there): an
#: output option never writes over them
RUN_FILES = frozenset({
    MODEL_FILE, "model.pt", "last.safetensors", "last.pt", "best.pt", "model.json", "vocab.json",
    "config.json", "tokenizer.json", "history.json", "metrics.json", "curves.png",  # lm
    "metrics_valid.json", "metrics_test.json", "confusion_valid.png", "confusion_test.png",
    "teacher_labels.npz",  # classify
    "confusion.png", "misclassified.png",  # vision
    "evaluation.json", "confusion_eval.png", "misclassified_eval.png"})  # evaluate --out

#: the formats of the commands that write word vectors (``embed export``, ``lm export``)
VECTOR_FORMATS = ("word2vec", "word2vec-binary", "glove")
vector_format_option = click.option(
    "--format", "fmt", type=click.Choice(VECTOR_FORMATS), default=None,
    help="word2vec text, word2vec binary or GloVe text (no header) [default: word2vec-binary "
         "for a .bin file, else word2vec].")


def vector_format(fmt: str | None, dest: Path) -> str:
    """``--format`` as given, else the default of the file's suffix."""
    return fmt or ("word2vec-binary" if dest.suffix == ".bin" else "word2vec")


def check_out_file(value: str | os.PathLike, option: str, example: str) -> Path:
    """A file that can be written: not a directory, its folder writable or creatable, and not a
    file of a model folder (its model, checkpoint, vocabulary ...).

    ``example`` is a file name suggested when ``value`` is a folder (``vectors.txt``).
    Nothing is created here.
    """
    if not str(value).strip():  # Path("") is ".", a directory
        raise DlcourseError(f"{option} is empty; give a file name such as {example}")
    path = Path(value)
    if path.is_dir() or str(value).endswith(("/", os.sep)):  # pdir/: a folder, to be made
        what = "is a directory" if path.is_dir() else "names a folder (it ends in /)"
        raise DlcourseError(f"{option} {value} {what}; give a file name such as "
                            f"{path / example}")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise DlcourseError(f"{option} {value}: {parent} is a file, so the folder cannot "
                                "be made")
    if path.name in RUN_FILES and path.is_file() and any(
            (path.parent / name).exists() for name in (MODEL_FILE, "last.safetensors", "last.pt")):
        raise DlcourseError(f"{option} {value} is the training run's own {path.name}; writing "
                            f"there would destroy it: give another name, such as "
                            f"{path.parent / example}")
    check_out_dir(path.parent, option)
    return path


def check_not_input(out: Path, option: str, source: str | os.PathLike | None) -> None:
    """Refuse an output file (checked by :func:`check_out_file`) that is the file ``source`` the
    command reads: it would be replaced by its own results."""
    if source is not None and out.is_file() and Path(source).is_file() \
            and os.path.samefile(out, source):
        raise DlcourseError(f"{option} {out} is the file this command reads; give another name")


def same_source(data: str, trained_on: str | None,
                is_name: Callable[[str], bool] = lambda _: False) -> bool:
    """Whether DATA is what a model was trained on: the same string, or the same file or folder
    (``is_name``: a data set's name, compared as a name only, never as a path)."""
    if trained_on is None:
        return False
    if data == trained_on:
        return True
    if is_name(data) or is_name(trained_on):
        return False  # two names, or a name and a path
    try:
        return Path(data).expanduser().samefile(Path(trained_on).expanduser())
    except OSError:  # the training file is not found from here
        return False

def check_input_file(path: str | os.PathLike, what: str = "DATA", holds: str = "") -> Path:
    """An existing, readable, non-empty file; else a one-line error naming ``what`` (and, for
    an empty one, what it should hold: ``holds``)."""
    if not str(path).strip():  # Path("") is ".", the working folder
        raise DlcourseError(f"{what} is empty; pass a file")
    path = Path(path)
    if not path.exists():
        raise DlcourseError(f"{what} {path} does not exist")
    if path.is_dir():
        raise DlcourseError(f"{what} {path} is a directory; pass a file")
    if not os.access(path, os.R_OK):
        raise DlcourseError(f"{what} {path} is not readable (permission denied)")
    if path.stat().st_size == 0:
        raise DlcourseError(f"{what} {path} is empty" + (f"; give {holds}" if holds else ""))
    return path


#: suffixes of files: a new --out folder named so (`--out map.png`) is taken for a file
FILE_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".json", ".csv", ".tsv", ".txt",
                 ".npy", ".npz", ".safetensors", ".pt")


def _out_folder(value: str) -> Path:
    """``check_out_dir``, and a new folder's name that reads as a file's refused: the files
    would land in a folder called ``map.png``."""
    out = check_out_dir(value)
    if not out.exists() and out.suffix.lower() in FILE_SUFFIXES:
        raise DlcourseError(f"--out {out} names a {out.suffix} file, but --out is the folder "
                            f"the files go into; give a folder (e.g. --out {out.with_suffix('')})")
    return out


def optional_out_dir(ctx, param, value):
    """Click callback of an optional output folder (``evaluate --out``, ``plot --out``):
    checked like :func:`check_out_dir`, nothing created, and refused when it holds another
    lesson's model (``evaluation.json`` and the figures would land beside it)."""
    if value is None:
        return None
    out = _out_folder(value)
    if ctx.parent is not None:  # dlcourse NOUN VERB: the noun's lesson; dlcourse tour: none
        lesson = ctx.parent.info_name if ctx.parent.parent is not None else ctx.info_name
        check_out_lesson(out, lesson, "--out")
    return out


def _out_callback(ctx, param, value):
    if value is None:
        return None
    out = _out_folder(value)
    if ctx.parent is not None:  # dlcourse NOUN train: the noun is the lesson
        check_out_lesson(out, ctx.parent.info_name, "--out")
    return out


def evaluation_out_option(*figures: str):
    """``evaluate``'s optional ``--out``: the folder for evaluation.json and the ``figures``
    (nothing is written without it)."""
    files = ["evaluation.json", *figures]
    named = files[0] if len(files) == 1 else f"{', '.join(files[:-1])} and {files[-1]}"
    return click.option("--out", type=click.Path(), default=None, callback=optional_out_dir,
                        help=f"Also write {named} here.")


out_option = click.option("--out", "out", required=True, type=click.Path(), callback=_out_callback,
                          help="Output directory (created if needed; checked before any work).")


def model_dir_argument(lesson: str):
    """The ``MODEL_DIR`` argument, checked to hold a model of ``lesson``."""
    def callback(ctx, param, value):
        return check_model_dir(value, lesson)

    return click.argument("model_dir", metavar="MODEL_DIR", callback=callback)


def cli_device_message(message: str, option: str = "--device") -> str:
    """The engine's refusal of a device (:func:`~dlcourse.engine.device.resolve_device`) as the
    command line says it: its hint names the option alone, not the Python API's
    ``device="cpu"``. Other messages are returned as they are."""
    from dlcourse.engine.device import CPU_HINT  # imports torch: only after a GPU was asked

    return message.replace(CPU_HINT, f"({option} cpu, or {option} auto, which takes a GPU only "
                                     "when there is one)")


def check_device(device: str, option: str = "--device") -> str:
    """``device`` (spelled as :func:`check_device_name` allows) when this machine has it; else
    the engine's one-line refusal, worded for the command line (:func:`cli_device_message`).
    ``auto`` and ``cpu`` always exist and import nothing; the others need torch to ask.

    Raises:
        DlcourseError: a GPU (``cuda``, ``cuda:N``, ``mps``) that is not here.
    """
    if device in ("auto", "cpu"):
        return device
    try:
        from dlcourse.engine.device import resolve_device
    except ImportError:  # no torch: the command that uses the device says so itself
        return device
    try:
        resolve_device(device)
    except DlcourseError as exc:
        raise DlcourseError(cli_device_message(str(exc), option)) from None
    return device


def _device_name(ctx, param, value):
    """--device spelled like a device and present on this machine, checked as the command
    line is read (an absent GPU imports torch to find out; auto and cpu import nothing)."""
    option = param.opts[0] if param else "--device"
    try:
        name = check_device_name(value)
    except ConfigError as exc:  # "unknown --device 'gpu'", as train's settings check says it
        raise DlcourseError(str(exc).replace("unknown device", f"unknown {option}", 1)) from None
    return check_device(name, option)


class Limit(click.ParamType):
    """``--limit N``: a whole number >= 1, or ``all`` (no limit: the default, None)."""

    name = "limit"

    def get_metavar(self, param, ctx=None) -> str:
        return "N"

    def convert(self, value, param, ctx):
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            number = value
        elif str(value).strip().lower() in ("all", "none"):
            return None
        else:
            try:
                number = int(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not an integer or all", param, ctx)
        if number is not None and number < 1:
            self.fail(f"{number} is not in the range x>=1", param, ctx)
        if number is not None and number > sys.maxsize:  # islice's bound, and far past any data
            self.fail(f"{number} is not in the range x<={sys.maxsize}", param, ctx)
        return number


LIMIT = Limit()

device_option = click.option(
    "--device", default="auto", show_default=True, callback=_device_name,
    help="auto (GPU when present), cpu, cuda, cuda:N or mps.")
resume_option = click.option("--resume", is_flag=True,
                             help="Continue an interrupted run from its --out folder.")


def parse_grid(value: str, option: str = "--grid") -> tuple[int, int]:
    """'20x20' -> (20, 20); a one-line error otherwise."""
    try:
        m, n = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise DlcourseError(f"{option} {value!r} is not a grid like 20x20") from None
    if m < 1 or n < 1:
        raise DlcourseError(f"{option} {value!r}: both sides must be >= 1")
    return m, n


def check_resume(out: Path, lesson: str, settings: dict, before: dict | None = None) -> dict:
    """Refuse ``--resume`` before any work: no checkpoint in OUT, another lesson's run, or
    other settings (the check ``fit`` repeats when it loads the checkpoint; ``before``: the
    config class's, for runs saved before a setting existed). Returns the checkpoint."""
    from dlcourse.engine.persist import nothing_to_resume

    if not (Path(out) / "last.pt").exists():  # said before torch loads (2 s), as fit says it
        raise nothing_to_resume(Path(out) / "last.pt")
    from dlcourse.engine.fitting import load_resume_state

    return load_resume_state(out, {"lesson": lesson, "config": settings, "before": before})


def check_batch_split(batch_size: int, at_least: int = 1, why: str = "") -> None:
    """Under torchrun, refuse a global ``--batch-size`` the processes cannot share evenly (or
    that gives each fewer than ``at_least`` items, as ``why`` says) before any data is read
    (``fit`` checks it too, after loading)."""
    from dlcourse.engine.distributed import check_global_batch

    try:
        check_global_batch(batch_size, at_least=at_least, why=why)
    except ConfigError as exc:
        raise option_error(exc) from None


def note_deprecated(old: str, new: str) -> None:
    """The one-line note an old spelling gets (it still works).

    Under a running command the note is printed when the command ends well, after its output:
    a command refused for a bad value (an old spelling's value among them) prints its one
    ``error:`` line alone. Outside a command it is printed at once.
    """
    hold_note(f"note: '{old}' is deprecated; write {new}")


def hold_note(line: str) -> None:
    """Print ``line`` when the running command ends well (see :func:`note_deprecated`), or at
    once outside a command."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        click.echo(line, err=True)
        return
    root = ctx.find_root()
    held = root.meta.get(_HELD_NOTES)
    if held is None:
        held = root.meta[_HELD_NOTES] = []
        outer = sys.exc_info()[1]  # an exception handled around the whole command

        def print_if_ended_well() -> None:  # the root context closes, an error in flight or not
            exc = sys.exc_info()[1]
            if exc is None or exc is outer or (
                    isinstance(exc, SystemExit | click.exceptions.Exit)
                    and getattr(exc, "code", getattr(exc, "exit_code", 1)) in (0, None)):
                for note in held:
                    click.echo(note, err=True)

        root.call_on_close(print_if_ended_well)
    held.append(line)


_HELD_NOTES = "dlcourse.held_notes"


def check_dry_run_out(out: str | os.PathLike, resume: bool) -> None:
    """Refuse a fresh ``--dry-run`` into a folder holding a trained model: the smoke test's
    model (a tiny network, one epoch) would replace it (``--resume`` continues a smoke test's
    own run, checked against its settings)."""
    if not resume and (Path(out) / MODEL_FILE).is_file():
        raise DlcourseError(f"--dry-run would replace the trained model in {out} with the smoke "
                            "test's; give a new --out")


def note_dry_run(typed: dict[str, Any], smoke: dict[str, Any],
                 rename: dict[str, str | tuple[str, ...]] | None = None) -> None:
    """Name the typed values ``--dry-run`` replaces with its smoke test's, so that none is
    dropped in silence.

    Args:
        typed: the command's options as given (None: not given).
        smoke: field -> the value the smoke test uses instead.
        rename: the command's option spellings (:func:`~dlcourse.cli.options.option_name`).
    """
    ctx = click.get_current_context(silent=True)
    args = ctx.meta.get(ARGS_KEY, []) if ctx is not None else []
    opts = {p.name: p.opts for p in ctx.command.params} if ctx is not None else {}
    replaced = []
    for field, used in smoke.items():
        value = given_value(typed.get(field))
        if value is not UNSET and value != used:
            # named and shown as typed: --limit all, not --max-lines none
            name = last_typed(opts.get(field, ()), args) or option_name(field, rename)
            shown = typed_value(name, args) if value is None else None
            replaced.append(f"{name} {shown or ('none' if value is None else value)} -> {used}")
    if replaced and is_main_process():  # once under torchrun
        click.echo(f"note: --dry-run replaces {', '.join(replaced)} (a smoke test; leave "
                   "--dry-run out to train with them)", err=True)


def texts_on_missing_option(command):
    """``--on-missing`` of the verbs that read texts without labels (its help speaks of texts
    alone; TableConfig's own option speaks of labels too)."""
    from dlcourse.cli.options import ConfigValue
    from dlcourse.text.config import TableConfig
    from dlcourse.text.tabular import ON_MISSING

    # TableConfig.validate checks the value, as for the generated options
    return click.option("--on-missing", "on_missing", type=ConfigValue(str, False, ON_MISSING),
                        default=None,
                        help="A table row with an empty text: error stops there, naming the "
                             f"line; drop skips such rows. [default: {TableConfig().on_missing}]"
                        )(command)
