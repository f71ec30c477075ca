"""gensim's other KeyedVectors queries, so that gensim code runs on dlcourse vectors as written.

:class:`GensimQueries` is a mixin of :class:`~dlcourse.embeddings.vectors.KeyedVectors`: it
uses its lookup (``get_index``, ``get_normed_vectors``, ``index_to_key``, ``most_similar``)
and adds the names gensim 4 gives the same questions. Evaluation returns gensim's shapes
(tuples) from :mod:`dlcourse.embeddings.evaluate`, which also gives them as dicts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dlcourse.errors import InputError


def _p_value(r: float, n: int) -> float:
    """Two-sided p-value of a correlation ``r`` over ``n`` pairs (Student's t with n - 2
    degrees of freedom, as scipy's ``pearsonr`` and ``spearmanr`` give it)."""
    if n < 3 or not math.isfinite(r):
        return math.nan
    from scipy.stats import t as student

    if abs(r) >= 1.0:
        return 0.0
    stat = r * math.sqrt((n - 2) / (1.0 - r * r))
    return float(2.0 * student.sf(abs(stat), n - 2))


class GensimQueries:
    """gensim 4's names for the remaining queries of a table of word vectors."""

    def has_index_for(self, key) -> bool:
        """Whether ``key`` has a vector (gensim's name of ``key in kv``)."""
        return key in self.key_to_index

    def get_mean_vector(self, keys: Sequence, weights: Sequence[float] | None = None,
                        pre_normalize: bool = True, post_normalize: bool = False,
                        ignore_missing: bool = True) -> np.ndarray:
        """Weighted mean (D,) of the vectors of ``keys`` (words, row numbers or vectors), of
        unit vectors with ``pre_normalize``, itself made unit with ``post_normalize``.

        Raises:
            InputError: no key with a vector; UnknownTokenError: a missing word when
                ``ignore_missing`` is False.
        """
        keys = list(keys)
        weights = np.ones(len(keys)) if weights is None else np.asarray(weights, dtype=float)
        if weights.shape != (len(keys),):
            raise InputError(f"{len(weights)} weights for {len(keys)} keys; give one per key")
        table = self.get_normed_vectors() if pre_normalize else self.vectors
        rows, used = [], []
        for key, weight in zip(keys, weights, strict=True):
            if isinstance(key, np.ndarray):
                rows.append(np.asarray(key, dtype=np.float32))
            elif key in self.key_to_index or not ignore_missing:
                rows.append(table[self.get_index(key)])
            else:
                continue
            used.append(weight)
        if not rows:
            raise InputError("none of the keys has a vector; give words in the vocabulary")
        used = np.asarray(used, dtype=np.float32)
        mean = used @ np.stack(rows) / max(float(np.abs(used).sum()), 1e-12)  # (D,)
        return mean / max(float(np.linalg.norm(mean)), 1e-12) if post_normalize else mean

    def n_similarity(self, ws1: Sequence[str], ws2: Sequence[str]) -> float:
        """Cosine between the mean vectors of two lists of words (gensim's: the raw
        vectors' means).

        Raises:
            InputError: an empty list (gensim raises ZeroDivisionError).
        """
        if not len(ws1) or not len(ws2):
            raise InputError("n_similarity needs at least one word in each list")
        a, b = (self.get_mean_vector(ws, pre_normalize=False, post_normalize=True,
                                     ignore_missing=False) for ws in (ws1, ws2))
        return float(a @ b)

    def distance(self, w1: str, w2: str) -> float:
        """Cosine distance, ``1 - similarity``."""
        return 1.0 - self.similarity(w1, w2)

    def distances(self, word_or_vector, other_words: Sequence[str] = ()) -> np.ndarray:
        """Cosine distances from a word (or a vector (D,)) to ``other_words``, or to every
        word when none are given."""
        unit = self.get_normed_vectors()
        if isinstance(word_or_vector, np.ndarray):
            query = word_or_vector / max(float(np.linalg.norm(word_or_vector)), 1e-12)
        else:
            query = unit[self.get_index(word_or_vector)]
        rows = unit if not len(other_words) else unit[[self.get_index(w) for w in other_words]]
        return 1.0 - rows @ query

    def similar_by_word(self, word: str, topn: int = 10, restrict_vocab: int | None = None):
        """:meth:`most_similar` of one word."""
        return self.most_similar(word, topn=topn, restrict_vocab=restrict_vocab)

    def similar_by_vector(self, vector: np.ndarray, topn: int = 10,
                          restrict_vocab: int | None = None):
        """The words nearest a vector (D,), by cosine."""
        return self.most_similar(positive=[np.asarray(vector)], topn=topn,
                                 restrict_vocab=restrict_vocab)

    def closer_than(self, key1: str, key2: str) -> list[str]:
        """Every word closer to ``key1`` than ``key2`` is (``key1`` left out)."""
        own = self.get_index(key1)
        scores = self.get_normed_vectors() @ self.get_normed_vectors()[own]  # (V,)
        limit = scores[self.get_index(key2)]
        return [self.index_to_key[i] for i in np.flatnonzero(scores > limit) if i != own]

    words_closer_than = closer_than  # gensim 3's name

    def rank(self, key1: str, key2: str) -> int:
        """Rank of ``key2`` among the words nearest ``key1`` (1: the nearest)."""
        return len(self.closer_than(key1, key2)) + 1

    def evaluate_word_pairs(self, pairs: str | Path, delimiter: str = "\t",
                            encoding: str = "utf8", restrict_vocab: int = 300000,
                            case_insensitive: bool = True):
        """gensim's form of :func:`~dlcourse.embeddings.evaluate.evaluate_similarity`:
        ``((pearson, p), (spearman, p), oov_ratio)``, the ratio in percent."""
        from dlcourse.embeddings.evaluate import evaluate_similarity

        r = evaluate_similarity(self, pairs, restrict_vocab, case_insensitive, delimiter,
                                encoding)
        n = r["pairs"]
        return ((r["pearson"], _p_value(r["pearson"], n)),
                (r["spearman"], _p_value(r["spearman"], n)), r["oov_ratio"])

    def evaluate_word_analogies(self, analogies: str | Path, restrict_vocab: int = 300000,
                                case_insensitive: bool = True):
        """gensim's form of :func:`~dlcourse.embeddings.evaluate.evaluate_analogies`:
        ``(accuracy, sections)``; each section is a dict of counts (``correct`` and
        ``total``), where gensim lists the questions themselves."""
        from dlcourse.embeddings.evaluate import evaluate_analogies

        r = evaluate_analogies(self, analogies, restrict_vocab, case_insensitive)
        return r["accuracy"], r["sections"]
