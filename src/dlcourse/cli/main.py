"""Entry point: `dlcourse <noun> <verb>`, with noun modules imported lazily so --help is fast.

Every user error ends the same way: one line ``error: ...`` on stderr and exit status 2, with
no traceback (``--debug`` shows it); click's own usage errors are reformatted to that line too.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import shlex
import sys
import time
import traceback
from pathlib import Path

import click

from dlcourse import __version__
from dlcourse.cli.options import ARGS_KEY, last_typed, option_named
from dlcourse.errors import ConfigError, DlcourseError, TrainingInterrupted

# noun -> (module, one-line help). Modules are imported only when the noun is invoked.
NOUNS = {
    "data": ("dlcourse.cli.data", "List, fetch, verify and inspect data sets and weights."),
    "text": ("dlcourse.cli.text", "Tokenize text, build vocabularies, inspect tabular text data."),
    "embed": (  # the verbs that read vectors; it imports cli.embed (the group, train)
        "dlcourse.cli.embed_vectors",
        "Train word2vec/GloVe vectors; similar words, analogies, plots.",
    ),
    "lm": ("dlcourse.cli.lm", "Train and use the embedding-layer and LSTM language models."),
    "classify": ("dlcourse.cli.classify", "Train, evaluate and use text classifiers."),
    "vision": ("dlcourse.cli.vision", "Transfer learning with ImageNet-pretrained CNNs."),
    "som": (  # the verbs that read a map; it imports cli.som (the group, train)
        "dlcourse.cli.som_maps", "Self-organizing maps: train, evaluate, predict, plot."),
    "tour": ("dlcourse.cli.tour", "Run every lesson end to end on offline data; write a report."),
}


#: seconds a torchrun process other than a machine's first waits before it ends with a user
#: error, for the first to print the line (see ``_fail``)
PEER_GRACE_S = 10.0
MAX_THREADS = 1024  # as embed's --workers: 100,000 threads hung starting them


class LazyGroup(click.Group):
    """A group whose subcommands live in modules imported on first use."""

    def list_commands(self, ctx):
        return list(NOUNS)

    def get_command(self, ctx, name):
        module = _noun_module(name)
        return None if module is None else module.group

    def format_commands(self, ctx, formatter):
        rows = [(name, help_) for name, (_, help_) in NOUNS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _noun_module(name: str):
    if name not in NOUNS:
        return None
    module_name, _ = NOUNS[name]
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None  # a lesson not installed in this build
        raise


def _threads(ctx: click.Context, value: str | None) -> int | None:
    """--threads as a whole number from 1 to MAX_THREADS; a bad value names where it came
    from, the option or the DLCOURSE_THREADS variable (which a user may have set long ago)."""
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        number = None
    if number is None or number < 1 or number > MAX_THREADS:
        source = ctx.get_parameter_source("threads")
        where = ("DLCOURSE_THREADS" if source is click.core.ParameterSource.ENVIRONMENT
                 else "--threads")
        raise click.UsageError(f"{where} must be a whole number from 1 to {MAX_THREADS}, got "
                               f"{value!r}", ctx)
    return number


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dlcourse")
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
@click.option("-q", "--quiet", is_flag=True,
              help="No progress bars or progress messages: results, warnings and errors only.")
@click.option("--threads", type=str, default=None, envvar="DLCOURSE_THREADS",
              callback=lambda ctx, _, value: _threads(ctx, value), metavar="INT",
              help="CPU threads for torch, BLAS and numba; on a machine busy with other work 1 "
                   "is often faster [default: the physical cores, split between the processes "
                   "under torchrun; OMP_NUM_THREADS when set].")
@click.pass_context
def cli(ctx, debug: bool, quiet: bool, threads: int | None):
    """dlcourse: a runnable deep-learning course in PyTorch.

    Every lesson is a noun with the same verbs: `dlcourse NOUN train DATA --out DIR`,
    `dlcourse NOUN evaluate MODEL_DIR [DATA]`, `dlcourse NOUN predict MODEL_DIR INPUT...`
    (word vectors answer with `similar` and `analogy`, language models with `generate`);
    `dlcourse NOUN VERB --help` tells more. Start with `dlcourse tour`, which runs every
    lesson on offline data and writes a report.
    """
    from dlcourse.engine.distributed import is_main_process
    from dlcourse.engine.threads import apply_threads

    ctx.obj = {"debug": debug}
    if quiet:  # read by dlcourse.engine.progress (and inherited by torchrun's workers)
        os.environ["DLCOURSE_PROGRESS"] = "0"
    main_process = is_main_process()  # torchrun's rank
    # other libraries (torch, numba) report warnings only: torch's exit hook, for one, logs
    # cache statistics at INFO. Under torchrun only rank 0 reports progress; all ranks report
    # problems
    handler = BarSafeHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(
        "%(message)s" if not debug else "%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    logging.getLogger("dlcourse").setLevel(
        logging.WARNING if quiet or not main_process else logging.INFO)
    apply_threads(threads)


class BarSafeHandler(logging.StreamHandler):
    """Log lines that first clear a progress bar drawn on the same stream (``tqdm.write``): on
    a terminal a line ran on after the bar's text (``17/78 [...]stopping after ...``)."""

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "held", False):  # a renamed data set's note: after a good end
            from dlcourse.cli.common import hold_note

            hold_note(self.format(record))
            return
        tqdm_module = sys.modules.get("tqdm")  # no bar is drawn before tqdm is imported
        if tqdm_module is None or not getattr(tqdm_module.tqdm, "_instances", None):
            super().emit(record)
            return
        try:
            tqdm_module.tqdm.write(self.format(record), file=self.stream)
            self.flush()
        except Exception:  # as StreamHandler.emit does
            self.handleError(record)


GLOBAL_OPTIONS = ("-q", "--quiet", "--debug", "--threads")
_RANGE = re.compile(r"(?P<value>.+) is not in the range (?:(?P<low>[^<>=x]+)(?P<lop><=?))?x"
                    r"(?:(?P<hop>[<>]=?)(?P<high>[^<>=]+?))?\.?$")
_CHOICE = re.compile(r"(?P<value>.+) is not one of (?P<choices>.+?)\.?$")
_NUMBER = re.compile(r"(?P<value>.+) is not (?:a valid|an|a) (?P<kind>integer|float|number)"
                     r"(?: range)?(?P<none> or (?:none|all))?\.?$")


def _bad_value_line(exc: click.BadParameter, args: list[str]) -> str | None:
    """click's own messages for a bad option value, in the words the settings' checks use
    (``--limit must be >= 1, got 0``; ``unknown --method 'foo'; choose one of a, b``), naming
    the option as typed in ``args`` (``--topn`` or ``--top``), or None for other messages."""
    param = exc.param
    if param is None:
        return None
    if isinstance(param, click.Option):
        typed = [o for o in param.opts if any(a == o or a.startswith(o + "=") for a in args)]
        name = (typed or [o for o in param.opts if o.startswith("--")] or param.opts)[0]
    else:
        name = param.human_readable_name
    text = " ".join(str(exc.message).split())
    if match := _RANGE.match(text):
        low, high = match["low"], match["high"]
        if low is not None and high is not None:
            bound = (f"between {low} and {high}" if (match["lop"], match["hop"]) == ("<=", "<=")
                     else f"{match['lop'].replace('<', '>')} {low} and {match['hop']} {high}")
        elif low is not None:
            bound = f"{match['lop'].replace('<', '>')} {low}"
        else:
            bound = f"{match['hop']} {high}"
        return f"{name} must be {bound}, got {match['value']}"
    if match := _CHOICE.match(text):
        choices = ", ".join(c.strip().strip("'") for c in match["choices"].split(","))
        return f"unknown {name} {match['value']}; choose one of {choices}"
    if match := _NUMBER.match(text):
        kind = "a whole number" if match["kind"] == "integer" else "a number"
        return f"{name} must be {kind}{match['none'] or ''}, got {match['value']}"
    return None


def _verb(args: list[str]) -> click.Command | None:
    """The command ``args`` name (``som train``), found without running anything."""
    command: click.Command = cli
    for arg in args:
        if not isinstance(command, click.Group):
            return command
        if not arg.startswith("-"):  # a global option's value is no command: skipped
            command = command.get_command(None, arg) or command
    return None if isinstance(command, click.Group) else command


def _as_typed(message: str, args: list[str]) -> str:
    """``message`` with each option named by the spelling the user typed (``--limit`` where
    the settings' check says ``--max-lines``, ``--nhid`` for ``--hidden-size``)."""
    command = _verb(args)
    for param in command.params if command is not None else ():
        typed = last_typed(getattr(param, "opts", ()), args)
        for other in (o for o in param.opts if typed and o != typed):
            message = re.sub(rf"(?<![\w-]){re.escape(other)}(?![\w-])", typed, message)
    return message


def _field_as_option(exc: Exception, args: list[str]) -> str:
    """The error's line, a setting named by its field (``max_size=10000``, from the library)
    named as the command's option (``--max-vocab 10000``)."""
    line, field = _error_line(exc), getattr(exc, "field", None)
    command = _verb(args) if isinstance(exc, ConfigError) and field else None
    for param in command.params if command is not None else ():
        if param.name == field and isinstance(param, click.Option):
            name = next((o for o in param.opts if o.startswith("--")), param.opts[0])
            line = option_named(line, field, name, as_word=False)  # the settings' rule
            line = re.sub(r"(?<=[ =])None\b", "none", line)  # as the command line spells it
    return line


def _usage_line(exc: click.UsageError, args: list[str]) -> str:
    if isinstance(exc, click.BadParameter) and (line := _bad_value_line(exc, args)) is not None:
        return line
    message = _as_typed(" ".join(exc.format_message().split()), args)
    if isinstance(exc, click.NoSuchOption) and exc.option_name in GLOBAL_OPTIONS \
            and exc.ctx is not None and exc.ctx.parent is not None:
        noun = exc.ctx.command_path.split()[1]
        given = exc.option_name + (" N" if exc.option_name == "--threads" else "")
        return (f"{message} {exc.option_name} is a global option: put it before the noun "
                f"(dlcourse {given} {noun} ...)")
    if exc.ctx is not None:
        message += f" (see '{exc.ctx.command_path} --help')"
    return message


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors print one line (`error: ...`) and exit 2, no traceback."""
    from dlcourse.engine.interrupt import sigint_after_imports

    with sigint_after_imports():  # a Ctrl-C inside `import torch` would break torch, not stop
        _run(list(sys.argv[1:] if argv is None else argv))


def _one_process(args: list[str]) -> str | None:
    """Under torchrun only ``train`` runs on every process; any other verb (evaluate, predict,
    a query, data, the tour) runs on rank 0 alone, the others ending at once: each printed the
    whole result, once per process. So does what shows help or the version (no verb). Returns
    the note rank 0 prints when the command ends well (before it, it came ahead of a usage
    error's line)."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return None
    command = _verb(args)
    shows_help = command is None or "--help" in args or "-h" in args
    if not shows_help and command.name == "train":
        return None
    from dlcourse.engine.distributed import is_main_process

    if not is_main_process():
        sys.exit(0)
    if shows_help:
        return None
    return (f"note: {command.name} ran in one process; torchrun's other {world - 1} "
            f"process{'es' * (world > 2)} ended at once")


def _run(args: list[str]) -> None:
    debug = "--debug" in args
    note = _one_process(args)
    try:
        # make_context/invoke rather than click's main(): click's main turns EOFError into a
        # bare "Aborted!" and prints blank lines; here every exception is ours to report
        # a copy: click's parser takes the options it reads out of the list it is given, and
        # the messages below quote the command as typed
        with cli.make_context("dlcourse", list(args)) as ctx:
            ctx.meta[ARGS_KEY] = args  # the verbs' notes name options as typed
            cli.invoke(ctx)
        if note is not None:
            click.echo(note, err=True)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.NoArgsIsHelpError as exc:  # `dlcourse som`: its help, laid out
        click.echo(exc.ctx.get_help())
        sys.exit(0)
    except click.UsageError as exc:
        _traceback(debug)
        _fail(_usage_line(exc, args), 2)
    except click.ClickException as exc:
        _traceback(debug)
        _fail(" ".join(exc.format_message().split()), exc.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        _fail(f"interrupted{_resume_hint(args)}", 130)
    except BrokenPipeError:
        # whatever read stdout has stopped (`dlcourse data list | head -3`): end quietly as
        # shell tools do, stdout pointed at /dev/null so the flush at exit does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)  # 128 + SIGPIPE, what the shell reports for a tool the pipe stopped
    except MemoryError as exc:  # numpy's names the size it could not allocate
        _traceback(debug)
        _fail(f"out of memory: {_error_line(exc)}; use smaller settings or less data "
              "(--limit)", 1)
    except (DlcourseError, ValueError, OSError, EOFError) as exc:
        _traceback(debug)
        user_os = (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError,
                   FileExistsError)
        if isinstance(exc, TrainingInterrupted):
            status = 130
            exc = TrainingInterrupted(str(exc).replace(RESUME_SAID, _resume_command(args)))
        elif isinstance(exc, OSError) and not isinstance(exc, user_os):
            status = 1
        else:
            status = 2
        _fail(_as_typed(_field_as_option(exc, args), args) if status == 2
              else _error_line(exc), status)


def _fail(message: str, status: int) -> None:
    """Print ``error: MESSAGE`` and exit with ``status``.

    Under torchrun every process runs the same command on the same machine's files, so a user
    error (2) or a Ctrl-C (130) reaches all of them alike: only the first process of each
    machine (``LOCAL_RANK`` 0) prints it, not one line per process. A Ctrl-C stops torchrun
    too, which waits for every process: the others end silently. For a user error they wait
    :data:`PEER_GRACE_S` first (one that left at once made torchrun stop the first process
    before it printed: no error line at all, about one run in eight); torchrun stops them when
    the first process ends, and one still running after the wait (an error of its own) prints
    it, naming its rank, as every process does for other failures.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        first = os.environ.get("LOCAL_RANK", "0") == "0"
        if status == 130 and not first:
            sys.exit(status)
        if status == 2 and not first:
            try:
                time.sleep(PEER_GRACE_S)
            except KeyboardInterrupt:  # Ctrl-C while waiting: the first process says it
                sys.exit(130)
        if not first or status not in (2, 130):
            message = f"rank {os.environ.get('RANK', '0')}: {message}"
    click.echo(f"error: {message}", err=True)
    sys.exit(status)


def _resume_hint(args: list[str]) -> str:
    """For a Ctrl-C outside a trainer's own handling (while the data is read, a checkpoint or the
    final files are written, say): the checkpoint a ``train --out OUT`` run left, which
    ``--resume`` continues from or finishes, or that there is none yet."""
    if "train" not in args:
        return ""
    out = next((v for k, v in zip(args, args[1:]) if k == "--out"), None)
    out = out or next((a.split("=", 1)[1] for a in args if a.startswith("--out=")), None)
    if out is None:
        return ""
    kept = [p for p in (Path(out) / "last.pt", Path(out) / "last.safetensors") if p.is_file()]
    if not kept:
        return (f"; nothing was saved in {out} yet (before the run's first checkpoint): run "
                "the command again, without --resume")
    return (f"; the checkpoint {kept[0]} is kept: {_resume_command(args)} (or to finish "
            "writing the run's files)")


#: how the library's hint (engine.interrupt.RESUME_HINT) begins: replaced by the command
RESUME_SAID = "run the same command with --resume"


def _resume_command(args: list[str]) -> str:
    """How to continue an interrupted ``train``: the command as typed, plus ``--resume``
    (under torchrun, whose own options are not known here, said in words)."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return RESUME_SAID
    typed = args if "--resume" in args else [*args, "--resume"]
    return f"to continue, run: dlcourse {shlex.join(typed)}"


def _traceback(debug: bool) -> None:
    """With ``--debug`` the traceback of the error being handled goes to stderr before its
    one-line message; the exit status stays the same (2 for a user error)."""
    if debug:
        traceback.print_exc()


def _error_line(exc: BaseException) -> str:
    """One line for an exception: its message, plus the file an OSError names."""
    text = " ".join(str(exc).split()) if str(exc) else type(exc).__name__
    if isinstance(exc, OSError):
        text = exc.strerror or text
        names = [str(n) for n in (exc.filename, exc.filename2) if n]
        if names and names[0] not in text:
            text = f"{text}: {names[0]}"
    elif isinstance(exc, EOFError):
        text = f"unexpected end of input ({text})"
    # the library's hint for Python callers ("run the same command with --resume (in Python:
    # fit again with resume=True)") is no fix a command-line user can type
    return re.sub(r" \(in Python: (?:[^()]|\(\))*\)", "", text)  # a call's "()" may be in it
