"""`dlcourse embed`: train word2vec and GloVe vectors; query, evaluate, plot and export them.

    dlcourse embed train DATA --out DIR [--method skipgram|cbow|glove] [options]
    dlcourse embed evaluate MODEL_DIR [DATA]...
    dlcourse embed similar MODEL_DIR WORD...
    dlcourse embed analogy MODEL_DIR A B C
    dlcourse embed plot MODEL_DIR WORD... --out FILE
    dlcourse embed export MODEL_DIR --to FILE [--format word2vec|word2vec-binary|glove]

The training options come from :class:`~dlcourse.embeddings.config.Word2VecConfig` and
:class:`~dlcourse.embeddings.config.GloVeConfig` (each default lives there once) and every value
is checked before any data is read. MODEL_DIR is a directory written by ``embed train``; every
verb but train also takes a word2vec (text or binary) or GloVe vectors file there. Nothing here
imports torch unless word2vec trains on a GPU or under torchrun.
"""

from __future__ import annotations

from pathlib import Path

import click

from dlcourse.cli.common import (
    LIMIT,
    check_device,
    check_dry_run_out,
    note_deprecated,
    note_dry_run,
    out_option,
    resume_option,
)
from dlcourse.cli.old_spellings import OldSpellings
from dlcourse.cli.options import ConfigOptions, option_name
from dlcourse.cli.tables import echo_table
from dlcourse.embeddings.config import GloVeConfig, Word2VecConfig
from dlcourse.errors import DlcourseError
from dlcourse.text.config import TableConfig

group = click.Group("embed", help="Word vectors: train word2vec/GloVe, query, evaluate, plot.")

METHODS = ("skipgram", "cbow", "glove")
SHARED = ("vector_size", "window", "min_count", "max_vocab", "epochs", "workers", "seed")
# the other lessons' spellings work too (`lm train` and `classify train` say --embed-dim and
# --min-freq)
SHARED_NAMES = {"vector_size": ("--dim", "--embed-dim"),
                "min_count": ("--min-count", "--min-freq")}
W2V = ConfigOptions(Word2VecConfig, exclude=("method", "alpha"),
                    rename={**SHARED_NAMES, "min_alpha": "--min-lr", "alpha": "--lr"})
GLOVE_ONLY = ConfigOptions(GloVeConfig, exclude=(*SHARED, "eta"),
                           rename={"alpha": "--weight-exponent"})
GLOVE = ConfigOptions(GloVeConfig, rename={**SHARED_NAMES, "eta": "--lr",
                                           "alpha": "--weight-exponent"})
W2V_ONLY = tuple(f.name for f in W2V.fields if f.name not in SHARED)
READ = ConfigOptions(TableConfig, exclude=("text_col", "label_col", "on_missing"))
DRY_RUN_SENTENCES = 300


def encoding_of(options: dict) -> str:
    """The validated --encoding of a command's options (removed from them)."""
    return READ.build(READ.pop(options)).encoding


# ---------------------------------------------------------------------------- train
def train_config(method: str, options: dict, lr: float | None, dry_run: bool):
    """The validated Word2VecConfig or GloVeConfig of ``embed train``.

    Raises:
        DlcourseError: a value out of range (naming its option), or a GPU asked of GloVe (the
            other trainer's options are noted: the run does not use them).
    """
    glove = method == "glove"
    given = {k for k, v in options.items() if v is not None}
    other = W2V if glove else GLOVE_ONLY
    others = [k for k in options if k in given  # in --help's order, not a set's
              and k in (W2V_ONLY if glove else tuple(f.name for f in GLOVE_ONLY.fields))]
    # the other trainer's option at its default (`--blocks none`, a script that spells out
    # every default) is harmless; another value would be silently ignored
    typed, default = other.build({k: options[k] for k in others}), other.build({})
    wrong = [k for k in others if getattr(typed, k) != getattr(default, k)]
    if glove and "device" in wrong and options["device"].strip().lower() == "cpu":
        wrong.remove("device")  # GloVe trains on the CPU: saying so is harmless
    if glove and "device" in wrong:  # a GPU asked of the CPU trainer: refused, not noted
        raise DlcourseError("--device is a word2vec option; --method glove trains on the CPU")
    # at its default it is harmless, as above
    if method == "skipgram" and options.get("cbow_mean") not in (None, W2V.build({}).cbow_mean):
        wrong.append("cbow_mean")
    if wrong:  # noted, as every lesson notes the settings its chosen model does not read
        names = ", ".join(option_name(k, {**W2V.rename, **GLOVE.rename}) for k in wrong)
        click.echo(f"note: --method {method} does not use {names}", err=True)
    if glove:
        values = {k: v for k, v in options.items() if k in GloVeConfig.field_names()}
        config = GLOVE.build(values, **({} if lr is None else {"eta": lr}))
    else:
        values = {k: v for k, v in options.items() if k in Word2VecConfig.field_names()}
        config = W2V.build(values, method=method, **({} if lr is None else {"alpha": lr}))
    if dry_run:  # a smoke test: one epoch over a few hundred sentences, which keep a vocabulary
        config = config.replace(epochs=1, min_count=min(config.min_count, 2))
    from dlcourse.embeddings.word2vec import uses_cpu_kernel
    from dlcourse.engine.distributed import world_size

    if not glove and "batch_size" in given and uses_cpu_kernel(config, world_size()):
        click.echo("note: --batch-size sets the torch path's step (a GPU, torchrun); the CPU "
                   "kernel updates the vectors pair by pair", err=True)
    return config


@group.command(cls=OldSpellings, old_spellings=(("--data", "--corpus"),))
@click.argument("data", metavar="DATA")
@click.option("--method", type=click.Choice(METHODS), default="skipgram", show_default=True,
              help="skipgram or cbow (word2vec), or glove.")
@W2V
@click.option("--lr", type=float, default=None, metavar="NUMBER",
              help="Start learning rate (word2vec's alpha, GloVe's eta) [default: 0.025; "
                   "glove 0.05].")
@click.option("--alpha", "old_alpha", type=float, default=None, hidden=True)  # now --lr
@GLOVE_ONLY
@READ
@click.option("--limit", type=LIMIT, default=None,
              help="Use only the first N texts (lines of a file) [default: all].")
@click.option("--dry-run", is_flag=True,
              help=f"Smoke test: 1 epoch on {DRY_RUN_SENTENCES} texts, --min-count at most 2 "
                   "(so that so few texts keep a vocabulary).")
@out_option
@resume_option
def train(data, method, lr, old_alpha, limit, dry_run, out, resume, **options):
    """Train word vectors on DATA and save them in --out.

    Writes model.safetensors (vectors, vocabulary, counts; read without torch),
    last.safetensors (the checkpoint --resume continues from) and history.json. word2vec runs a
    compiled multi-threaded kernel on the CPU and batched torch on a GPU (--device auto picks
    the GPU when present); GloVe runs on the CPU. Ctrl-C stops between chunks (GloVe: between
    rounds) and saves a checkpoint; the same command with --resume continues from there. GloVe
    and word2vec with --workers 1 then end with exactly the vectors of a run never stopped;
    Hogwild threads (word2vec, --workers > 1) are not reproducible, stopped or not.

    Under ``torchrun --nproc_per_node=N -m dlcourse embed train ...`` GloVe splits counting
    and training over the N processes (same vectors as one process with N x --workers
    threads) and word2vec takes the torch path with every batch split over the ranks; rank 0
    writes --out.

    \b
    DATA: lee, wordnet, wikipedia-sample, rt-sentences (offline), text8, ptb (online), or a
    text file with one sentence or document a line (or a folder of such files).
    """
    if old_alpha is not None:
        note_deprecated(f"--alpha {old_alpha}", "'--lr' (the start learning rate)")
        if lr is not None and lr != old_alpha:
            raise DlcourseError("--alpha and --lr disagree; give the learning rate once (--lr)")
        lr = old_alpha
    encoding = encoding_of(options)
    config = train_config(method, options, lr, dry_run)
    if dry_run:
        check_dry_run_out(out, resume)
    estimator = "GloVe" if method == "glove" else "Word2Vec"
    from dlcourse.embeddings.checkpoint import check_resumable
    from dlcourse.embeddings.sources import check_data, open_corpus

    if resume:  # the settings now, before the corpus is read (fit checks the data's too)
        check_resumable(out, estimator, config.resume_values())
    data = check_data(data, encoding)
    if method != "glove" and config.backend != "numba":
        from dlcourse.engine.accelerator import is_cpu_spec

        if not is_cpu_spec(config.device):  # an unavailable GPU fails before the data is read
            check_device(config.device)
    if dry_run:  # every check passed: say which typed values the smoke test replaces
        smoke = {"epochs": config.epochs, "min_count": config.min_count,
                 "limit": min(limit or DRY_RUN_SENTENCES, DRY_RUN_SENTENCES)}
        note_dry_run({**options, "limit": limit}, smoke, {**W2V.rename, **GLOVE.rename})
        limit = smoke["limit"]
    corpus = open_corpus(data, encoding, limit)
    from dlcourse.engine.distributed import is_main_process, process_group

    # under torchrun: gloo on the CPU, nccl with each rank on its own GPU; no torch otherwise
    with process_group("cpu" if method == "glove" else config.device):
        model = _fit(method, config, corpus, out, resume)
        if is_main_process():  # rank 0 reports
            from dlcourse.engine.files import write_json

            write_json(out / "history.json", model.history_)
            echo_table(model.history_)
            click.echo(f"{len(model.wv_)} words x {model.wv_.vector_size} dims -> "
                       f"{out / 'model.safetensors'}")


def _fit(method: str, config, corpus, out: Path, resume: bool):
    """Train with a progress bar (inside the process group under torchrun)."""
    from dlcourse.embeddings import GloVe, Word2Vec

    trainer = GloVe if method == "glove" else Word2Vec
    return trainer(config=config.replace(progress=True)).fit(corpus, out_dir=out, resume=resume)
