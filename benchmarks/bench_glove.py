"""GloVe on the WordNet glosses: counting and training time, quality, peak RSS, against peers.

Peers measured in the same run: co-occurrence counting against a vectorised numpy + scipy.sparse
count (pairs generated with numpy, summed by ``coo_matrix.tocsr()``), and quality against gensim
4.4 skip-gram on the same corpus (the usual word2vec baseline; gensim has no GloVe trainer).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_glove.py [--epochs 15] [--window 10]

GloVe runs twice: with the library defaults (x_max=100, window 10) and with small-corpus settings
(x_max=10, window 5, as Stanford's demo script uses for text8).
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np


def scipy_count(sentences, key_to_index, window):
    """The peer counter: all (i, j, 1/d) triples as numpy arrays, summed by scipy.sparse."""
    from scipy.sparse import coo_matrix

    from dlcourse.embeddings.corpus import encode_blocks

    (tokens, starts, _), = list(encode_blocks(sentences, key_to_index, block_tokens=1 << 40))
    sent = np.repeat(np.arange(len(starts) - 1), np.diff(starts))  # (N,)
    rows, cols, vals = [], [], []
    for d in range(1, window + 1):
        same = sent[d:] == sent[:-d]
        a, b = tokens[d:][same], tokens[:-d][same]
        rows.append(np.minimum(a, b))
        cols.append(np.maximum(a, b))
        vals.append(np.full(len(a), 1.0 / d, dtype=np.float32))
    v = len(key_to_index)
    m = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                   shape=(v, v)).tocsr()
    return m.nnz


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--dim", type=int, default=100)
    args = parser.parse_args()

    from gensim.models import Word2Vec as GensimW2V

    from dlcourse.data.readers import read_wordnet_glosses
    from dlcourse.embeddings import (
        GloVe,
        KeyedVectors,
        count_cooccurrences,
        evaluate_analogies,
        evaluate_similarity,
        tokenize,
    )
    from dlcourse.embeddings.corpus import build_vocab

    sentences = [tokenize(g) for g in read_wordnet_glosses()]
    words, _, n_words = build_vocab(sentences, 5)
    key_to_index = {w: i for i, w in enumerate(words)}
    count_cooccurrences(sentences[:100], key_to_index, args.window)  # numba cache warm-up

    t = time.perf_counter()
    rows, _, _ = count_cooccurrences(sentences, key_to_index, args.window)
    ours_count = time.perf_counter() - t
    t = time.perf_counter()
    nnz = scipy_count(sentences, key_to_index, args.window)
    peer_count = time.perf_counter() - t
    assert nnz == len(rows), (nnz, len(rows))

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = []
    # the library defaults (Stanford's for large corpora), then small-corpus settings
    for x_max, window in [(100.0, args.window), (10.0, 5)]:
        t = time.perf_counter()
        glove = GloVe(vector_size=args.dim, window=window, x_max=x_max,
                      epochs=args.epochs).fit(sentences)
        seconds = time.perf_counter() - t
        print(f"GloVe x_max={x_max:g} window={window}: {glove.cooccurrences_:,} entries, "
              f"counting {glove.timings_['count_seconds']:.2f}s (with vocabulary), training "
              f"{glove.timings_['train_seconds']:.2f}s for {args.epochs} epochs "
              f"({glove.timings_['train_seconds'] / args.epochs:.2f}s/epoch), final loss "
              f"{glove.history_[-1]['loss']:.4f}", flush=True)
        table.append((f"GloVe x_max={x_max:g} w={window}", glove.wv, seconds))
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    g = GensimW2V(sentences, sg=1, vector_size=args.dim, epochs=5, workers=os.cpu_count(),
                  seed=0)
    table.append(("gensim skip-gram", KeyedVectors(g.wv.index_to_key, g.wv.vectors),
                  time.perf_counter() - t))

    print(f"WordNet glosses: {n_words:,} words, vocabulary {len(words):,}, window {args.window}, "
          f"{len(rows):,} distinct pairs (upper triangle)")
    print(f"co-occurrence counting: dlcourse {ours_count:.2f}s, numpy+scipy.sparse "
          f"{peer_count:.2f}s: ratio vs scipy {peer_count / ours_count:.2f}x faster")
    print(f"peak RSS {rss_before:.0f} MB before GloVe (corpus as token lists), {rss_after:.0f} MB "
          "after both GloVe runs")
    print(f"{'vectors':>24}  {'seconds':>8}  {'wordsim rho':>11}  {'analogy acc':>11}")
    scores = []
    for name, kv, seconds in table:
        scores.append((evaluate_similarity(kv)["spearman"], evaluate_analogies(kv)["accuracy"]))
        print(f"{name:>24}  {seconds:8.2f}  {scores[-1][0]:11.4f}  {scores[-1][1]:11.4f}")
    for (name, _, _), (rho, acc) in zip(table[:-1], scores):
        print(f"{name}: ratio vs gensim skip-gram: wordsim rho {rho - scores[-1][0]:+.3f}, "
              f"analogy acc {acc - scores[-1][1]:+.4f}")

if __name__ == "__main__":
    main()
