"""`dlcourse embed train | similar | analogy | evaluate | plot | export`: word vectors."""

from __future__ import annotations

from pathlib import Path

import click

from dlcourse.cli.common import device_option, echo_table, out_option, seed_option

group = click.Group("embed", help="Word vectors: train word2vec/GloVe, query, evaluate, plot.")

CORPORA = {  # CORPUS may name an offline data set instead of a file
    "wordnet": "read_wordnet_glosses",
    "lee": "read_lee",
    "wikipedia-sample": "read_wikipedia_sample",
}
ONLINE_CORPORA = {"text8": ("text8", "text8"), "ptb": ("ptb", "ptb.train.txt")}  # name: file
FORMATS = ("word2vec", "word2vec-binary", "glove")
DRY_RUN_SENTENCES = 300


def _corpus(name: str, dry_run: bool):
    """A file path (streamed) or a named offline corpus (tokenized list)."""
    from dlcourse.embeddings import tokenize

    if name in CORPORA:
        from dlcourse.data import readers

        texts = getattr(readers, CORPORA[name])()
        if dry_run:
            texts = texts[:DRY_RUN_SENTENCES]
        return [tokenize(t) for t in texts]
    if name in ONLINE_CORPORA:
        from dlcourse.data import fetch

        dataset, filename = ONLINE_CORPORA[name]
        name = str(fetch(dataset) / filename)  # downloads once; offline: DataUnavailableError
    path = Path(name)
    if not path.is_file():
        raise click.BadParameter(f"{name!r} is neither a file nor one of "
                                 f"{', '.join([*CORPORA, *ONLINE_CORPORA])}", param_hint="CORPUS")
    if dry_run:
        from itertools import islice

        with open(path, encoding="utf-8", errors="replace") as f:
            return [tokenize(line) for line in islice(f, DRY_RUN_SENTENCES)]
    return str(path)


@group.command()
@click.argument("corpus")
@click.option("--method", type=click.Choice(["skipgram", "cbow", "glove"]), default="skipgram",
              show_default=True)
@out_option
@click.option("--dim", type=int, default=100, show_default=True, help="Vector size.")
@click.option("--window", type=int, default=None, help="Context window [5; glove 10].")
@click.option("--min-count", type=int, default=5, show_default=True)
@click.option("--max-vocab", type=int, default=None, help="Keep only the N most frequent words.")
@click.option("--epochs", type=int, default=None, help="Passes [5; glove 25].")
@click.option("--negative", type=int, default=5, show_default=True, help="word2vec negatives.")
@click.option("--sample", type=float, default=1e-3, show_default=True,
              help="word2vec subsampling threshold (0: off).")
@click.option("--alpha", type=float, default=0.025, show_default=True,
              help="word2vec start learning rate.")
@click.option("--workers", type=int, default=None,
              help="CPU threads [all cores; under torchrun GloVe: cores / processes].")
@device_option
@seed_option
@click.option("--dry-run", is_flag=True, help=f"Train 1 epoch on {DRY_RUN_SENTENCES} sentences.")
def train(corpus, method, out, dim, window, min_count, max_vocab, epochs, negative, sample,
          alpha, workers, device, seed, dry_run):
    """Train vectors on CORPUS (a text file, one sentence a line; offline wordnet, lee,
    wikipedia-sample; text8 or ptb when online) and write OUT/model.pt and OUT/history.json.

    word2vec runs a compiled multi-threaded kernel on CPU and batched torch on a GPU
    (--device auto picks the GPU when present); GloVe runs on CPU. Under
    ``torchrun --nproc_per_node=N -m dlcourse embed train ...`` GloVe splits counting and
    training over the N processes (same vectors as one process with N x --workers threads) and
    word2vec takes the torch path with every batch split over the ranks; rank 0 writes OUT.
    """
    from dlcourse.embeddings import GloVe, Word2Vec
    from dlcourse.engine import progress, resolve_device, write_json
    from dlcourse.engine.distributed import (
        init_distributed,
        is_main_process,
        shutdown_distributed,
        world_size,
    )

    sentences = _corpus(corpus, dry_run)
    out = Path(out)
    if dry_run:
        epochs, min_count = 1, min(min_count, 2)
    # gloo on the CPU, nccl with each rank on its own GPU; one process keeps --device as given
    rank_device = init_distributed(device)
    if world_size() > 1:
        device = str(rank_device)
    bar = progress(None, desc=method, unit="epoch" if method == "glove" else "word")
    try:
        if method == "glove":
            model = GloVe(vector_size=dim, window=window or 10, min_count=min_count,
                          max_vocab=max_vocab, epochs=epochs or 25, workers=workers, seed=seed)

            def on_epoch(info):
                bar.update(1)
                bar.set_postfix(loss=f"{info['loss']:.4f}")
            model.fit(sentences, callback=on_epoch)
        else:
            dev = "cpu" if resolve_device(device).type == "cpu" else str(resolve_device(device))
            model = Word2Vec(method=method, vector_size=dim, window=window or 5,
                             min_count=min_count, max_vocab=max_vocab, negative=negative,
                             sample=sample, alpha=alpha, epochs=epochs or 5, workers=workers,
                             seed=seed, device=dev)
            last = {"epoch": 1, "words": 0}

            def on_block(info):
                step = info["words"] - (last["words"] if info["epoch"] == last["epoch"] else 0)
                last.update(info)
                bar.update(step)
                bar.set_postfix(epoch=info["epoch"], loss=f"{info['loss']:.4f}",
                                words_s=f"{info['words_per_s']:.0f}")
            model.fit(sentences, callback=on_block)
    finally:
        bar.close()
        shutdown_distributed()
    if not is_main_process():
        return
    model.save(out / "model.pt")
    write_json(out / "history.json", model.history_)
    echo_table(model.history_)
    click.echo(f"{len(model.wv)} words x {model.wv.vector_size} dims -> {out / 'model.pt'}")


def _load(vectors: str):
    from dlcourse.embeddings import load_vectors

    return load_vectors(vectors)


@group.command()
@click.argument("vectors")
@click.argument("words", nargs=-1, required=True)
@click.option("--topn", type=int, default=10, show_default=True)
def similar(vectors, words, topn):
    """Nearest words by cosine for each of WORDS.

    VECTORS: a directory from `embed train`, a .pt checkpoint, or a word2vec/GloVe file.
    """
    kv = _load(vectors)
    results = [kv.most_similar(word, topn=topn) for word in words]  # unknown words fail first
    for word, nearest in zip(words, results):
        click.echo(f"nearest to {word!r}:")
        echo_table([{"word": w, "cosine": s} for w, s in nearest])


@group.command()
@click.argument("vectors")
@click.argument("a")
@click.argument("b")
@click.argument("c")
@click.option("--topn", type=int, default=5, show_default=True)
@click.option("--method", type=click.Choice(["3cosadd", "3cosmul"]), default="3cosadd",
              show_default=True)
def analogy(vectors, a, b, c, topn, method):
    """A is to B as C is to ? (man king woman -> queen).

    VECTORS: a directory from `embed train`, a .pt checkpoint, or a word2vec/GloVe file.
    """
    kv = _load(vectors)
    answers = kv.analogy(a, b, c, topn=topn, method=method)
    click.echo(f"{a} : {b} :: {c} : ?")
    echo_table([{"word": w, "score": s} for w, s in answers])


@group.command()
@click.argument("vectors")
@click.option("--similarity", "similarity_file", type=click.Path(dir_okay=False),
              help="Word pairs w1<TAB>w2<TAB>score [WordSim-353].")
@click.option("--analogies", "analogy_file", type=click.Path(dir_okay=False),
              help="questions-words file [Google analogies].")
@click.option("--method", type=click.Choice(["3cosadd", "3cosmul"]), default="3cosadd",
              show_default=True)
@click.option("--restrict-vocab", type=int, default=300000, show_default=True,
              help="Only the N most frequent words take part.")
@click.option("--sections", is_flag=True, help="Show analogy accuracy per section.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Also write the results as JSON.")
def evaluate(vectors, similarity_file, analogy_file, method, restrict_vocab, sections,
             json_path):
    """Word-similarity Spearman rho and analogy accuracy.

    VECTORS: a directory from `embed train`, a .pt checkpoint, or a word2vec/GloVe file.
    """
    from dlcourse.embeddings import evaluate_analogies, evaluate_similarity
    from dlcourse.engine import write_json

    kv = _load(vectors)
    sim = evaluate_similarity(kv, similarity_file, restrict_vocab=restrict_vocab)
    ana = evaluate_analogies(kv, analogy_file, restrict_vocab=restrict_vocab, method=method)
    rows = [{"task": "similarity (spearman)", "score": sim["spearman"], "n": sim["pairs"],
             "oov": sim["oov"]},
            {"task": f"analogies ({method})", "score": ana["accuracy"], "n": ana["total"],
             "oov": ana["skipped"]}]
    if sections:
        rows += [{"task": f"  {s['section']}", "score": s["accuracy"], "n": s["total"],
                  "oov": ""} for s in ana["sections"]]
    echo_table(rows)
    if json_path:
        write_json(json_path, {"similarity": sim, "analogies": ana})


@group.command()
@click.argument("vectors")
@click.argument("words", nargs=-1, required=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="PNG file to write.")
@click.option("--topn", type=int, default=6, show_default=True,
              help="Neighbours shown around each word.")
@click.option("--method", type=click.Choice(["pca", "tsne"]), default="pca", show_default=True)
def plot(vectors, words, out, topn, method):
    """A 2-D map of WORDS and their nearest neighbours.

    VECTORS: a directory from `embed train`, a .pt checkpoint, or a word2vec/GloVe file.
    """
    from dlcourse.embeddings import words_and_neighbors
    from dlcourse.plots.embeddings import plot_word_map

    kv = _load(vectors)
    shown, groups = words_and_neighbors(kv, words, topn)
    path = plot_word_map(shown, kv[shown], out, groups=groups, method=method)
    click.echo(f"{len(shown)} words -> {path}")


@group.command()
@click.argument("vectors")
@click.argument("dest", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="word2vec",
              show_default=True, help="word2vec text, word2vec binary, or GloVe text (no header).")
def export(vectors, dest, fmt):
    """Write VECTORS to DEST in a format gensim, word2vec or GloVe tools read.

    VECTORS: a directory from `embed train`, a .pt checkpoint, or a word2vec/GloVe file.
    """
    kv = _load(vectors)
    kv.save_word2vec_format(dest, binary=fmt == "word2vec-binary", write_header=fmt != "glove")
    click.echo(f"{len(kv)} vectors -> {dest} ({fmt})")
