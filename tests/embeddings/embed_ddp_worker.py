"""Run by tests/embeddings/test_distributed.py under torchrun: counts co-occurrences, fits GloVe
and torch word2vec on the Lee corpus and saves this rank's results. Not a test module itself."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from dlcourse.data.readers import read_lee
from dlcourse.embeddings import GloVe, Word2Vec, count_cooccurrences, tokenize
from dlcourse.embeddings.corpus import build_vocab

COUNT = dict(window=5, memory_mb=1)  # a tiny buffer: several merges on every rank
# 2 ranks x 1 thread: P = 2 blocks, as one process with workers=2 (or blocks=2)
GLOVE = dict(vector_size=16, window=5, min_count=3, epochs=4, seed=0, workers=1)
WORD2VEC = {
    "skipgram": dict(method="skipgram", vector_size=16, min_count=3, epochs=2, seed=0,
                     backend="torch", batch_size=256),
    "cbow": dict(method="cbow", vector_size=16, min_count=3, epochs=1, seed=0, backend="torch",
                 batch_size=255),  # odd: the ranks' slices differ in size
}


def sentences() -> list[list[str]]:
    """gensim's Lee background corpus, tokenized: the same sentences on every rank."""
    return [tokenize(doc) for doc in read_lee()]


def key_to_index() -> dict[str, int]:
    words, _, _ = build_vocab(sentences(), min_count=3)
    return {w: i for i, w in enumerate(words)}


def main(out: Path) -> None:
    from dlcourse.engine.distributed import init_distributed, rank, shutdown_distributed

    init_distributed("cpu")
    data = sentences()
    rows, cols, vals = count_cooccurrences(data, key_to_index(), **COUNT)
    glove = GloVe(**GLOVE).fit(data)
    arrays = {"rows": rows, "cols": cols, "vals": vals, "glove": glove.wv.vectors,
              "glove_loss": np.array([h["loss"] for h in glove.history_])}
    for name, params in WORD2VEC.items():
        model = Word2Vec(**params).fit(data)
        arrays[name] = model.wv.vectors
        arrays[f"{name}_loss"] = np.array([h["loss"] for h in model.history_])
    try:
        Word2Vec(backend="numba", min_count=3, epochs=1).fit(data)
        arrays["numba_error"] = np.array("")
    except ValueError as exc:
        arrays["numba_error"] = np.array(str(exc))
    np.savez(out / f"rank{rank()}.npz", **arrays)
    shutdown_distributed()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
