"""`dlcourse text`: the text pipeline from the command line.

    dlcourse text tokenize INPUT...              tokens of each text
    dlcourse text tokenize --file FILE           ... of each line, or of a table's --text-col
    dlcourse text vocab DATA... [--out DIR|FILE.json]
    dlcourse text inspect TABLE

DATA is a text file (one text a line), a table (.csv, .tsv, .jsonl, .parquet: its --text-col)
or a named corpus (lee, wordnet, ...). The options are generated from the text configs
(:class:`~dlcourse.text.config.TokenizerConfig`, ``VocabConfig``, ``TableConfig``), so each
default lives once, and every value and file is checked before any work. Nothing here imports
torch (the spaCy tokenizer does, through spaCy's own thinc, when torch is installed).
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import click

from dlcourse.cli.common import (
    LIMIT,
    check_input_file,
    texts_on_missing_option,
)
from dlcourse.cli.old_spellings import OldSpellings
from dlcourse.cli.options import ConfigOptions, given_value
from dlcourse.cli.tables import echo_table
from dlcourse.cli.text_out import vocab_target
from dlcourse.errors import DlcourseError
from dlcourse.text.config import TableConfig, TokenizerConfig, VocabConfig
from dlcourse.text.formats import TABLE_SUFFIXES, is_table

group = click.Group("text", help="Tokenize text, build vocabularies, inspect tabular text data.")

CORPORA = {  # named corpus -> reader of dlcourse.data.readers returning texts
    "lee": "read_lee",
    "wordnet": "read_wordnet_glosses",
    "rt-sentences": "read_rt_sentences",
    "pang-lee-sample": "read_pang_lee_sample",
    "wikipedia-sample": "read_wikipedia_sample",
}
TOKENIZER = ConfigOptions(TokenizerConfig)
# the spellings of the other lessons work too (`embed train --max-vocab/--min-count`)
VOCAB = ConfigOptions(VocabConfig, rename={"max_size": ("--max-vocab", "--max-size"),
                                           "min_freq": ("--min-freq", "--min-count")})
TABLE = ConfigOptions(TableConfig)
# texts only: no label column, so --on-missing gets help that speaks of texts alone (below)
READ = ConfigOptions(TableConfig, exclude=("label_col", "on_missing"))


def _plural(n: int, noun: str) -> str:
    """``1 text``, ``2,000 texts``."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _short_tokenizer(command):
    """``-t NAME``: the short spelling of ``--tokenizer`` (kept for scripts that use it)."""
    return click.option("-t", "short_tokenizer", default=None, hidden=True)(command)


def _build_configs(values: dict, table: ConfigOptions = READ):
    """(TokenizerConfig, TableConfig) from a command's option values, validated; one-line
    errors name the option."""
    short = values.pop("short_tokenizer", None)
    if short is not None:
        if values.get("tokenizer") not in (None, short):
            raise click.UsageError(f"-t {short} and --tokenizer {values['tokenizer']} disagree; "
                                   "give one")
        values["tokenizer"] = short
    fixed = {} if table is TABLE else {"label_col": None}
    on_missing = values.pop("on_missing", None) if table is not TABLE else None
    if on_missing is not None:
        fixed["on_missing"] = on_missing
    if values.get("label_col") == "":  # the old spelling of --label-col none
        fixed["label_col"] = None
    tokenizer = TOKENIZER.build(TOKENIZER.pop(values))
    reading = table.build(table.pop(values), **fixed)
    if tokenizer.vocab_file is not None:
        check_input_file(tokenizer.vocab_file, "--vocab-file")
    return tokenizer, reading


def _check_source(path: str, reading: TableConfig, what: str) -> Path:
    """A readable text file or table, refused before work if missing, binary or undecodable."""
    from dlcourse.text.reading import check_text_file

    if Path(path).suffix.lower() == ".parquet":  # binary by design; pandas checks the rest
        return check_input_file(path, what)
    # tables are decoded whole when loaded, so only plain text files get the decoding pass here
    return check_text_file(path, reading.encoding, what, decode=not is_table(path))


def _texts_of(path: Path, reading: TableConfig, limit: int | None, skip_blank: bool = True):
    """The texts of a table's text column, or the lines of a text file (streamed)."""
    from dlcourse.text import load_table, read_text_lines

    if is_table(path):
        return load_table(path, text_col=reading.text_col, label_col=None,
                          encoding=reading.encoding, on_missing=reading.on_missing,
                          limit=limit).texts
    lines = read_text_lines(path, reading.encoding, skip_blank=skip_blank)
    return lines if limit is None else itertools.islice(lines, limit)


@group.command()
@click.argument("inputs", nargs=-1, metavar="[INPUT]...")
@click.option("-f", "--file", "file", metavar="FILE",
              help="Tokenize this file instead: one text a line, or a table's --text-col "
                   "('-' = stdin).")
@TOKENIZER
@_short_tokenizer
@READ
@texts_on_missing_option
@click.option("--limit", type=LIMIT,
              help="Use only the first N texts [default: all].")
@click.option("--ids", is_flag=True,
              help="Print ids: WordPiece ids with [CLS]/[SEP], or the ids of --vocab.")
@click.option("--vocab", "vocab_path", metavar="VOCAB_JSON",
              help="A vocabulary JSON, or the folder holding it (from `dlcourse text vocab "
                   "--out`), for --ids.")
@click.option("--json", "as_json", is_flag=True, help="One JSON list per line.")
def tokenize(inputs, file, limit, ids, vocab_path, as_json, **options):
    """Tokenize each INPUT text (or each text of --file): one line of tokens per text.

    \b
    dlcourse text tokenize "Hello, World!"                  -> hello , world !
    dlcourse text tokenize --tokenizer spacy "Don't stop"   -> Do n't stop
    dlcourse text tokenize --tokenizer wordpiece --ids "Hi!" -> 101 7632 999 102
    dlcourse text tokenize --file reviews.csv --text-col review --limit 5
    """
    if file is not None and not file.strip():  # '' is no file, not a missing option
        raise DlcourseError("--file is empty; give a text or table file (- for standard input)")
    if bool(inputs) == bool(file):
        raise click.UsageError("give INPUT texts or --file FILE (not both)")
    tok_config, reading = _build_configs(options)
    if ids and vocab_path is None and tok_config.tokenizer != "wordpiece":
        raise click.UsageError("--ids needs --vocab VOCAB_JSON or --tokenizer wordpiece")
    if vocab_path is not None and not ids:
        raise click.UsageError("--vocab gives ids: add --ids")
    if vocab_path is not None:
        if Path(vocab_path).is_dir():  # the folder `text vocab --out DIR` wrote
            if not (Path(vocab_path) / "vocab.json").is_file():
                raise DlcourseError(f"--vocab {vocab_path} is a directory without vocab.json; "
                                    "pass a vocabulary JSON or the folder `text vocab --out` "
                                    "wrote")
            vocab_path = Path(vocab_path) / "vocab.json"
        check_input_file(vocab_path, "--vocab")
    if file is not None and file != "-":
        file = _check_source(file, reading, "--file")

    from dlcourse.text import Vocab

    tok = tok_config.build()
    vocab = Vocab.load(vocab_path) if vocab_path else None
    if file == "-":
        source = _stdin_lines(reading.encoding)
        source = source if limit is None else itertools.islice(source, limit)
    elif file is not None:
        source = iter(_texts_of(file, reading, limit, skip_blank=False))
    else:
        source = iter(inputs[:limit])
    n = 0  # texts tokenized so far
    # a vocabulary without an unknown token has no id for a word outside it: every text is
    # looked up before the first line is written, so such a word leaves no half output
    closed = ids and vocab is not None and vocab.unk_id is None
    held: list = []
    while chunk := list(itertools.islice(source, 4096)):  # bounded memory on any input size
        if ids and vocab is None:
            rows = tok.encode_ids(chunk)
        else:
            rows = tok.batch(chunk)
            if ids:
                rows = [_ids_of(vocab, r, n + k + 1, vocab_path) for k, r in enumerate(rows)]
        n += len(chunk)
        if closed:
            held.extend(rows)
            continue
        _echo_rows(rows, as_json)
    _echo_rows(held, as_json)
    if not n and file == "-":  # an empty file is refused before work; stdin only once read
        raise DlcourseError("--file -: standard input is empty; pipe text in (one text a line), "
                            "e.g. echo 'Hello, World!' | dlcourse text tokenize --file -")


def _ids_of(vocab, tokens: list[str], line: int, vocab_path) -> list[int]:
    from dlcourse.errors import UnknownTokenError

    try:
        return vocab.lookup(tokens)
    except UnknownTokenError:
        word = next(t for t in tokens if t not in vocab.stoi)
        raise DlcourseError(f"text {line}: {word!r} is not in --vocab {vocab_path}, which has no "
                            "unknown token to stand for it; build the vocabulary with one "
                            "(dlcourse text vocab ... --specials '<pad>,<unk>')") from None


def _echo_rows(rows, as_json: bool) -> None:
    import json

    for row in rows:
        click.echo(json.dumps(row, ensure_ascii=False) if as_json else " ".join(map(str, row)))


def _stdin_lines(encoding: str, skip_blank: bool = False):
    """Lines of standard input, decoded by the same policy as files; ``skip_blank`` leaves out
    lines that are empty or only whitespace, as ``read_text_lines`` does for a file."""
    lines = _stdin_decoded(encoding)
    return (line for line in lines if line.strip()) if skip_blank else lines


def _stdin_decoded(encoding: str):
    """Every line of standard input without its line end, decoded (see :func:`_stdin_lines`)."""
    import io
    import sys

    from dlcourse.text.reading import check_encoding, wide_text_error

    codec = check_encoding(encoding)
    if codec.startswith(("utf-16", "utf-32")):  # a newline is more than the byte 0x0a there
        stream = io.TextIOWrapper(sys.stdin.buffer, encoding=codec, errors="strict",
                                  newline="\n")
        try:
            for line in stream:
                yield line.rstrip("\r\n")
        except UnicodeError as e:
            raise DlcourseError(f"<stdin> does not read as {encoding}: {e}") from None
        return
    # line by line, so that an undecodable byte is named with its line, as in a file
    for n, raw in enumerate(sys.stdin.buffer, 1):
        try:
            line = raw.decode("utf-8-sig" if codec == "utf-8" and n == 1 else codec)
        except UnicodeDecodeError as e:
            if n == 1 and e.start == 0 and (wide := wide_text_error("<stdin>", raw)):
                raise wide from None
            raise DlcourseError(f"<stdin>:{n}: byte 0x{raw[e.start]:02x} is not valid "
                                f"{encoding}; pass the right --encoding (e.g. latin-1)") from None
        yield line.rstrip("\r\n")


@group.command(cls=OldSpellings, old_spellings=("--dataset",))
@click.argument("data", nargs=-1, required=True, metavar="DATA...")
@click.option("-o", "--out", metavar="FILE.json|DIR",
              help="Save the vocabulary as FILE.json, or as DIR/vocab.json (a name without a "
                   "suffix is a folder; checked before any work).")
@TOKENIZER
@_short_tokenizer
@VOCAB
@READ
@texts_on_missing_option
@click.option("--limit", type=LIMIT,
              help="Use only the first N texts of each DATA [default: all].")
@click.option("--top", default=20, show_default=True, type=click.IntRange(min=0),
              help="Print the N most frequent tokens.")
def vocab(data, out, limit, top, **options):
    """Build a vocabulary from DATA: text files (one text a line), tables (their --text-col),
    named corpora (lee, wordnet, rt-sentences, pang-lee-sample, wikipedia-sample) or - for
    standard input (one text a line).

    \b
    dlcourse text vocab wordnet --max-vocab 10000 --min-freq 2 --out vocab.json
    dlcourse text vocab reviews.csv --text-col review --out runs/vocab
    """
    tok_config, reading = _build_configs(options)
    vocab_options = VOCAB.pop(options)
    _check_max_vocab(given_value(vocab_options.get("max_size")))
    vocab_config = VOCAB.build(vocab_options)
    target = None if out is None else vocab_target(out)
    if data.count("-") > 1:
        raise click.UsageError("DATA names - (standard input) more than once")
    sources = [_resolve_data(item, reading) for item in data]

    tok = tok_config.build()
    counted = {"texts": 0, "tokens": 0}

    def counting(token_lists):
        for tokens in token_lists:
            counted["texts"] += 1
            counted["tokens"] += len(tokens)
            yield tokens

    texts = itertools.chain.from_iterable(_corpus_texts(s, reading, limit) for s in sources)
    # the library's own summary ("vocabulary: 3 token lists, ...") said again, in other
    # words, what the line below prints
    vocab_log = logging.getLogger("dlcourse.text.vocab")
    level = vocab_log.level
    vocab_log.setLevel(logging.WARNING)
    try:
        v = vocab_config.build(counting(tok.stream(texts)))
    finally:
        vocab_log.setLevel(level)
    if not counted["tokens"]:
        raise DlcourseError(f"DATA {' '.join(data)} holds no tokens; nothing to count")
    n_specials = len(vocab_config.specials)
    if len(v) == n_specials:  # before anything is printed or saved
        raise DlcourseError(f"no token of DATA occurs --min-freq {vocab_config.min_freq} "
                            "times; lower it")
    click.echo(f"{_plural(counted['texts'], 'text')}, {_plural(counted['tokens'], 'token')} -> "
               f"vocabulary of {len(v):,} ({n_specials} specials); coverage "
               f"{sum(v.freqs) / counted['tokens']:.2%} of running tokens")
    echo_table([{"id": i, "token": v.itos[i], "count": v.freqs[i]}
                for i in range(n_specials, min(len(v), n_specials + top))])
    if target is not None:
        click.echo(f"saved {v.save(target)}")


def _check_max_vocab(max_size) -> None:
    """``text vocab --max-vocab``: 1 or more, or none. ``VocabConfig`` (the Python API) takes 0
    as well, a vocabulary of the specials alone; printed here it would list nothing, so the
    command refuses it, and its message names the range the command takes, not the API's."""
    if isinstance(max_size, int) and max_size < 1:
        if max_size == 0:
            raise DlcourseError("--max-vocab 0 keeps no token; give 1 or more, or none for all")
        raise DlcourseError(f"--max-vocab must be >= 1, or none to keep every token, got "
                            f"{max_size}")


def _resolve_data(item: str, reading: TableConfig):
    """A DATA item: a named corpus (as ``dlcourse data list`` names it) or a file, checked; a
    one-line error otherwise. Names win, as in ``lm train``: write ``./lee`` for a file."""
    from dlcourse.data import canonical_name

    if item == "-":
        return item  # standard input, one text a line
    name = canonical_name(item)
    if name in CORPORA:
        return name
    path = Path(item)
    if not (path.exists() or path.suffix or len(path.parts) > 1):  # not meant as a file
        raise DlcourseError(f"DATA {item!r} is neither a file nor a named corpus; give a file or "
                            f"one of {', '.join(CORPORA)}")
    return _check_source(item, reading, "DATA")


def _corpus_texts(source, reading: TableConfig, limit: int | None):
    if source == "-":  # read as a file is: blank lines are no texts, nor count to --limit
        return itertools.islice(_stdin_lines(reading.encoding, skip_blank=True), limit)
    if isinstance(source, Path):
        return _texts_of(source, reading, limit)
    from dlcourse.data import readers

    items = getattr(readers, CORPORA[source])()[:limit]
    return [x[0] if isinstance(x, tuple) else x for x in items]


@group.command()
@click.argument("table", metavar="TABLE")
@TABLE
@TOKENIZER
@_short_tokenizer
@click.option("--limit", type=LIMIT, help="Use only the first N rows [default: all].")
def inspect(table, limit, **options):
    """Columns, label counts and token-length percentiles of TABLE (.csv, .tsv, .jsonl, .parquet).

    \b
    dlcourse text inspect train.csv --text-col review --label-col label
    """
    tok_config, reading = _build_configs(options, TABLE)
    if not is_table(table):
        raise DlcourseError(f"TABLE {table} is not a table; give a {', '.join(TABLE_SUFFIXES)} "
                            "file")
    path = _check_source(table, reading, "TABLE")
    tok = tok_config.build()

    import numpy as np

    from dlcourse.text import load_table

    data = load_table(path, text_col=reading.text_col, label_col=reading.label_col,
                      encoding=reading.encoding, on_missing=reading.on_missing, limit=limit)
    lengths = np.array([len(t) for t in tok.batch(data.texts)])  # (N,) tokens per text
    click.echo(f"{table}: {_plural(len(data), 'row')}; columns: {', '.join(data.columns or [])}")
    if data.labels is not None:
        counts = data.label_counts()
        click.echo(f"labels ({len(counts)} {'class' if len(counts) == 1 else 'classes'}):")
        echo_table([{"label": y, "count": c, "share": c / len(data)} for y, c in counts.items()])
    click.echo(f"tokens per text ({tok_config.tokenizer}):")
    qs = [0, 50, 90, 95, 99, 100]
    row = dict(zip(["min", "p50", "p90", "p95", "p99", "max"],
                   (float(q) for q in np.percentile(lengths, qs))))
    row["mean"] = float(lengths.mean())
    echo_table([row], floatfmt=".1f")
