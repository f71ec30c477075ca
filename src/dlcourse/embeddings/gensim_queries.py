"""gensim's other KeyedVectors queries, so that gensim code runs on dlcourse vectors as written.

:class:`GensimQueries` is a mixin of :class:`~dlcourse.embeddings.vectors.KeyedVectors`: it
uses its lookup (``get_index``, ``get_normed_vectors``, ``index_to_key``, ``most_similar``)
and adds the names gensim 4 gives the same questions. Evaluation returns gensim's shapes
(tuples, gensim's sections of questions) from :mod:`dlcourse.embeddings.evaluate`, which
gives them as dicts.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dlcourse.embeddings.config import RESTRICT_VOCAB
from dlcourse.errors import InputError

log = logging.getLogger(__name__)


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


def query_vector(value, dim: int | None, what: str = "a vector in place of a word"
                 ) -> np.ndarray:
    """``value`` as the float32 vector (``dim``,) a query takes in place of a word (any length
    when ``dim`` is None), checked: every query that takes raw vectors goes through here.

    Raises:
        InputError: another shape, or a NaN or infinite value (its cosines would all be NaN,
            and a NaN sorts among the scores as if it were one).
    """
    try:
        with np.errstate(over="ignore"):  # a value beyond float32 becomes inf, refused below
            vector = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be an array of numbers, got "
                         f"{type(value).__name__}") from None
    if vector.ndim != 1 or (dim is not None and vector.shape != (dim,)):
        shape = f"({dim},)" if dim is not None else "(D,)"
        raise InputError(f"{what} must have shape {shape}, got {vector.shape}")
    bad = int((~np.isfinite(vector)).sum())
    if bad:
        raise InputError(f"{what} must hold finite numbers; {bad} of its {vector.size} values "
                         "are NaN, infinite or beyond float32's range")
    return vector


class EmptyListError(InputError, ZeroDivisionError):
    """An empty list of words where a mean is needed: an :class:`InputError`, and the
    ``ZeroDivisionError`` gensim's ``n_similarity`` raises, so gensim's ``except`` clauses
    keep working."""


def weighted_keys(positive: list, negative: list) -> tuple[list, np.ndarray]:
    """The keys of ``most_similar``'s ``positive`` and ``negative`` and their weights (K,):
    a ``(key, weight)`` pair keeps its weight, other keys weigh 1 (positive) and -1
    (negative), as in gensim."""
    keys, weights = [], []
    for items, default in ((positive, 1.0), (negative, -1.0)):
        for item in items:
            pair = isinstance(item, tuple) and len(item) == 2 and isinstance(
                item[1], int | float | np.number) and not isinstance(item[1], bool)
            keys.append(item[0] if pair else item)
            weights.append(float(item[1]) if pair else default)
    return keys, np.asarray(weights, dtype=np.float32)


def word_attributes(counts: np.ndarray | None, n_words: int) -> dict[str, np.ndarray]:
    """gensim's ``expandos``: ``{"count": counts}`` (int64 (V,)), or none without counts.

    Raises:
        InputError: not one count per word.
    """
    if counts is None:
        return {}
    counts = np.asarray(counts, dtype=np.int64)
    if counts.shape != (n_words,):
        raise InputError(f"counts must hold one count per word ({n_words}), got shape "
                         f"{counts.shape}")
    return {"count": counts}


class GensimQueries:
    """gensim 4's names for the remaining queries of a table of word vectors."""

    def get_vecattr(self, key, attr: str):
        """The per-word attribute ``attr`` of ``key``, as gensim's: ``"count"``, the word's
        count in the training corpus, is kept by the vectors of Word2Vec and GloVe (and of
        their model files; a vectors text file has none).

        Raises:
            InputError: an attribute these vectors do not keep; UnknownTokenError: a word not
                in the vocabulary.
        """
        if attr not in self.expandos:
            kept = ", ".join(map(repr, self.expandos)) or "none"
            raise InputError(f"these vectors keep no {attr!r} per word (kept: {kept}); the "
                             "vectors of Word2Vec and GloVe keep 'count'")
        return self.expandos[attr][self.get_index(key)].item()

    def set_vecattr(self, key, attr: str, value) -> None:
        """Set the per-word attribute ``attr`` of ``key`` (others of a new attribute: 0)."""
        column = self.expandos.setdefault(
            attr, np.zeros(len(self.index_to_key), dtype=np.asarray(value).dtype))
        column[self.get_index(key)] = value

    @property
    def norms(self) -> np.ndarray:
        """The length of every vector (V,), as gensim's ``norms``."""
        return np.linalg.norm(self.vectors, axis=1)

    def fill_norms(self, force: bool = False) -> None:
        """gensim's call to compute ``norms``: here they are computed when read."""

    def has_index_for(self, key) -> bool:
        """Whether ``key`` has a vector: a word of the vocabulary or a row number
        ``0 <= key < len(kv)``, as gensim's ``has_index_for`` and ``key in kv``."""
        # not through get_index: its error lists close spellings (a difflib search over the
        # vocabulary), far too slow for `word in kv` in a loop over a text
        if key in self.key_to_index:
            return True
        return isinstance(key, int | np.integer) and 0 <= key < len(self.index_to_key)

    def _key_vector(self, key, table: np.ndarray) -> np.ndarray:
        """The row of ``table`` of a word or row number, or ``key`` itself when a vector."""
        if isinstance(key, str | int | np.integer):
            return table[self.get_index(key)]
        return query_vector(key, self.vector_size)

    def get_mean_vector(self, keys: Sequence, weights: Sequence[float] | None = None,
                        pre_normalize: bool = True, post_normalize: bool = False,
                        ignore_missing: bool = True) -> np.ndarray:
        """Weighted mean (D,) of the vectors of ``keys`` (words, row numbers or vectors), of
        unit vectors with ``pre_normalize``, itself made unit with ``post_normalize``.

        As in gensim, missing words are skipped with ``ignore_missing`` (none found: a zero
        vector), and the weighted sum is divided by the sum of the used weights' sizes.

        Raises:
            InputError: no keys, or not one weight per key; UnknownTokenError: a missing word
                when ``ignore_missing`` is False.
        """
        keys = [keys] if isinstance(keys, str) else list(keys)
        if not keys:
            raise InputError("get_mean_vector needs at least one key; give a list of words")
        weights = np.ones(len(keys)) if weights is None else np.asarray(weights, dtype=float)
        if weights.shape != (len(keys),):
            raise InputError(f"{weights.size} weights for {len(keys)} keys; give one per key")
        table = self.get_normed_vectors() if pre_normalize else self.vectors
        rows, used = [], []
        for key, weight in zip(keys, weights, strict=True):
            if (isinstance(key, str | int | np.integer) and ignore_missing
                    and not self.has_index_for(key)):
                continue
            rows.append(self._key_vector(key, table))
            used.append(weight)
        if not rows:
            return np.zeros(self.vector_size, dtype=np.float32)
        used = np.asarray(used, dtype=np.float32)
        mean = used @ np.stack(rows) / max(float(np.abs(used).sum()), 1e-12)  # (D,)
        return mean / max(float(np.linalg.norm(mean)), 1e-12) if post_normalize else mean

    def n_similarity(self, ws1: Sequence[str], ws2: Sequence[str]) -> float:
        """Cosine between the mean vectors of two lists of words (gensim's: the raw
        vectors' means).

        As in gensim, unknown words are left out of the means, and a list with no known word
        has a zero mean, whose cosine with anything is 0.0.

        Raises:
            InputError: an empty list (a ``ZeroDivisionError`` too, as gensim raises).
        """
        if not len(ws1) or not len(ws2):
            raise EmptyListError("n_similarity needs at least one word in each list")
        a, b = (self.get_mean_vector(ws, pre_normalize=False, post_normalize=True)
                for ws in (ws1, ws2))
        return float(a @ b)

    def distance(self, w1: str, w2: str) -> float:
        """Cosine distance, ``1 - similarity``."""
        return 1.0 - self.similarity(w1, w2)

    def distances(self, word_or_vector, other_words: Sequence[str] | None = ()
                  ) -> np.ndarray:
        """Cosine distances from a word (or a vector (D,)) to ``other_words``, or to every
        word when they are empty or None."""
        unit = self.get_normed_vectors()
        query = self._key_vector(word_or_vector, unit)
        query = query / max(float(np.linalg.norm(query)), 1e-12)
        other = [] if other_words is None else list(other_words)
        rows = unit[[self.get_index(w) for w in other]] if other else unit
        return 1.0 - rows @ query

    @staticmethod
    def cosine_similarities(vector_1: np.ndarray, vectors_all: np.ndarray) -> np.ndarray:
        """Cosines (N,) of ``vector_1`` (D,) with each row of ``vectors_all`` (N, D), as
        gensim's static method; a zero vector has cosine 0 with everything (gensim: NaN).

        Raises:
            InputError: not (D,) and (N, D), or a NaN or infinite value.
        """
        one = query_vector(vector_1, None, "vector_1")
        table = np.asarray(vectors_all, dtype=np.float32)
        if table.ndim != 2 or table.shape[1] != one.size:
            raise InputError(f"vectors_all must have shape (N, {one.size}) for a vector_1 of "
                             f"{one.size} values, got {table.shape}")
        if not np.isfinite(table).all():
            raise InputError("vectors_all must hold finite numbers; "
                             f"{int((~np.isfinite(table)).any(axis=1).sum())} of its "
                             f"{len(table)} rows do not")
        norms = np.maximum(np.linalg.norm(table, axis=1) * np.linalg.norm(one), 1e-12)  # (N,)
        return table @ one / norms

    def similar_by_word(self, word: str, topn: int = 10, restrict_vocab: int | None = None):
        """:meth:`most_similar` of one word."""
        return self.most_similar(word, topn=topn, restrict_vocab=restrict_vocab)

    def similar_by_key(self, key: str, topn: int = 10, restrict_vocab: int | None = None):
        """:meth:`most_similar` of one word (gensim 4's name for :meth:`similar_by_word`)."""
        return self.most_similar(key, topn=topn, restrict_vocab=restrict_vocab)

    def most_similar_to_given(self, key1: str, keys_list: Sequence[str]) -> str:
        """The word of ``keys_list`` closest to ``key1`` by cosine.

        Raises:
            InputError: an empty ``keys_list``; UnknownTokenError: a word not in the
                vocabulary.
        """
        keys = list(keys_list)
        if not keys:
            raise InputError("most_similar_to_given needs at least one word in keys_list")
        return keys[int(np.argmin(self.distances(key1, keys)))]

    def relative_cosine_similarity(self, wa: str, wb: str, topn: int = 10) -> float:
        """Cosine of ``wa`` and ``wb`` over the sum of ``wa``'s ``topn`` nearest cosines
        (Leeuwenberg et al. 2016, as gensim computes it)."""
        near = self.similar_by_word(wa, topn=topn)
        if not near:
            raise InputError("relative_cosine_similarity needs topn >= 1 and another word")
        return float(self.similarity(wa, wb)) / sum(score for _, score in near)

    def similar_by_vector(self, vector: np.ndarray, topn: int = 10,
                          restrict_vocab: int | None = None):
        """The words nearest a vector (D,), by cosine."""
        return self.most_similar(positive=[np.asarray(vector)], topn=topn,
                                 restrict_vocab=restrict_vocab)

    def doesnt_match(self, words: Sequence[str]) -> str:
        """The word furthest from the mean of the others (lowest cosine to the group mean).
        Words not in the vocabulary are left out with a warning on the log, as in gensim."""
        words = list(words)
        if len(words) < 2:
            raise InputError("doesnt_match needs at least two words")
        unknown = [w for w in words if w not in self]
        if len(unknown) == len(words):
            self.get_index(words[0])  # none known: the unknown word's own error, with hints
        if unknown:
            log.warning("doesnt_match: %s not in the vocabulary, left out",
                        ", ".join(map(repr, unknown)))
            words = [w for w in words if w not in unknown]
        unit = self.get_normed_vectors()[[self.get_index(w) for w in words]]  # (n, D)
        mean = unit.mean(axis=0)
        mean /= max(float(np.linalg.norm(mean)), 1e-12)
        return words[int(np.argmin(unit @ mean))]

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
                            encoding: str = "utf8", restrict_vocab: int = RESTRICT_VOCAB,
                            case_insensitive: bool = True, dummy4unknown: bool = False):
        """gensim's form of :func:`~dlcourse.embeddings.evaluate.evaluate_similarity` on a
        word-pair file (or a registered set's name, as ``"wordsim353"``):
        ``((pearson, p), (spearman, p), oov_ratio)``, the ratio in percent.

        Raises:
            InputError: ``dummy4unknown=True`` (pairs with unknown words are left out).
        """
        from dlcourse.embeddings.evaluate import evaluate_similarity

        if dummy4unknown:
            raise InputError("evaluate_word_pairs(dummy4unknown=True) is not supported: pairs "
                             "with unknown words are left out and counted in oov_ratio; drop "
                             "dummy4unknown")
        r = evaluate_similarity(self, pairs, restrict_vocab, case_insensitive, delimiter,
                                encoding)
        n = r["pairs"]
        return ((r["pearson"], _p_value(r["pearson"], n)),
                (r["spearman"], _p_value(r["spearman"], n)), r["oov_ratio"])

    def evaluate_word_analogies(self, analogies: str | Path, restrict_vocab: int = RESTRICT_VOCAB,
                                case_insensitive: bool = True, dummy4unknown: bool = False,
                                similarity_function: str = "most_similar"):
        """gensim's analogy evaluation of a questions-words file (or a registered set's name,
        as ``"questions-words"``), in gensim's shape: ``(accuracy, sections)``, each section
        ``{"section", "correct", "incorrect"}`` with the questions ``(a, b, c, d)`` (upper
        case when ``case_insensitive``), the last one ``"Total accuracy"``.

        Questions with a word outside the first ``restrict_vocab`` words are skipped, or
        counted incorrect with ``dummy4unknown``; the answers are those of
        :func:`~dlcourse.embeddings.evaluate.evaluate_analogies`, with 3CosMul for
        ``similarity_function="most_similar_cosmul"``.

        Raises:
            InputError: an unknown ``similarity_function``, the name of another kind of set;
                MissingFileError: no such file.
        """
        from dlcourse.embeddings.evaluate import _lookup, analogy_file, read_analogies

        methods = {"most_similar": "3cosadd", "most_similar_cosmul": "3cosmul"}
        if similarity_function not in methods:
            raise InputError(f"unknown similarity_function {similarity_function!r}; choose "
                             f"one of {', '.join(methods)}")
        path = analogy_file(analogies)
        table = _lookup(self, restrict_vocab, case_insensitive)
        unit = self.get_normed_vectors()[:restrict_vocab]  # (Vr, D)
        sections = []
        for name, questions in read_analogies(path, encoding="utf-8"):
            keys = [tuple(w.lower() for w in q) if case_insensitive else q for q in questions]
            known = [i for i, q in enumerate(keys) if all(w in table for w in q)]
            ids = np.array([[table[w] for w in keys[i]] for i in known],
                           dtype=np.int64).reshape(-1, 4)  # (Q, 4): a b c d
            right = dict(zip(known, _answers(unit, ids, methods[similarity_function])
                             == ids[:, 3]))
            section = {"section": name, "correct": [], "incorrect": []}
            for i, q in enumerate(questions):
                if i in right or dummy4unknown:
                    shown = tuple(w.upper() for w in q) if case_insensitive else tuple(q)
                    section["correct" if right.get(i) else "incorrect"].append(shown)
            sections.append(section)
        total = {"section": "Total accuracy",
                 "correct": [q for s in sections for q in s["correct"]],
                 "incorrect": [q for s in sections for q in s["incorrect"]]}
        answered = len(total["correct"]) + len(total["incorrect"])
        sections.append(total)
        return (len(total["correct"]) / answered if answered else 0.0), sections


def _answers(unit: np.ndarray, ids: np.ndarray, method: str, batch: int = 256) -> np.ndarray:
    """The predicted row (Q,) of each question ``ids`` (Q, 4), a, b and c left out, by
    3CosAdd or 3CosMul over the rows of ``unit`` (Vr, D)."""
    out = np.empty(len(ids), dtype=np.int64)
    for s in range(0, len(ids), batch):
        chunk = ids[s:s + batch]
        a, b, c = unit[chunk[:, 0]], unit[chunk[:, 1]], unit[chunk[:, 2]]  # (B, D) each
        if method == "3cosadd":
            scores = (b + c - a) @ unit.T  # (B, Vr)
        else:
            sa, sb, sc = ((1 + x @ unit.T) / 2 for x in (a, b, c))  # (B, Vr) each
            scores = sb * sc / (sa + 1e-6)
        scores[np.arange(len(chunk))[:, None], chunk[:, :3]] = -np.inf
        out[s:s + batch] = scores.argmax(axis=1)
    return out
