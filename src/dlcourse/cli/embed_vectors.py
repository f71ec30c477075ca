"""`dlcourse embed similar | analogy | evaluate | plot | export`: the verbs that read vectors.

    dlcourse embed evaluate MODEL_DIR [DATA]...
    dlcourse embed similar MODEL_DIR WORD...
    dlcourse embed analogy MODEL_DIR A B C
    dlcourse embed plot MODEL_DIR WORD... --out FILE
    dlcourse embed export MODEL_DIR --to FILE [--format word2vec|word2vec-binary|glove]

MODEL_DIR is a directory written by ``dlcourse embed train`` or a word2vec (text or binary) or
GloVe vectors file. None of these verbs imports torch or numba: a query of a saved model is
the start-up of Python, numpy and the model file.
"""

from __future__ import annotations

from pathlib import Path

import click

from dlcourse.cli.common import (
    check_input_file,
    check_model_dir,
    check_not_input,
    check_out_file,
    evaluation_out_option,
    note_deprecated,
    vector_format,
    vector_format_option,
)
from dlcourse.cli.embed import READ, encoding_of, group
from dlcourse.cli.tables import echo_table
from dlcourse.embeddings.config import ANALOGY_METHOD, ANALOGY_METHODS, RESTRICT_VOCAB
from dlcourse.errors import DlcourseError

PROJECTIONS = ("pca", "tsne")
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def _model_callback(ctx, param, value):
    """A model directory of this lesson, or an existing vectors file (read later)."""
    path = Path(value)
    if path.is_file() and path.suffix != ".safetensors":
        return check_input_file(path, "MODEL_DIR", holds="a folder from `dlcourse embed "
                                "train` or a word2vec or GloVe vectors file")
    if path.is_dir() and not (path / "model.safetensors").exists() \
            and (path / "model.pt").exists():
        raise DlcourseError(f"MODEL_DIR {path} holds a model.pt of an older dlcourse, which is "
                            "no longer read; train it again with `dlcourse embed train`")
    return check_model_dir(path, "embed")


model_argument = click.argument("model_dir", metavar="MODEL_DIR", callback=_model_callback)


def _load(model_dir: Path, encoding: str):
    from dlcourse.embeddings.vector_files import load_vectors

    return load_vectors(model_dir, encoding=encoding)


def _legacy_method(ctx, param, value):
    if value is not None:
        new = "--scoring" if ctx.command.name != "plot" else "--projection"
        choices = ANALOGY_METHODS if new == "--scoring" else PROJECTIONS
        if value not in choices:
            raise click.BadParameter(f"{value!r} is not one of {', '.join(choices)}", ctx, param)
        note_deprecated(f"--method {value}", f"'{new} {value}'")
    return value


legacy_method = click.option("--method", "old_method", hidden=True, callback=_legacy_method)


@group.command()
@model_argument
@click.argument("words", metavar="WORD...", nargs=-1, required=True)
@click.option("--top", "--topn", "topn", type=click.IntRange(min=1), default=10, show_default=True,
              help="Neighbours per word.")
@READ
def similar(model_dir, words, topn, **options):
    """Nearest words by cosine to each WORD.

    \b
    MODEL_DIR: a directory written by `dlcourse embed train`, or a word2vec (text or binary)
    or GloVe vectors file.
    """
    kv = _load(model_dir, encoding_of(options))
    results = [kv.most_similar(word, topn=topn) for word in words]  # unknown words fail first
    for word, nearest in zip(words, results):
        click.echo(f"nearest to {word!r}:")
        echo_table([{"word": w, "cosine": s} for w, s in nearest])


@group.command()
@model_argument
@click.argument("a")
@click.argument("b")
@click.argument("c")
@click.option("--top", "--topn", "topn", type=click.IntRange(min=1), default=5, show_default=True,
              help="Answers to show.")
@click.option("--scoring", type=click.Choice(ANALOGY_METHODS), default=None,
              help="3cosadd (nearest to b - a + c) or 3cosmul (Levy and Goldberg) "
                   f"[default: {ANALOGY_METHOD}].")
@legacy_method
@READ
def analogy(model_dir, a, b, c, topn, scoring, old_method, **options):
    """A is to B as C is to ? (man king woman -> queen).

    \b
    MODEL_DIR: a directory written by `dlcourse embed train`, or a word2vec (text or binary)
    or GloVe vectors file.
    """
    scoring = scoring or old_method or ANALOGY_METHOD
    kv = _load(model_dir, encoding_of(options))
    answers = kv.analogy(a, b, c, topn=topn, method=scoring)
    click.echo(f"{a} : {b} :: {c} : ?")
    echo_table([{"word": w, "score": s} for w, s in answers])


@group.command()
@model_argument
@click.argument("data", metavar="[DATA]...", nargs=-1)
@click.option("--scoring", type=click.Choice(ANALOGY_METHODS), default=None,
              help=f"Analogy scoring: 3cosadd or 3cosmul [default: {ANALOGY_METHOD}].")
@legacy_method
@click.option("--restrict-vocab", type=click.IntRange(min=1), default=RESTRICT_VOCAB,
              show_default=True,
              help="Only the N most frequent words take part.")
@click.option("--sections", is_flag=True, help="Show analogy accuracy per section.")
@evaluation_out_option()
@click.option("--similarity", "old_similarity", hidden=True)
@click.option("--analogies", "old_analogies", hidden=True)
@click.option("--json", "old_json", hidden=True)
@READ
def evaluate(model_dir, data, scoring, old_method, restrict_vocab, sections, out,
             old_similarity, old_analogies, old_json, **options):
    """Word-similarity Spearman rho and analogy accuracy of the vectors in MODEL_DIR.

    \b
    DATA: wordsim353 and questions-words (the default: both), or files: word pairs
    (w1<TAB>w2<TAB>score, '#' comments) or analogies (': section' lines, then 'a b c d').
    MODEL_DIR: a directory written by `dlcourse embed train`, or a word2vec (text or binary)
    or GloVe vectors file. Prints a table; writes a file only with --out.
    """
    from dlcourse.embeddings.evaluate import eval_set

    encoding = encoding_of(options)
    data = list(data)
    for old, value in (("--similarity", old_similarity), ("--analogies", old_analogies)):
        if value is not None:
            note_deprecated(f"{old} {value}", f"'dlcourse embed evaluate MODEL_DIR {value}'")
            data.append(value)
    if old_json is not None:
        note_deprecated(f"--json {old_json}", "'--out DIR' (writes DIR/evaluation.json)")
        check_out_file(old_json, "--json", "evaluation.json")
    sets = [eval_set(d, encoding) for d in (data or ["wordsim353", "questions-words"])]
    kv = _load(model_dir, encoding)
    rows, results = _evaluate(kv, sets, scoring or old_method or ANALOGY_METHOD, restrict_vocab,
                              sections, encoding)
    echo_table(rows)
    from dlcourse.engine.files import write_json

    if out is not None:
        click.echo(f"wrote {write_json(out / 'evaluation.json', results)}")
    if old_json is not None:
        write_json(old_json, results)


def _evaluate(kv, sets, scoring, restrict_vocab, sections, encoding):
    """(table rows, JSON results) of every evaluation set."""
    from dlcourse.embeddings import evaluate_analogies, evaluate_similarity

    rows, results = [], []
    for path, kind in sets:
        if kind == "similarity":
            r = evaluate_similarity(kv, path, restrict_vocab=restrict_vocab, encoding=encoding)
            rows.append({"data": path.name, "task": "similarity (spearman)",
                         "score": r["spearman"], "n": r["pairs"], "oov": r["oov"]})
        else:
            r = evaluate_analogies(kv, path, restrict_vocab=restrict_vocab, method=scoring,
                                   encoding=encoding)
            rows.append({"data": path.name, "task": f"analogies ({scoring})",
                         "score": r["accuracy"], "n": r["total"], "oov": r["skipped"]})
            if sections:
                rows += [{"data": "", "task": f"  {s['section']}", "score": s["accuracy"],
                          "n": s["total"], "oov": None} for s in r["sections"]]
        results.append({"data": str(path), "kind": kind, **r})
    return rows, results


#: the most words `embed plot` draws (words x (--top + 1)); past SPREAD_MAX their labels stay
#: where they are, and past this one a map is a blot that takes minutes to draw
MAP_WORDS_MAX = 1000


def _figure_file(ctx, param, value):
    path = check_out_file(value, "--out", "map.png")
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise DlcourseError(f"--out {value}: give a {', '.join(FIGURE_SUFFIXES)} file name")
    return path


@group.command()
@model_argument
@click.argument("words", metavar="WORD...", nargs=-1, required=True)
@click.option("--out", required=True, callback=_figure_file, help="The figure file (.png, "
              ".pdf or .svg; its folder is created if needed).")
@click.option("--top", "--topn", "topn", type=click.IntRange(min=0), default=6, show_default=True,
              help="Neighbours shown around each word.")
@click.option("--projection", type=click.Choice(PROJECTIONS), default=None,
              help="pca, or tsne (needs scikit-learn) [default: pca].")
@legacy_method
@READ
def plot(model_dir, words, out, topn, projection, old_method, **options):
    """A 2-D map of each WORD and its nearest neighbours.

    \b
    MODEL_DIR: a directory written by `dlcourse embed train`, or a word2vec (text or binary)
    or GloVe vectors file.
    """
    from dlcourse.embeddings import words_and_neighbors
    from dlcourse.plots.embeddings import plot_word_map

    if len(words) * (topn + 1) > MAP_WORDS_MAX:  # each label costs the figure time and room
        raise DlcourseError(f"{len(words)} word(s) with --top {topn} make up to "
                            f"{len(words) * (topn + 1):,} labels, more than a map can show "
                            f"(at most {MAP_WORDS_MAX:,}); give a smaller --top or fewer words")
    kv = _load(model_dir, encoding_of(options))
    shown, groups = words_and_neighbors(kv, words, topn)  # unknown words fail here
    if len(shown) < 2:
        fix = (f"the vectors hold only {len(kv)} word" if len(kv) < 2 else
               "give more words or --top >= 1")
        raise DlcourseError(f"a map needs at least 2 words; {fix}")
    path = plot_word_map(shown, kv[shown], out, groups=groups,
                         method=projection or old_method or "pca")
    click.echo(f"{len(shown)} words -> {path}")


def _export_file(ctx, param, value):
    return None if value is None else check_out_file(value, "--to", "vectors.txt")


class _RequiredOption(click.Option):
    """An option shown ``[required]`` whose absence the command reports itself, with click's
    words: click's own check would refuse the old positional spelling it stands in for."""

    def get_help_record(self, ctx):
        self.required = True  # only while the help line is made (click 8.1 and 8.2+ alike)
        try:
            return super().get_help_record(ctx)
        finally:
            self.required = False


@group.command()
@model_argument
@click.argument("old_dest", metavar="", required=False, callback=_export_file)
@click.option("--to", "dest", cls=_RequiredOption, callback=_export_file,
              help="The file to write (its folder is created if needed).")
@vector_format_option
@READ
def export(model_dir, old_dest, dest, fmt, **options):
    """Write the vectors in a format gensim, word2vec.c or GloVe tools read.

    \b
    MODEL_DIR: a directory written by `dlcourse embed train`, or a word2vec (text or binary)
    or GloVe vectors file (to convert it).
    """
    if old_dest is not None:
        if dest is not None:
            raise DlcourseError("give the file once, with --to")
        note_deprecated(f"dlcourse embed export MODEL_DIR {old_dest}",
              f"'dlcourse embed export MODEL_DIR --to {old_dest}'")
        dest = old_dest
    if dest is None:
        raise click.UsageError("Missing option '--to'.")
    fmt = vector_format(fmt, dest)
    check_not_input(Path(dest), "--to", model_dir)  # a vectors file converted in place
    kv = _load(model_dir, encoding_of(options))
    kv.save_word2vec_format(dest, binary=fmt == "word2vec-binary", write_header=fmt != "glove")
    click.echo(f"{len(kv)} vectors -> {dest} ({fmt})")
