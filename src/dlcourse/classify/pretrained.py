"""Word vectors for the embedding layer: load GloVe/word2vec vectors, build the matrix, coverage."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from dlcourse.errors import DlcourseError

log = logging.getLogger(__name__)

#: names of offline vector sets accepted by :func:`load_vectors`, besides a file path
PRETRAINED_NAMES = ("glove-6b-50d", "glove-test")


def load_vectors(source) -> tuple[list[str], np.ndarray]:
    """Words and their vectors from a registered name, a file, or a KeyedVectors-like object.

    Args:
        source: ``"glove-6b-50d"`` (offline GloVe 6B, 50 dimensions), ``"glove-test"``
            (gensim's 76 GloVe vectors, for tests), a path (a GloVe or word2vec text file, a
            word2vec ``.bin``, or a directory written by ``dlcourse embed train``), or an object
            with ``index_to_key`` and ``vectors`` (the embeddings lesson's ``KeyedVectors``).

    Returns:
        ``(words, vectors)`` with vectors a float32 ``(len(words), dim)`` array.

    Raises:
        DlcourseError: the file does not exist or is not a vector file.
    """
    if hasattr(source, "index_to_key") and hasattr(source, "vectors"):
        return list(source.index_to_key), np.asarray(source.vectors, dtype=np.float32)
    if source == "glove-6b-50d":
        from dlcourse.data.readers import read_glove_6b_50d

        return read_glove_6b_50d()
    from dlcourse.embeddings import load_vectors as load_keyed_vectors

    if source == "glove-test":
        from dlcourse.data import fetch

        source = fetch("glove-test") / "test_glove.txt"
    path = Path(source)
    if not path.exists():
        raise DlcourseError(
            f"pretrained vectors '{source}' not found; pass one of {', '.join(PRETRAINED_NAMES)} "
            "or the path of a GloVe/word2vec file or an embeddings model directory"
        )
    kv = load_keyed_vectors(path)
    return list(kv.index_to_key), np.asarray(kv.vectors, dtype=np.float32)


def embedding_matrix(
    itos: Sequence[str],
    words: Sequence[str],
    vectors: np.ndarray,
    *,
    pad_id: int | None = 0,
    token_lists: Iterable[Sequence[str]] | None = None,
    seed: int = 0,
    counted: int | None = None,
) -> tuple[np.ndarray, dict]:
    """Embedding matrix for a vocabulary, rows from ``vectors`` where the word is known.

    A token missing from ``words`` is looked up lower-cased too (GloVe is lower-case). Unknown
    rows are drawn from a normal with the vectors' own standard deviation so they start on the
    same scale; the padding row is zero.

    Args:
        itos: the vocabulary, index -> token.
        words, vectors: the pretrained words and their ``(len(words), dim)`` vectors.
        pad_id: row kept at zero (None: none).
        token_lists: the training texts as tokens, to report the share of running tokens covered.
        seed: seeds the random rows.
        counted: the coverage counts only the first ``counted`` entries of ``itos`` (the
            training vocabulary, when words of the vectors were appended to it).

    Returns:
        ``(matrix, coverage)``: float32 ``(len(itos), dim)``; ``coverage`` = ``{"vocab_size",
        "found", "type_coverage", "token_coverage"?, "missing_examples"}``.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    index = {w: i for i, w in enumerate(words)}
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0, float(vectors.std()), (len(itos), vectors.shape[1]))
    matrix = matrix.astype(np.float32)  # (V, D)
    found = np.zeros(len(itos), dtype=bool)
    for i, token in enumerate(itos):
        j = index.get(token, index.get(token.lower()))
        if j is not None:
            matrix[i] = vectors[j]
            found[i] = True
    if pad_id is not None:
        matrix[pad_id] = 0.0
    n = len(itos) if counted is None else counted
    coverage = {
        "vocab_size": n,
        "found": int(found[:n].sum()),
        "type_coverage": float(found[:n].mean()) if n else 0.0,
        "missing_examples": [t for t, ok in zip(itos[:n], found[:n]) if not ok][:10],
    }
    if token_lists is not None:
        known = {t for t, ok in zip(itos, found) if ok}
        counts = Counter(t for tokens in token_lists for t in tokens)
        total = sum(counts.values())
        covered = sum(n for t, n in counts.items() if t in known)
        coverage["token_coverage"] = covered / total if total else 0.0
    log.info("pretrained vectors cover %d of %d vocabulary entries (%.1f%%)",
             coverage["found"], n, 100 * coverage["type_coverage"])
    return matrix, coverage
