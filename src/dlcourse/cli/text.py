"""`dlcourse text tokenize | vocab | inspect`: the text pipeline from the command line."""

from __future__ import annotations

import click

from dlcourse.cli.common import echo_table

TOKENIZER_NAMES = ["basic_english", "whitespace", "regex", "spacy", "wordpiece"]
DATASETS = {  # --dataset NAME -> reader of dlcourse.data.readers returning texts
    "lee": "read_lee",
    "wordnet": "read_wordnet_glosses",
    "rt-sentences": "read_rt_sentences",
    "pang-lee-sample": "read_pang_lee_sample",
    "wikipedia-sample": "read_wikipedia_sample",
}
TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".jsonl", ".ndjson")


def tokenizer_options(f):
    """--tokenizer, --pattern, --vocab-file, --lowercase: shared by every verb."""
    f = click.option("--lowercase", is_flag=True,
                     help="Lower-case first (whitespace, regex, spacy; basic_english always "
                          "does).")(f)
    f = click.option("--vocab-file", type=click.Path(dir_okay=False),
                     help="wordpiece: a BERT vocab.txt (default: offline bert-base-uncased).")(f)
    f = click.option("--pattern", help="regex: the token pattern (default \\w+|[^\\w\\s]).")(f)
    return click.option("-t", "--tokenizer", "tokenizer", default="basic_english",
                        show_default=True, type=click.Choice(TOKENIZER_NAMES),
                        help="Which tokenizer.")(f)


def _make_tokenizer(name: str, pattern, vocab_file, lowercase: bool):
    from dlcourse.text import get_tokenizer

    kwargs = {}
    if pattern is not None:
        if name != "regex":
            raise click.UsageError("--pattern goes with --tokenizer regex")
        kwargs["pattern"] = pattern
    if vocab_file is not None:
        if name != "wordpiece":
            raise click.UsageError("--vocab-file goes with --tokenizer wordpiece")
        kwargs["vocab_file"] = vocab_file
    if lowercase and name in ("whitespace", "regex", "spacy"):
        kwargs["lowercase"] = True
    return get_tokenizer(name, **kwargs)


def _texts_of(path: str, text_col: str, encoding: str):
    """Texts of a table file (by its text column) or of a plain file (one per line), streamed."""
    from pathlib import Path

    from dlcourse.text import iter_lines, load_table

    if Path(path).suffix.lower() in TABLE_SUFFIXES:
        return load_table(path, text_col=text_col, label_col=None, encoding=encoding).texts
    return iter_lines(path, encoding=encoding)


@click.group("text")
def group():
    """Tokenize text, build vocabularies, inspect tabular text data."""


@group.command()
@click.argument("texts", nargs=-1)
@click.option("-f", "--file", "file", type=click.Path(dir_okay=False),
              help="Tokenize this file instead, one text a line ('-' = stdin).")
@tokenizer_options
@click.option("--ids", is_flag=True,
              help="Print ids: WordPiece ids with [CLS]/[SEP], or --vocab ids.")
@click.option("--vocab", "vocab_path", type=click.Path(dir_okay=False),
              help="A vocabulary JSON (from `dlcourse text vocab --out`) for --ids.")
@click.option("--json", "as_json", is_flag=True, help="One JSON list per line.")
@click.option("--encoding", default="utf-8", show_default=True, help="Encoding of --file.")
def tokenize(texts, file, tokenizer, pattern, vocab_file, lowercase, ids, vocab_path, as_json,
             encoding):
    """Tokenize TEXTS (or --file): one line of space-separated tokens per text.

    \b
    dlcourse text tokenize "Hello, World!"            -> hello , world !
    dlcourse text tokenize -t spacy "Don't stop"      -> Do n't stop
    dlcourse text tokenize -t wordpiece --ids "Hi!"   -> 101 7632 999 102
    """
    import itertools
    import json
    import sys

    from dlcourse.text import Vocab, iter_lines

    if bool(texts) == bool(file):
        raise click.UsageError("give TEXTS or --file (not both)")
    tok = _make_tokenizer(tokenizer, pattern, vocab_file, lowercase)
    vocab = Vocab.load(vocab_path) if vocab_path else None
    if ids and vocab is None and tokenizer != "wordpiece":
        raise click.UsageError("--ids needs --vocab FILE.json or --tokenizer wordpiece")
    if file == "-":
        source = (line.rstrip("\n") for line in sys.stdin)
    elif file:
        source = iter_lines(file, encoding=encoding, skip_blank=False)
    else:
        source = iter(texts)
    while chunk := list(itertools.islice(source, 4096)):
        if ids and vocab is None:
            enc = tok.encode(chunk, max_length=10**9)
            rows = [r[m.bool()].tolist() for r, m in zip(enc["input_ids"],
                                                       enc["attention_mask"])]
        else:
            rows = tok.batch(chunk)
            if ids:
                rows = [vocab.lookup(r) for r in rows]
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False) if as_json
                       else " ".join(map(str, row)))


@group.command()
@click.argument("corpus", nargs=-1)
@click.option("--dataset", type=click.Choice(list(DATASETS)),
              help="Use an offline corpus instead of CORPUS files.")
@tokenizer_options
@click.option("--text-col", default="text", show_default=True,
              help="Text column of .csv/.tsv/.jsonl corpora.")
@click.option("--max-size", type=int, help="Keep at most this many tokens (specials excluded).")
@click.option("--min-freq", default=1, show_default=True, type=int, help="Drop rarer tokens.")
@click.option("--specials", default="<pad>,<unk>", show_default=True,
              help="Comma-separated special tokens put first; the ones named like pad and unk "
                   "(<pad>, [UNK] ...) play those roles.")
@click.option("--top", default=20, show_default=True, type=int, help="Print the top N entries.")
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Save the vocabulary JSON.")
@click.option("--encoding", default="utf-8", show_default=True, help="Encoding of CORPUS.")
def vocab(corpus, dataset, tokenizer, pattern, vocab_file, lowercase, text_col, max_size,
          min_freq, specials, top, out, encoding):
    """Build a vocabulary from CORPUS files (one text a line, or tables) or --dataset.

    \b
    dlcourse text vocab --dataset wordnet --max-size 10000 --min-freq 2 -o vocab.json
    """
    import itertools

    from dlcourse.text import Vocab

    if bool(corpus) == bool(dataset):
        raise click.UsageError("give CORPUS files or --dataset NAME (not both)")
    tok = _make_tokenizer(tokenizer, pattern, vocab_file, lowercase)
    if dataset:
        from dlcourse.data import readers

        items = getattr(readers, DATASETS[dataset])()
        texts = [x[0] if isinstance(x, tuple) else x for x in items]
    else:
        texts = itertools.chain.from_iterable(_texts_of(p, text_col, encoding) for p in corpus)
    names = [s.strip() for s in specials.split(",") if s.strip()]
    counted = {"texts": 0, "tokens": 0}

    def counting(token_lists):
        for tokens in token_lists:
            counted["texts"] += 1
            counted["tokens"] += len(tokens)
            yield tokens

    pad = next((n for n in names if "pad" in n.lower()), None)
    unk = next((n for n in names if "unk" in n.lower()), None)
    v = Vocab.build(counting(tok.stream(texts)), max_size=max_size, min_freq=min_freq,
                    specials=names, pad_token=pad, unk_token=unk)
    covered = sum(v.freqs)
    click.echo(f"{counted['texts']:,} texts, {counted['tokens']:,} tokens -> vocabulary of "
               f"{len(v):,} ({len(names)} specials); coverage "
               f"{covered / max(counted['tokens'], 1):.2%} of running tokens")
    first = len(names)
    echo_table([{"id": i, "token": v.itos[i], "count": v.freqs[i]}
                for i in range(first, min(len(v), first + top))])
    if out:
        click.echo(f"saved {v.save(out)}")


@group.command()
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--text-col", default="text", show_default=True, help="The text column.")
@click.option("--label-col", default="label", show_default=True,
              help="The label column ('' for none).")
@tokenizer_options
@click.option("--encoding", default="utf-8", show_default=True, help="File encoding.")
def inspect(data, text_col, label_col, tokenizer, pattern, vocab_file, lowercase, encoding):
    """Columns, label counts and token-length percentiles of a CSV/TSV/JSONL table.

    \b
    dlcourse text inspect train.csv --text-col review --label-col label
    """
    import numpy as np

    from dlcourse.text import load_table

    table = load_table(data, text_col=text_col, label_col=label_col or None, encoding=encoding)
    tok = _make_tokenizer(tokenizer, pattern, vocab_file, lowercase)
    lengths = np.array([len(t) for t in tok.batch(table.texts)])  # (N,) tokens per text
    click.echo(f"{data}: {len(table):,} rows; columns: {', '.join(table.columns or [])}")
    if table.labels is not None:
        counts = table.label_counts()
        click.echo(f"labels ({len(counts)} classes):")
        echo_table([{"label": y, "count": c, "share": c / len(table)} for y, c in counts.items()])
    click.echo(f"tokens per text ({tokenizer}):")
    qs = [0, 50, 90, 95, 99, 100]
    row = dict(zip(["min", "p50", "p90", "p95", "p99", "max"],
                   (float(q) for q in np.percentile(lengths, qs))))
    row["mean"] = float(lengths.mean())
    echo_table([row], floatfmt=".1f")
