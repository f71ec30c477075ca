"""gensim 4's calls that change a table of word vectors: ``add_vector``, ``add_vectors`` (new
words, or new vectors for known ones with ``replace=True``), and the old name ``word_vec``.

:class:`GensimUpdates` is a mixin of :class:`~dlcourse.embeddings.KeyedVectors`: it uses its
``index_to_key``, ``key_to_index``, ``vectors``, ``expandos`` (per-word attributes, such as
``count``), ``_unit`` (the cached unit rows) and ``get_vector``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dlcourse.errors import InputError


class GensimUpdates:
    """Adding vectors to a table, as gensim 4's ``KeyedVectors`` does."""

    def add_vector(self, key: str, vector: Any) -> int:
        """Add one word and its vector (or, for a known word, keep its vector, as gensim
        does); returns the word's row.

        Args:
            key: the word.
            vector: its (D,) vector, finite numbers.

        Raises:
            InputError: a vector of another size or with NaN or infinite values.
        """
        self.add_vectors([key], np.asarray(vector).reshape(1, -1))
        return self.key_to_index[str(key)]

    def add_vectors(self, keys: Sequence[str] | str, weights: Any,
                    extras: dict[str, Any] | None = None, replace: bool = False) -> None:
        """Append the rows of new words; known words keep their vectors unless ``replace``.

        Args:
            keys: the words (one word may be given as a string).
            weights: their vectors, (len(keys), D) (one word: (D,)).
            extras: per-word attributes of the words, ``{"count": (len(keys),)}``; a new word
                gets 0 in an attribute not given.
            replace: give known words the new vectors (and extras) too.

        Raises:
            InputError: not one vector of D finite numbers per word, or a word given twice.
        """
        keys = [keys] if isinstance(keys, str) else [str(k) for k in keys]
        weights = np.asarray(weights, dtype=np.float32).reshape(len(keys), -1) if keys else (
            np.zeros((0, self.vectors.shape[1]), dtype=np.float32))
        if weights.shape != (len(keys), self.vectors.shape[1]):
            raise InputError(f"add_vectors takes one vector of {self.vectors.shape[1]} numbers "
                             f"per word: {len(keys)} words, vectors of shape {weights.shape}")
        if not np.isfinite(weights).all():
            raise InputError("add_vectors takes finite numbers; a vector holds NaN or inf")
        if len(set(keys)) != len(keys):
            raise InputError("add_vectors got a word twice; give each word once")
        extras = {name: np.asarray(values) for name, values in (extras or {}).items()}
        for name, values in extras.items():
            if values.shape[:1] != (len(keys),):
                raise InputError(f"extras[{name!r}] must hold one value per word ({len(keys)}), "
                                 f"got shape {values.shape}")
        known = np.array([k in self.key_to_index for k in keys], dtype=bool)
        new = [k for k, seen in zip(keys, known) if not seen]
        start = len(self.index_to_key)
        for i, key in enumerate(new):
            self.key_to_index[key] = start + i
        self.index_to_key.extend(new)
        self.vectors = np.concatenate([self.vectors, weights[~known]])  # (V + new, D)
        for name in set(self.expandos) | set(extras):
            column = self.expandos.get(name)
            if column is None:  # an attribute the table did not keep: 0 for the others
                column = np.zeros(start, dtype=extras[name].dtype)
            added = extras[name][~known] if name in extras else np.zeros(len(new), column.dtype)
            self.expandos[name] = np.concatenate([column, added.astype(column.dtype)])
        if replace and known.any():
            rows = [self.key_to_index[k] for k, seen in zip(keys, known) if seen]
            self.vectors[rows] = weights[known]
            for name, values in extras.items():
                self.expandos[name][rows] = values[known]
        self._unit = None  # the cached unit rows are stale

    def word_vec(self, word: str, norm: bool = False) -> np.ndarray:
        """gensim 3's name of :meth:`get_vector` (Args: see there)."""
        return self.get_vector(word, norm=norm)
