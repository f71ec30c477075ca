"""Entry point: `dlcourse <noun> <verb>`, with noun modules imported lazily so --help is fast."""

from __future__ import annotations

import importlib
import logging
import os
import sys

import click

from dlcourse import __version__
from dlcourse.errors import DlcourseError

# noun -> (module, one-line help). Modules are imported only when the noun is invoked.
NOUNS = {
    "data": ("dlcourse.cli.data", "List, fetch and inspect data sets and weights."),
    "text": ("dlcourse.cli.text", "Tokenize text, build vocabularies, inspect tabular text data."),
    "embed": (
        "dlcourse.cli.embed",
        "Train word2vec/GloVe vectors; similar words, analogies, plots.",
    ),
    "lm": ("dlcourse.cli.lm", "Train and use the embedding-layer and LSTM language models."),
    "classify": ("dlcourse.cli.classify", "Train, evaluate and use RNN/GRU/LSTM text classifiers."),
    "vision": ("dlcourse.cli.vision", "Transfer learning with ImageNet-pretrained CNNs."),
    "som": ("dlcourse.cli.som", "Self-organizing maps: train, plot, predict."),
    "tour": ("dlcourse.cli.tour", "Run every lesson end to end on offline data; write a report."),
}


class LazyGroup(click.Group):
    """A group whose subcommands live in modules imported on first use."""

    def list_commands(self, ctx):
        return list(NOUNS)

    def get_command(self, ctx, name):
        if name not in NOUNS:
            return None
        module_name, _ = NOUNS[name]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None  # a lesson not installed in this build
            raise
        return module.group

    def format_commands(self, ctx, formatter):
        rows = [(name, help_) for name, (_, help_) in NOUNS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dlcourse")
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on the terminal.")
@click.option("--threads", type=click.IntRange(min=1), default=None, envvar="DLCOURSE_THREADS",
              help="CPU threads for torch (default: torch's choice; 1 helps on a busy machine).")
@click.pass_context
def cli(ctx, debug: bool, quiet: bool, threads: int | None):
    """dlcourse: a runnable deep-learning course in PyTorch.

    Every lesson is a command: `dlcourse <noun> <verb> --help` tells more.
    Start with `dlcourse tour`, which runs all lessons on offline data.
    """
    ctx.obj = {"debug": debug}
    main_process = os.environ.get("RANK", "0") == "0"  # torchrun's rank; dlcourse.engine is heavy
    logging.basicConfig(  # under torchrun only rank 0 reports progress; all ranks report problems
        level=logging.WARNING if quiet or not main_process else logging.INFO,
        format="%(message)s" if not debug else "%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if threads:
        import torch

        torch.set_num_threads(threads)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors print one line (`error: ...`) and exit 2, no traceback."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="dlcourse", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except (
        DlcourseError,
        ValueError,
        FileNotFoundError,
        NotADirectoryError,
        PermissionError,
    ) as exc:
        if debug:
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in message:
            message = f"{message}: {exc.filename}"
        click.echo(f"error: {message}", err=True)
        from dlcourse.errors import TrainingInterrupted

        sys.exit(130 if isinstance(exc, TrainingInterrupted) else 2)
