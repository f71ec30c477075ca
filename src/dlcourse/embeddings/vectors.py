"""KeyedVectors: trained word vectors apart from the trainer (lookup, neighbours, analogies, IO)."""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dlcourse.embeddings.config import ANALOGY_METHOD, ANALOGY_METHODS
from dlcourse.embeddings.gensim_queries import (
    GensimQueries,
    query_vector,
    weighted_keys,
    word_attributes,
)
from dlcourse.embeddings.gensim_updates import GensimUpdates
from dlcourse.engine.config import whole_number
from dlcourse.errors import InputError, UnknownTokenError, check_choice

log = logging.getLogger(__name__)



def _as_list(words: str | np.ndarray | Iterable[str | np.ndarray] | None) -> list:
    """A word, a vector (D,) or a sequence of them, as a list (gensim takes either)."""
    if words is None:
        return []
    if isinstance(words, str | int | np.integer) or (
            isinstance(words, np.ndarray) and words.ndim == 1 and words.dtype.kind in "fiu"):
        return [words]  # a row number is a key too, as in gensim
    return list(words)


def _count(value: Any, name: str, none: bool = False) -> int | None:
    """``value``, a whole number >= 0 (or None where ``none``), for the argument ``name``."""
    if (value is None and none) or (isinstance(value, int | np.integer)
                                    and not isinstance(value, bool) and value >= 0):
        return value
    allowed = " or None" if none else ""
    raise InputError(f"{name} must be a whole number >= 0{allowed}, got {value!r}")


class KeyedVectors(GensimQueries, GensimUpdates):
    """Word vectors keyed by word: the result of Word2Vec, GloVe or a file gensim/GloVe wrote.

    gensim's names and formats: ``kv["king"]``, ``most_similar(positive, negative, topn)``,
    ``key_to_index``, ``index_to_key``, word2vec text/binary and GloVe files, and gensim's
    other queries (``n_similarity``, ``distances``, ``rank``, ``evaluate_word_pairs``, ...:
    :class:`~dlcourse.embeddings.gensim_queries.GensimQueries`; ``add_vectors``:
    :class:`~dlcourse.embeddings.gensim_updates.GensimUpdates`); :meth:`save` and
    :meth:`load` use the model file of every dlcourse lesson (no torch).

    Args:
        words: the vocabulary, one entry per row of ``vectors`` (no duplicates). Index order is
            kept; the trainers store the most frequent words first.
        vectors: float32 array of shape (V, D).
        counts: each word's count in the training corpus (V,), what gensim's
            ``get_vecattr(word, "count")`` reads; Word2Vec and GloVe give theirs.

    Raises:
        ValueError: not (V, D), a row count that differs from the words, a duplicate word.

    Example:
        >>> import numpy as np
        >>> kv = KeyedVectors(["a", "b", "c"], np.eye(3, dtype=np.float32))
        >>> kv["b"].tolist(), "c" in kv, len(kv)
        ([0.0, 1.0, 0.0], True, 3)
        >>> [w for w, _ in kv.most_similar("a", topn=2)]
        ['b', 'c']
    """

    def __init__(self, words: Sequence[str], vectors: np.ndarray,
                 counts: np.ndarray | None = None):
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise InputError(f"vectors must be a 2-D array (V, D), got shape {vectors.shape}")
        words = [str(w) for w in words]
        if len(words) != vectors.shape[0]:
            raise InputError(f"{len(words)} words but {vectors.shape[0]} vector rows; give one "
                             "vector per word")
        finite = np.isfinite(vectors).all(axis=1)  # a NaN ranks below every cosine: a word
        if not finite.all():  # would come out as its own nearest neighbour
            first = int(np.argmin(finite))
            raise InputError(f"the vector of {words[first]!r} (vector {first + 1}, counted "
                             f"from 1) is not all finite numbers; {int((~finite).sum())} of "
                             f"{len(words)} vectors are not")
        self.index_to_key: list[str] = words
        self.key_to_index: dict[str, int] = {w: i for i, w in enumerate(words)}
        if len(self.key_to_index) != len(words):
            dup = next(w for i, w in enumerate(words) if self.key_to_index[w] != i)
            raise InputError(f"duplicate word {dup!r} in the vocabulary; words must be unique")
        self.vectors: np.ndarray = vectors  # (V, D)
        self._unit: np.ndarray | None = None
        self.expandos = word_attributes(counts, len(words))  # gensim's name

    # ------------------------------------------------------------------ lookup
    @property
    def vector_size(self) -> int:
        """The dimension D of the vectors."""
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __contains__(self, key: object) -> bool:
        """A word of the vocabulary, or a row number in range (gensim's: ``3 in kv``)."""
        return self.has_index_for(key)

    def __repr__(self) -> str:
        return f"KeyedVectors({len(self)} words, {self.vector_size} dims)"

    def get_index(self, word: str | int, default: int | None = None) -> int:
        """Row of ``word`` (a row number in range is itself, as in gensim); an unknown word
        gives ``default`` where one is given, else raises UnknownTokenError (a KeyError, as in
        gensim, and a DlcourseError) naming close entries.

        Args:
            word: a word, or a row number in ``[0, V)``.
            default: the answer for an unknown word; None (the default): raise.
        """
        try:
            return self.key_to_index[word]
        except KeyError:
            if isinstance(word, int | np.integer) and 0 <= word < len(self):
                return int(word)
            if default is not None:
                return default
            raise UnknownTokenError(self._unknown_message(word)) from None

    def _unknown_message(self, word: str) -> str:
        keys = self.index_to_key[:50000]
        # the same word in other case first (War -> war), then near spellings
        close = [k for k in keys if k.lower() == str(word).lower() and k != word][:5]
        close += [k for k in difflib.get_close_matches(str(word), keys, n=5, cutoff=0.7)
                  if k not in close][:5 - len(close)]
        hint = (f"; close entries: {', '.join(close)}" if close
                else "; check its spelling and case")
        return f"word {word!r} is not in the vocabulary ({len(self)} words){hint}"

    def __getitem__(self, word: str | int | Sequence[str]) -> np.ndarray:
        """The vector (D,) of a word (or row number), or a (n, D) array for a list of them."""
        if isinstance(word, str | int | np.integer):
            return self.vectors[self.get_index(word)]
        return self.vectors[[self.get_index(w) for w in word]]

    def get_vector(self, word: str, norm: bool = False) -> np.ndarray:
        """The vector (D,) of ``word`` (gensim's name), of unit length with ``norm``.

        Args:
            word: a word or row number (:meth:`get_index`).
            norm: the row of :meth:`get_normed_vectors` instead of the raw vector.
        """
        return (self.get_normed_vectors() if norm else self.vectors)[self.get_index(word)]

    def get_normed_vectors(self) -> np.ndarray:
        """Unit-length copy of the vectors (V, D); zero rows stay zero. Cached."""
        if self._unit is None:
            norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)  # (V, 1)
            self._unit = self.vectors / np.maximum(norms, 1e-12)
        return self._unit

    # ------------------------------------------------------------ similarity
    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words.

        Args:
            w1, w2: the words (or row numbers); one not in the vocabulary: UnknownTokenError.
        """
        unit = self.get_normed_vectors()
        return float(unit[self.get_index(w1)] @ unit[self.get_index(w2)])

    def _rows(self, items: list, ids: list[int], unit_vectors: bool) -> list[np.ndarray]:
        """The unit rows of the words among ``items`` (their indices appended to ``ids``, to be
        left out of the answers) and the vectors given in place of words: as they are (gensim's
        most_similar) or scaled to unit length (``unit_vectors``)."""
        unit, rows = self.get_normed_vectors(), []
        for item in items:
            if isinstance(item, np.ndarray):
                vector = query_vector(item, self.vector_size, "a query vector")
                scale = max(float(np.linalg.norm(vector)), 1e-12) if unit_vectors else 1.0
                rows.append(vector / scale)
            else:
                ids.append(self.get_index(item))
                rows.append(unit[ids[-1]])
        return rows

    def _query(self, positive, negative) -> tuple[np.ndarray, list[int]]:
        """The unit query vector and the rows of the query words (left out of the answers);
        a vector given instead of a word enters as it is, as in gensim."""
        keys, weights = weighted_keys(_as_list(positive), _as_list(negative))
        if not keys:
            raise InputError("most_similar needs at least one positive or negative word")
        ids: list[int] = []
        rows = self._rows(keys, ids, unit_vectors=False)
        mean = weights @ np.stack(rows) / len(rows)  # (D,)
        return mean / max(float(np.linalg.norm(mean)), 1e-12), ids

    def _top(self, scores: np.ndarray, exclude: list[int], topn: int) -> list[tuple[str, float]]:
        scores = scores.copy()
        scores[exclude] = -np.inf
        topn = min(_count(topn, "topn"), len(scores) - len(set(exclude)))
        if topn <= 0:
            return []
        best = np.argpartition(-scores, topn - 1)[:topn]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(self.index_to_key[i], float(scores[i])) for i in best]

    def most_similar(self, positive: str | Sequence[str] | None = None,
                     negative: str | Sequence[str] | None = None, topn: int = 10,
                     restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """Nearest words by cosine to the mean unit vector of ``positive`` minus ``negative``.

        This is 3CosAdd for analogies: ``most_similar(["king", "woman"], ["man"])`` ~ queen.

        Args:
            positive, negative: a word or words, or vectors (D,) in their place (gensim's
                ``most_similar(kv["king"])``); a ``(word, weight)`` pair weighs its word (the
                others weigh 1 and -1), as in gensim.
            topn: how many to return; None: the cosine of every word (V,), as gensim gives.
            restrict_vocab: consider only the first N (most frequent) words.

        Returns:
            ``[(word, cosine), ...]``, best first, the query words left out.

        Raises:
            UnknownTokenError: a word not in the vocabulary (naming close entries).
        """
        query, ids = self._query(positive, negative)
        unit = self.get_normed_vectors()[:_count(restrict_vocab, "restrict_vocab", none=True)]
        if topn is None:
            return unit @ query
        return self._top(unit @ query, [i for i in ids if i < len(unit)], topn)

    def most_similar_cosmul(self, positive: str | Sequence[str] | None = None,
                            negative: str | Sequence[str] | None = None, topn: int = 10,
                            restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """3CosMul (Levy and Goldberg 2014): prod (1+cos(d,p))/2 / (prod (1+cos(d,n))/2 + 1e-6).

        Takes what :meth:`most_similar` takes: words, or vectors (D,) in their place; a vector
        counts by its direction (gensim uses it unscaled, so a raw ``kv["king"]`` is not a
        cosine there).

        Args:
            positive, negative, topn, restrict_vocab: see :meth:`most_similar` (no weights:
                a ``(word, weight)`` pair is an InputError).
        """
        pos, neg = _as_list(positive), _as_list(negative)
        if not pos:
            raise InputError("most_similar_cosmul needs at least one positive word")
        if any(isinstance(item, tuple) for item in pos + neg):  # read as a word, it was unknown
            raise InputError("most_similar_cosmul takes words or vectors, not (word, weight) "
                             "pairs, as in gensim; most_similar weighs words")
        full = self.get_normed_vectors()[:_count(restrict_vocab, "restrict_vocab", none=True)]
        ids: list[int] = []
        sims_pos = (1 + full @ np.stack(self._rows(pos, ids, True)).T) / 2  # (V, P)
        neg_rows = self._rows(neg, ids, True)
        sims_neg = (1 + full @ np.stack(neg_rows).T) / 2 if neg else np.ones((len(full), 0))
        scores = np.prod(sims_pos, axis=1) / (np.prod(sims_neg, axis=1) + 1e-6)
        if topn is None:  # every word's score, as most_similar gives
            return scores
        return self._top(scores, [i for i in ids if i < len(full)], topn)

    def analogy(self, a: str, b: str, c: str, topn: int = 1,
                method: str = ANALOGY_METHOD) -> list[tuple[str, float]]:
        """Solve ``a : b :: c : ?`` (man : king :: woman : queen) by 3CosAdd or 3CosMul.

        Args:
            a, b, c: the three words, left out of the answers.
            topn: how many answers.
            method: "3cosadd" (:meth:`most_similar`) or "3cosmul" (:meth:`most_similar_cosmul`).
        """
        check_choice("analogy method", method, ANALOGY_METHODS)
        fn = self.most_similar if method == "3cosadd" else self.most_similar_cosmul
        return fn(positive=[b, c], negative=[a], topn=topn)

    def nearest_neighbors(self, words: Sequence[str], topn: int = 10, device: str = "cpu",
                          batch_size: int = 1024) -> list[list[tuple[str, float]]]:
        """Top-``topn`` cosine neighbours of each word (itself excluded) for a batch of words.

        Args:
            words: the query words (or row numbers).
            topn: neighbours per word, >= 0 (at most V - 1).
            device: "cpu": numpy (no torch); "cuda", or "auto" where a GPU may be: torch.
            batch_size: query words per matrix product, >= 1.

        Raises:
            InputError: ``topn`` or ``batch_size`` out of range.
            UnknownTokenError: a word not in the vocabulary.
        """
        from dlcourse.engine.accelerator import is_cpu_spec

        # 0 was range()'s own error, -1 answered no word
        batch_size = whole_number("batch_size", batch_size, 1, None, "a whole number >= 1")
        ids = np.array([self.get_index(w) for w in words], dtype=np.int64)
        k = min(_count(topn, "topn"), len(self) - 1)
        out: list[list[tuple[str, float]]] = []
        if k <= 0:
            return [[] for _ in ids]
        if not is_cpu_spec(device):
            return self._nearest_torch(ids, k, device, batch_size)
        unit = self.get_normed_vectors()  # (V, D)
        for start in range(0, len(ids), batch_size):
            batch = ids[start:start + batch_size]
            scores = unit[batch] @ unit.T  # (B, V)
            scores[np.arange(len(batch)), batch] = -np.inf
            best = np.argpartition(-scores, k - 1, axis=1)[:, :k]  # (B, k) unordered
            for row, cand in zip(scores, best):
                cand = cand[np.argsort(-row[cand], kind="stable")]
                out.append([(self.index_to_key[i], float(row[i])) for i in cand])
        return out

    def _nearest_torch(self, ids: np.ndarray, k: int, device: str, batch_size: int
                       ) -> list[list[tuple[str, float]]]:
        import torch

        from dlcourse.engine import resolve_device

        dev = resolve_device(device)
        unit = torch.from_numpy(self.get_normed_vectors()).to(dev)  # (V, D)
        out: list[list[tuple[str, float]]] = []
        for start in range(0, len(ids), batch_size):
            batch = torch.from_numpy(ids[start:start + batch_size]).to(dev)
            scores = unit[batch] @ unit.T  # (B, V)
            scores[torch.arange(len(batch), device=dev), batch] = -float("inf")
            vals, idx = scores.topk(k, dim=1)
            for v_row, i_row in zip(vals.cpu().tolist(), idx.cpu().tolist()):
                out.append([(self.index_to_key[i], v) for i, v in zip(i_row, v_row)])
        return out

    # ---------------------------------------------------------------- files
    def save_word2vec_format(self, path: str | Path, binary: bool = False,
                             write_header: bool = True) -> Path:
        """Write the word2vec text or binary format (gensim/word2vec.c readable), atomically.

        Args:
            path: the file to write (returned).
            binary: word2vec's binary format.
            write_header: False (text only): GloVe's format, without the "V D" header line.
        """
        from dlcourse.embeddings.vector_files import write_vectors

        if binary and not write_header:
            raise InputError("the binary word2vec format always has a header; use binary=False "
                             "for GloVe's header-less text format")
        fmt = "word2vec-binary" if binary else ("word2vec" if write_header else "glove")
        return write_vectors(self.index_to_key, self.vectors, path, fmt)

    @classmethod
    def load_word2vec_format(cls, path: str | Path, binary: bool = False,
                             no_header: bool = False, encoding: str = "utf-8",
                             unicode_errors: str = "strict", limit: int | None = None
                             ) -> KeyedVectors:
        """Read a word2vec text/binary file (gensim, word2vec.c) or GloVe's (``no_header=True``).

        :func:`~dlcourse.embeddings.load_vectors` tells the formats apart by itself.

        Args:
            path: the file.
            binary, no_header: word2vec's binary format; GloVe's (text without "V D").
            encoding, unicode_errors: decode the words; "replace": U+FFFD, not an error.
            limit: read only the first N vectors, N >= 1 (None: all).

        Raises:
            MissingFileError: no such file (a FileNotFoundError too).
            DlcourseError: a damaged or truncated file, an undecodable byte, or a binary file
                read without ``binary=True`` (saying so); a ``limit`` below 1.
        """
        from dlcourse.embeddings.vector_files import read_word2vec

        path = Path(path)
        words, vectors = read_word2vec(path, binary, no_header, encoding, unicode_errors, limit)
        try:
            return cls(words, vectors)
        except InputError as exc:  # a duplicate word, a NaN: name the file
            raise InputError(f"{path}: {exc}") from None

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``directory/model.safetensors`` (the vectors, words and counts; no torch needed
        to read it): what ``KeyedVectors.load`` and the ``dlcourse embed`` verbs read.

        Args:
            directory: the folder; ``directory/model.safetensors`` is written and returned.
        """
        from dlcourse.embeddings.vector_store import save_vectors

        return save_vectors(self, directory)

    @classmethod
    def load(cls, directory: str | os.PathLike) -> KeyedVectors:
        """The vectors of a model directory written by ``Word2Vec``, ``GloVe`` or
        :meth:`save` (or its ``model.safetensors``), without torch.

        Args:
            directory: the model folder, or its ``model.safetensors``.

        Raises:
            DlcourseError: a missing or damaged file, or a model file of an older dlcourse.
            IncompatibleModelError: another lesson's model.
        """
        from dlcourse.embeddings.vector_store import load_vectors

        return load_vectors(cls, directory)
