"""Interpolated Kneser-Ney bigram: the count baseline that gives perplexities a reference."""

from __future__ import annotations

import math

import numpy as np
import torch


class KneserNeyBigram:
    """Interpolated Kneser-Ney bigram model over word ids (Chen & Goodman 1998).

    ``P(w | v) = max(c(v, w) - d, 0) / c(v) + d * N1+(v .) / c(v) * P_cont(w)``, where
    ``P_cont(w)`` is the share of distinct left contexts of ``w``, itself interpolated with
    the uniform distribution so that every word in the vocabulary gets some mass. Contexts
    never seen fall back to ``P_cont``. The discount is ``d = n1 / (n1 + 2 n2)`` from the
    counts of bigrams seen once and twice, unless given.

    Args:
        vocab_size: V, the number of word ids.
        discount: fixed discount in (0, 1), or ``None`` to estimate it.

    Example:
        >>> lm = KneserNeyBigram(vocab_size=4).fit(torch.tensor([0, 1, 2, 1, 2, 3, 1, 2]))
        >>> round(float(lm.prob(1).sum()), 6)
        1.0
    """

    def __init__(self, vocab_size: int, discount: float | None = None):
        if vocab_size < 1:
            raise ValueError(f"vocab_size must be >= 1, got {vocab_size}")
        if discount is not None and not 0.0 < discount < 1.0:
            raise ValueError(f"discount must be in (0, 1), got {discount}")
        self.vocab_size = vocab_size
        self.discount = discount

    def fit(self, ids: torch.Tensor | np.ndarray) -> KneserNeyBigram:
        """Count the bigrams of a (N,) id stream; returns ``self``.

        Raises:
            ValueError: fewer than two ids, or ids that are not integers in [0, vocab_size).
        """
        ids = self._ids(ids)
        v = self.vocab_size
        keys, counts = np.unique(ids[:-1] * v + ids[1:], return_counts=True)  # bigram -> c(v, w)
        left, right = keys // v, keys % v
        n1, n2 = int((counts == 1).sum()), int((counts == 2).sum())
        d = self.discount if self.discount is not None else n1 / max(n1 + 2 * n2, 1)
        self.discount_ = float(min(max(d, 1e-3), 0.999))
        self.keys_, self.counts_ = keys, counts.astype(np.float64)
        self.context_count_ = np.bincount(left, weights=self.counts_, minlength=v)  # c(v)
        self.context_types_ = np.bincount(left, minlength=v).astype(np.float64)  # N1+(v .)
        cont = np.bincount(right, minlength=v).astype(np.float64)  # N1+(. w)
        total = cont.sum()
        # continuation unigram, discounted and interpolated with uniform (no zero mass)
        self.p_cont_ = (
            np.maximum(cont - self.discount_, 0.0) / total
            + self.discount_ * (cont > 0).sum() / total / v
        )
        return self

    def log_prob(self, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        """Natural-log ``P(nxt | prev)`` for arrays of context and next ids (same shape)."""
        prev = np.asarray(prev, dtype=np.int64)
        nxt = np.asarray(nxt, dtype=np.int64)
        v, d = self.vocab_size, self.discount_
        key = prev * v + nxt
        pos = np.clip(np.searchsorted(self.keys_, key), 0, len(self.keys_) - 1)
        c_vw = np.where(self.keys_[pos] == key, self.counts_[pos], 0.0)
        c_v = self.context_count_[prev]
        seen = c_v > 0
        safe = np.where(seen, c_v, 1.0)
        backoff = np.where(seen, d * self.context_types_[prev] / safe, 1.0)
        p = np.where(seen, np.maximum(c_vw - d, 0.0) / safe, 0.0) + backoff * self.p_cont_[nxt]
        return np.log(p)

    def prob(self, prev: int) -> np.ndarray:
        """The full (V,) next-word distribution after word id ``prev``."""
        nxt = np.arange(self.vocab_size)
        return np.exp(self.log_prob(np.full_like(nxt, prev), nxt))

    def perplexity(self, ids: torch.Tensor | np.ndarray) -> float:
        """``exp`` of the mean negative log-likelihood of ``ids[1:]`` given ``ids[:-1]``."""
        if not hasattr(self, "discount_"):
            raise ValueError("the bigram model is not fitted yet; call fit(ids) first")
        ids = self._ids(ids)
        return math.exp(-float(self.log_prob(ids[:-1], ids[1:]).mean()))

    def _ids(self, ids) -> np.ndarray:
        """``ids`` as a flat int64 array, checked: at least two, integers in [0, vocab_size)."""
        values = np.asarray(ids).reshape(-1)
        if values.size < 2:
            raise ValueError(f"need at least two token ids, got {values.size}")
        if not np.issubdtype(values.dtype, np.integer):
            raise ValueError(f"token ids must be integers, got {values.dtype}")
        low, high = int(values.min()), int(values.max())
        if low < 0 or high >= self.vocab_size:
            raise ValueError(f"token ids must be in [0, {self.vocab_size}), got {low}..{high}; "
                             "encode with the vocabulary the model counts")
        return values.astype(np.int64)
