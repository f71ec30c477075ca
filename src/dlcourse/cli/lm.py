"""`dlcourse lm`: train, evaluate and use the embedding-layer and LSTM language models.

    dlcourse lm train DATA --out DIR [--model embedding|lstm|ptb-medium] [options]
    dlcourse lm evaluate MODEL_DIR [DATA]
    dlcourse lm generate MODEL_DIR [PROMPT...]
    dlcourse lm similar MODEL_DIR WORD...
    dlcourse lm export MODEL_DIR --to FILE

The training options are generated from :class:`~dlcourse.lm.config.LMConfig` and
:class:`~dlcourse.lm.config.CorpusConfig` (each default lives there once) and every value is
checked before any data is read.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import click

from dlcourse.cli.common import (
    check_batch_split,
    check_device,
    check_dry_run_out,
    check_out_file,
    check_resume,
    device_option,
    evaluation_out_option,
    model_dir_argument,
    note_deprecated,
    note_dry_run,
    out_option,
    resume_option,
    same_source,
    vector_format,
    vector_format_option,
)
from dlcourse.cli.lm_data import check_data, check_data_text, held_log_lines
from dlcourse.cli.lm_evaluate import report_evaluation
from dlcourse.cli.old_spellings import OldSpellings
from dlcourse.cli.options import ConfigOptions, ConfigValue, option_error, option_name
from dlcourse.cli.tables import echo_table
from dlcourse.errors import ConfigError, DlcourseError
from dlcourse.lm.config import (
    EVAL_BATCH_SIZE,
    MAX_TOKENS,
    PRESETS,
    SEED_MAX,
    TOP_K,
    CorpusConfig,
    LMConfig,
    auto_eval_streams,
    check_streams,
    data_settings,
    default_tokenizer,
    source_name,
)

group = click.Group("lm", help="Train and use the embedding-layer and LSTM language models.")

# field -> spellings, the first "--" one shown first and named in errors; the others are the
# other lessons' (or this lesson's earlier) names for the same setting, and pytorch/examples'
# word_language_model's (--emsize, --nhid, --nlayers, --clip)
RENAME = {"num_layers": ("--layers", "--nlayers"), "tie_weights": "--tie",
          "embed_dim": ("--embed-dim", "--emsize"), "grad_clip": ("--grad-clip", "--clip"),
          "hidden_dim": ("--hidden-size", "--hidden-dim", "--nhid"),
          "max_size": ("--max-vocab", "--max-size"), "min_freq": ("--min-freq", "--min-count"),
          "max_lines": ("--max-lines", "--limit")}
TRAIN = ConfigOptions(LMConfig, exclude=("model",), rename=RENAME,
                      shown={"eval_batch_size": f"{EVAL_BATCH_SIZE}, fewer on a short text"})
CORPUS = ConfigOptions(CorpusConfig, rename=RENAME)


def _corpus_value(ctx, param, value):
    """An evaluate corpus option checked as it is parsed, before torch is imported, in the
    words of train's (``--max-lines must be >= 1, got 0``)."""
    if value is not None:
        CORPUS.build({param.name: value})
    return value


# evaluate's corpus options: their defaults come from the model (see `evaluate`), so they are
# written here rather than generated with CorpusConfig's defaults and help
EVAL_MAX_LINES = click.option(
    "--max-lines", "--limit", "max_lines", type=ConfigValue(int, optional=True, unlimited=True),
    default=None, callback=_corpus_value,
    help="Measure on the first N // 8 lines of DATA's valid and test parts, as `lm train "
         "--max-lines N` did (so the same figures); all or none: every line. [default: the model's "
         "training setting when DATA is its training corpus, else none]")
EVAL_ENCODING = click.option(
    "--encoding", "encoding", type=ConfigValue(str, optional=False), default=None,
    callback=_corpus_value,
    help="Text encoding of a DATA file, e.g. latin-1. [default: the model's training setting "
         "when DATA is its training corpus, else utf-8]")
PRESET_HELP = ("The recipe: embedding = the lesson's embedding -> linear model (100-d, Adam "
               "1e-3, 10 epochs, shuffled windows); lstm = the CPU-sized LSTM (the defaults "
               "below); ptb-medium = Zaremba's 2x650 LSTM with SGD lr 20 for a GPU. Options "
               "given change the recipe.")
DRY_RUN_LINES = 100


def _data_callback(ctx, param, value):
    return None if value is None else check_data(value)


def _legacy_prompt(ctx, param, value):
    if value is not None:
        note_deprecated(f"--prompt {value}", f"'dlcourse lm generate MODEL_DIR \"{value}\"'")
    return value


def _finite(ctx, param, value):
    if not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number", ctx, param)
    return value


def _out_file(ctx, param, value):
    return check_out_file(value, "--to", "vectors.txt")


def train_config(preset: str, options: dict, dry_run: bool = False) -> LMConfig:
    """The validated config of ``lm train``: the preset, then the options given.

    Raises:
        DlcourseError: a value out of range, naming its option.
    """
    # a per-recipe ConfigOptions: its defaults are the preset's values, so options not given
    # keep the recipe's (e.g. embed_dim 100 for --model embedding), and errors name the option
    builder = ConfigOptions(LMConfig, exclude=("model",), rename=RENAME, defaults=PRESETS[preset])
    if not dry_run:
        return builder.build(options, progress=True)
    # a smoke test: one epoch of a tiny network, its equal widths set before the tied widths'
    # check (a typed --hidden-size 32 beside the recipe's embed_dim 200 was refused by it);
    # the typed values get their own checks first
    typed = builder.build(options, progress=True, tie_weights=False)
    size = min(typed.embed_dim, typed.hidden_dim, 16)
    return builder.build(options, progress=True, epochs=1, embed_dim=size, hidden_dim=size,
                         num_layers=1)


@group.command(cls=OldSpellings, old_spellings=("--data",))
@click.argument("data", metavar="DATA", callback=_data_callback)
@click.option("--model", "preset", type=click.Choice(list(PRESETS)), default="lstm",
              show_default=True, help=PRESET_HELP)
@TRAIN
@CORPUS
@click.option("--dry-run", is_flag=True,
              help=f"Smoke test: {DRY_RUN_LINES} lines, 1 epoch, a 16-unit model.")
@out_option
@resume_option
def train(data, preset, dry_run, out, resume, **options):
    """Train a language model on DATA and save it in --out.

    Writes model.safetensors (the best epoch's weights, vocabulary and tokenizer),
    last.pt/best.pt (checkpoints), history.json, metrics.json (valid/test perplexity,
    tokens/s) and curves.png. Ctrl-C stops after the current window and saves last.pt; the
    same command with --resume continues from exactly there (the same weights, bit for bit on
    a CPU, as a run never interrupted). Under ``torchrun --nproc_per_node=N -m dlcourse lm
    train ...`` each process trains on its share of the --batch-size streams (a multiple of
    N) and rank 0 writes the outputs; --resume works with any N.

    \b
    DATA: ptb, wikitext-2 (online), wordnet, wikipedia-sample, rt-sentences, lee (offline),
    a text file (one sentence or paragraph a line, split 80/10/10 by --seed; UTF-8 unless
    --encoding) or a directory with one *train*, *valid* and *test* file.
    """
    typed_corpus = CORPUS.pop(options)
    corpus_config = CORPUS.build(typed_corpus)
    config = train_config(preset, options, dry_run)
    check_batch_split(config.batch_size)
    check_data_text(data, corpus_config.encoding)
    max_lines = corpus_config.max_lines
    if dry_run:
        check_dry_run_out(out, resume)
        max_lines = min(max_lines or DRY_RUN_LINES, DRY_RUN_LINES)
    # a file or folder: the model keeps where it is, so that `lm evaluate MODEL_DIR` finds it
    # from any working directory
    name = source_name(data) or str(Path(data).expanduser().resolve())
    read = dict(seed=config.seed, max_lines=max_lines, encoding=corpus_config.encoding,
                max_size=corpus_config.max_size, min_freq=corpus_config.min_freq)
    saved = None
    if resume:  # the settings and the data's (the text itself once read, below, and by fit)
        from dlcourse.text import get_tokenizer

        tokenizer = get_tokenizer(corpus_config.tokenizer or default_tokenizer(name)).config
        saved = check_resume(out, "lm", {**config.resume_values(),
                                         **data_settings(name, tokenizer, read)})["config"]
    from dlcourse.engine.distributed import is_main_process, process_group
    from dlcourse.lm import LanguageModel, load_corpus

    check_device(config.device)  # an unavailable device fails before the data is read
    if dry_run:  # every check passed: say which typed values the smoke test replaces
        note_dry_run({**options, **typed_corpus},
                     {"epochs": 1, "embed_dim": config.embed_dim, "hidden_dim": config.hidden_dim,
                      "num_layers": 1, "max_lines": max_lines}, RENAME)
    with held_log_lines() as release:
        corpus = load_corpus(data, tokenizer=corpus_config.tokenizer, **read)
        corpus = dataclasses.replace(corpus, name=name)
        if saved is not None:  # an edited file: "trained on other data", before lines print
            from dlcourse.engine.persist import check_resume_config

            check_resume_config(saved, {"training_texts": corpus.fingerprint()}, out)
        tokens = {split: getattr(corpus, split).numel() for split in ("train", "valid", "test")}
        # none typed: fit's streams, fewer on a small text (so fit notes nothing more)
        config, note = auto_eval_streams(config, tokens, option_name("eval_batch_size", RENAME))
        try:  # streams the splits cannot hold, before a model is built and any line printed
            limit = corpus_config.max_lines  # the lines a typed --max-lines/--limit kept
            cut = "" if limit is None else f" (cut to {limit:,} lines by --max-lines)"
            check_streams(config, tokens, repr(data.strip()) + cut)
        except ConfigError as exc:
            raise option_error(exc, RENAME) from None
        release()
    if note is not None:
        click.echo(f"note: {note}", err=True)
    # every rank loads the same corpus (same seed, same split and vocabulary); a single
    # process is unaffected
    with process_group(config.device):
        lm = LanguageModel(config).fit(corpus, out_dir=out, resume=resume)
        if is_main_process():
            _report(lm, corpus, preset, out)


def _report(lm, corpus, preset: str, out: Path) -> None:
    """Rank 0 after training: metrics.json, the loss curves and the table."""
    from dlcourse.engine import write_json
    from dlcourse.plots.common import plot_curves

    history = lm.history_
    metrics = {**corpus.summary(), **lm.evaluate(corpus), "model": preset,
               "epochs_run": len(history),
               "train_tokens_per_s": history[-1]["items_per_s"] if history else None}
    write_json(out / "metrics.json", metrics)
    plot_curves(history, ["train_loss", "valid_loss"], out / "curves.png",
                title=f"{preset} language model on {corpus.name}")
    echo_table([{"epoch": h["epoch"], "train_loss": h["train_loss"], "valid_ppl": h["valid_ppl"],
                 "lr": h["lr"], "tokens/s": round(h["items_per_s"])} for h in history])
    click.echo(f"valid perplexity {metrics['valid_ppl']:.1f}, test perplexity "
               f"{metrics['test_ppl']:.1f}; saved {out / 'model.safetensors'}")


@group.command(cls=OldSpellings, old_spellings=((), "--data"))
@model_dir_argument("lm")
@click.argument("data", metavar="[DATA]", required=False, callback=_data_callback)
@EVAL_MAX_LINES
@EVAL_ENCODING
@evaluation_out_option()
@device_option
def evaluate(model_dir, data, max_lines, encoding, out, device):
    """Valid and test perplexity of the model in MODEL_DIR on DATA.

    DATA defaults to the corpus the model was trained on, read as training read it (the same
    seed, --max-lines and --encoding, so the same split and the figures of metrics.json); it is
    encoded with the model's tokenizer and vocabulary. A text file is split as training splits
    one (80/10/10 by the model's seed), its valid and test parts scored (test_tokens says how
    many); a folder's *valid* and *test* files are scored whole. Prints a table; writes files
    only with --out (evaluation.json, the table's figures).

    valid_unk and test_unk are the shares of the scored tokens that are <unk> (words the
    model's vocabulary lacks); a perplexity over mostly <unk> says little about the text.
    """
    # the values were checked as they were parsed (_corpus_value)
    given = {k: v for k, v in (("max_lines", max_lines), ("encoding", encoding)) if v is not None}
    from dlcourse.lm import LanguageModel, load_corpus

    lm = LanguageModel.load(model_dir, device=device)
    if data is None:  # the training corpus: a file path may not resolve from here
        try:
            data = check_data(lm.data_name_, typed=False)
        except DlcourseError:
            raise DlcourseError(f"the model was trained on {lm.data_name_!r}, which is not found "
                                "from here; pass DATA after MODEL_DIR") from None
    # the training corpus is read with its training settings unless an option says otherwise;
    # another corpus with the defaults (a model file from before the settings were kept has none)
    saved = (lm.corpus_settings_ if same_source(data, lm.data_name_, source_name)
             else {})
    # the lines only: the vocabulary is the model's, whatever max_size and min_freq built it
    settings = CORPUS.build({**{k: saved.get(k) for k in ("max_lines", "encoding")}, **given})
    check_data_text(data, settings.encoding)
    seed = saved.get("seed", lm.config.seed)
    # the corpus's summary line counts "training" tokens, which evaluate never reads: the
    # line held is dropped and report_evaluation says what is measured instead
    with held_log_lines():
        corpus = load_corpus(data, tokenizer=lm.tokenizer_config_, seed=seed,
                             max_lines=settings.max_lines, vocab=lm.itos_,
                             encoding=settings.encoding)
    row = report_evaluation(lm, corpus, data, seed, settings.max_lines)
    if out is not None:
        from dlcourse.engine import write_json

        click.echo(f"wrote {write_json(out / 'evaluation.json', row)}")


@group.command()
@model_dir_argument("lm")
@click.argument("prompt", metavar="[PROMPT]...", nargs=-1)
@click.option("--prompt", "prompt_option", hidden=True, callback=_legacy_prompt)
@click.option("--max-tokens", default=30, show_default=True,
              type=click.IntRange(min=1, max=MAX_TOKENS), help="Words to draw per sample.")
@click.option("--temperature", default=1.0, show_default=True, type=click.FloatRange(min=0),
              callback=_finite, help="0 greedy, < 1 safer, > 1 more varied.")
@click.option("--top-k", default=TOP_K, show_default=True, type=click.IntRange(min=0),
              help="Draw among the K most likely words; 0 = all words.")
@click.option("--num", "num_samples", default=3, show_default=True,
              type=click.IntRange(1, 100_000),
              help="Number of samples.")
@click.option("--stop-at-eos", is_flag=True, help="End each sample at the end of a sentence.")
@click.option("--allow-unk", is_flag=True, help="Let the sampler draw <unk>.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, SEED_MAX),
              help="Seed of the first sample.")
@device_option
def generate(model_dir, prompt, prompt_option, max_tokens, temperature, top_k, num_samples,
             stop_at_eos, allow_unk, seed, device):
    """Sample continuations of PROMPT (empty: a new sentence) with temperature and top-k.

    Sample i uses seed --seed + i (modulo 2**32), so the same command prints the same text.
    """
    if prompt and prompt_option is not None:  # before the heavy imports
        raise DlcourseError("give the prompt once (after MODEL_DIR), not with --prompt too")
    text = " ".join(prompt) if prompt else (prompt_option or "")
    from dlcourse.lm import LanguageModel

    lm = LanguageModel.load(model_dir, device=device)
    known = set(lm.itos_)
    unknown = list(dict.fromkeys(t for t in lm.tokenize(text) if t not in known))
    if unknown:  # the model reads them as <unk>: say so rather than continue silently
        click.echo(f"note: {', '.join(map(repr, unknown))} "
                   f"{'is' if len(unknown) == 1 else 'are'} not in the model's vocabulary "
                   f"({len(known):,} words); the model reads <unk> there", err=True)
    for i in range(num_samples):
        continuation = lm.generate(text, max_tokens=max_tokens, temperature=temperature,
                                   top_k=top_k, seed=(seed + i) % (SEED_MAX + 1),
                                   stop_at_eos=stop_at_eos,
                                   allow_unk=allow_unk)
        click.echo(f"{text} {continuation}".strip())


@group.command()
@model_dir_argument("lm")
@click.argument("words", metavar="WORD...", nargs=-1, required=True)
@click.option("--top", "--topn", "topn", default=10, show_default=True, type=click.IntRange(min=1),
              help="Neighbours per word.")
@device_option
def similar(model_dir, words, topn, device):
    """Nearest words to each WORD in the model's embedding table (cosine); each WORD is read
    with the model's tokenizer, as generate reads it (President -> president if it lowercases)."""
    from dlcourse.lm import LanguageModel

    lm = LanguageModel.load(model_dir, device=device)
    entries = lm.vocabulary_entries(words)  # every word checked, read as generate reads it
    for word in entries:
        click.echo(f"{word}:")
        # the API's neighbours: words only, never <eos>, <unk> or <pad>
        echo_table([{"word": w, "cosine": s} for w, s in lm.most_similar(word, topn=topn)],
                   floatfmt=".3f")


@group.command()
@model_dir_argument("lm")
@click.option("--to", "path", required=True, callback=_out_file,
              help="The file to write (its folder is created if needed).")
@vector_format_option
def export(model_dir, path, fmt):
    """Export the embedding table as word vectors, in a format gensim, word2vec.c, GloVe
    tools and `dlcourse embed` read.

    Every row but <pad>'s (no text holds it) is written: the words, and <unk> and <eos>,
    the rows the model learned for an unknown word and a sentence end, so the file holds the
    table the model reads (skip those two where only words belong; `lm similar` never
    answers them)."""
    from dlcourse.lm import LanguageModel

    fmt = vector_format(fmt, path)
    lm = LanguageModel.load(model_dir, device="cpu")
    path.parent.mkdir(parents=True, exist_ok=True)
    click.echo(f"wrote {lm.export_vectors(path, fmt)} ({fmt})")
