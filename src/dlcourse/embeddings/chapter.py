"""Tour chapter: one-hot vs skip-gram, CBOW and GloVe on the WordNet glosses (about 2 minutes)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from dlcourse.report import Report

log = logging.getLogger(__name__)

PROBES = ["war", "music", "king", "doctor", "river", "red"]
# CPU-sized settings: the whole chapter takes about 2 minutes on 2 cores
FULL = {"glosses": None, "dim": 100, "w2v_epochs": 5, "glove_epochs": 10, "min_count": 5}
QUICK = {"glosses": 4000, "dim": 32, "w2v_epochs": 1, "glove_epochs": 2, "min_count": 3}


def run(report: Report, out_dir: Path, *, quick: bool = False, device: str = "auto") -> None:
    """Train skip-gram, CBOW and GloVe on WordNet glosses; compare them with one-hot vectors.

    Adds a section with a table of WordSim-353 rho and analogy accuracy per method, the nearest
    words of a few probes, and a 2-D map of skip-gram vectors (``out_dir/embeddings_map.png``).
    """
    from dlcourse.data import fetch
    from dlcourse.data.readers import read_wordnet_glosses
    from dlcourse.embeddings import (
        GloVe,
        Word2Vec,
        evaluate_analogies,
        evaluate_similarity,
        one_hot,
        tokenize,
        words_and_neighbors,
    )
    from dlcourse.embeddings.evaluate import read_analogies
    from dlcourse.plots.common import plot_curves
    from dlcourse.plots.embeddings import plot_word_map

    cfg = QUICK if quick else FULL
    out_dir = Path(out_dir)
    sentences = [tokenize(g) for g in read_wordnet_glosses()[:cfg["glosses"]]]
    n_words = sum(len(s) for s in sentences)

    models, rows = {}, []
    for name, make in [
        ("skip-gram", lambda: Word2Vec("skipgram", vector_size=cfg["dim"], min_count=cfg[
            "min_count"], epochs=cfg["w2v_epochs"], device=device)),
        ("CBOW", lambda: Word2Vec("cbow", vector_size=cfg["dim"], min_count=cfg["min_count"],
                                  epochs=cfg["w2v_epochs"], device=device)),
        # x_max=10 as Stanford's demo for small corpora (the library default is 100)
        ("GloVe", lambda: GloVe(vector_size=cfg["dim"], window=5, x_max=10.0,
                                min_count=cfg["min_count"], epochs=cfg["glove_epochs"])),
    ]:
        start = time.perf_counter()
        model = make().fit(sentences)
        seconds = time.perf_counter() - start
        models[name] = model
        words_per_s = n_words * len(model.history_) / seconds if name != "GloVe" else None
        rows.append({"vectors": name, "dims": cfg["dim"], "train s": seconds,
                     "words/s": words_per_s})
        log.info("%s trained in %.1fs", name, seconds)

    # one-hot over the vocabulary words the evaluations use: every pair of different words has
    # cosine 0 whatever V is, so this subset gives the same scores as the full V x V identity
    kv = models["skip-gram"].wv
    eval_words = {w.lower() for _, qs in read_analogies(fetch("questions-words") /
                                                         "questions-words.txt")
                  for q in qs for w in q}
    with open(fetch("wordsim353") / "wordsim353.tsv", encoding="utf-8") as f:
        eval_words |= {w.lower() for line in f if not line.startswith("#")
                       for w in line.split("\t")[:2]}
    baseline = one_hot([w for w in kv.index_to_key if w in eval_words])
    table = [{"vectors": f"one-hot ({len(kv)} dims)", "dims": len(kv), "train s": 0.0,
              "words/s": None}] + rows
    vectors = [baseline] + [m.wv for m in models.values()]
    for row, vecs in zip(table, vectors):
        sim = evaluate_similarity(vecs)
        ana = evaluate_analogies(vecs)
        row.update({"WordSim-353 rho": sim["spearman"], "pairs": sim["pairs"],
                    "analogy acc": ana["accuracy"], "questions": ana["total"]})

    probes = [p for p in PROBES if p in kv and all(p in m.wv for m in models.values())]
    neighbours = [{"probe": p, **{name: ", ".join(w for w, _ in m.wv.most_similar(p, topn=5))
                                  for name, m in models.items()}} for p in probes]
    shown, groups = words_and_neighbors(kv, probes[:5], topn=6)
    map_path = plot_word_map(shown, kv[shown], out_dir / "embeddings_map.png", groups=groups,
                             method="pca" if quick else "tsne",
                             title="skip-gram vectors of WordNet glosses")
    curve_path = plot_curves(
        [{"epoch": h["epoch"], "skip-gram": h["loss"]} for h in models["skip-gram"].history_],
        ["skip-gram"], out_dir / "embeddings_loss.png", title="skip-gram loss per output",
        ylabel="loss")

    report.section("Word embeddings: one-hot, word2vec and GloVe")
    report.text(
        f"Corpus: {len(sentences):,} WordNet glosses, {n_words:,} words, {len(kv):,} words seen "
        f"at least {cfg['min_count']} times. A one-hot vector gives every word its own axis: "
        "any two different words have cosine 0, so it can only tell identical WordSim-353 pairs "
        "(tiger/tiger) from the rest and solves no analogy. Skip-gram predicts the words around a "
        "word, CBOW predicts a word from the mean of its context (both with negative sampling "
        "and a compiled multi-threaded kernel); GloVe fits dot products to the log of "
        "distance-weighted co-occurrence counts (window 5, x_max=10: small-corpus settings). "
        f"The corpus is small ({n_words:,} words against "
        "billions for published vectors), so the absolute scores are low; the ranking is the "
        "lesson.")
    report.table(table, ["vectors", "dims", "train s", "words/s", "WordSim-353 rho", "pairs",
                         "analogy acc", "questions"])
    report.text("Nearest words by cosine (top 5):")
    report.table(neighbours)
    report.image(map_path, "Probe words (bold) and their nearest skip-gram neighbours, in 2-D.")
    report.image(curve_path, "Skip-gram training loss per epoch, measured online during the "
                 "epoch. The glosses come grouped by topic: while the learning rate is high the "
                 "model tracks the current topic, so the last epoch (learning rate near 0) can "
                 "read slightly higher; on shuffled glosses the curve falls throughout.")

    f, out = FULL, "runs/embeddings"
    train = f"dlcourse embed train wordnet --dim {f['dim']} --min-count {f['min_count']}"
    report.commands([
        f"# this chapter as above (writes {out}/report.html)",
        f"dlcourse tour --only embeddings{' --quick' if quick else ''} --out {out}"
        + ("" if device == "auto" else f" --device {device}"),
        "# skip-gram, CBOW and GloVe one command each (full settings), then the table's measures",
        f"{train} --method skipgram --epochs {f['w2v_epochs']} --out {out}/skipgram",
        f"{train} --method cbow --epochs {f['w2v_epochs']} --out {out}/cbow",
        f"{train} --method glove --window 5 --x-max 10 --epochs {f['glove_epochs']} "
        f"--out {out}/glove",
        f"dlcourse embed evaluate {out}/skipgram",
        f"dlcourse embed similar {out}/skipgram {' '.join(PROBES)} --top 5",
        f"dlcourse embed plot {out}/skipgram {' '.join(PROBES[:5])} --top 6 --projection tsne "
        f"--out {out}/map.png",
    ], python=f"""
        from dlcourse.data.readers import read_wordnet_glosses
        from dlcourse.embeddings import (GloVe, Word2Vec, evaluate_analogies,
                                         evaluate_similarity, tokenize)

        sentences = [tokenize(g) for g in read_wordnet_glosses()]
        common = dict(vector_size={f['dim']}, min_count={f['min_count']})
        for model in (Word2Vec("skipgram", epochs={f['w2v_epochs']}, **common),
                      Word2Vec("cbow", epochs={f['w2v_epochs']}, **common),
                      GloVe(window=5, x_max=10.0, epochs={f['glove_epochs']}, **common)):
            kv = model.fit(sentences).wv
            print(evaluate_similarity(kv)["spearman"], evaluate_analogies(kv)["accuracy"])
    """)
