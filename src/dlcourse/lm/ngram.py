"""Interpolated Kneser-Ney bigram: the count baseline that gives perplexities a reference."""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from dlcourse.engine.config import Config, param
from dlcourse.engine.estimator import Estimator
from dlcourse.errors import ConfigError, InputError

if TYPE_CHECKING:  # counting needs no torch: a torch tensor of ids is read as an array
    import torch

    from dlcourse.lm.corpus import Corpus

#: what to do with text given where token ids are taken, unless the caller says better
ENCODE_FIRST = "encode it into ids first (LanguageModel.encode, or a Corpus's id streams)"
#: the same for the bigram, which has no tokenizer of its own
COUNT_A_CORPUS = ("the bigram counts word ids: fit it on a Corpus (load_corpus(NAME or FILE)) "
                  "and measure with evaluate(corpus), or encode the text first")


def as_corpus(data: Any) -> Corpus | None:
    """``data`` when it is a :class:`~dlcourse.lm.corpus.Corpus`, else None. The corpus module
    (which imports torch) is read only when loaded: any Corpus has loaded it."""
    module = sys.modules.get("dlcourse.lm.corpus")
    return data if module is not None and isinstance(data, module.Corpus) else None


def token_ids(ids: Any, vocab_size: int | None,
              fix: str = "encode with the vocabulary the model counts", *,
              taker: str = "the model", text_fix: str = ENCODE_FIRST) -> np.ndarray:
    """``ids`` (a torch tensor, numpy array or list) as a flat int64 array, checked: at least two
    integers in ``[0, vocab_size)`` (``vocab_size`` None: any non-negative ids).

    Raises:
        InputError: what :func:`id_array` refuses; fewer than two ids.
    """
    values = id_array(ids, None, fix, check=False, taker=taker, text_fix=text_fix).reshape(-1)
    if values.size < 2:
        raise InputError(f"need at least two token ids, got {values.size}")
    return id_array(ids, vocab_size, fix, taker=taker, text_fix=text_fix).reshape(-1)


def id_array(ids: Any, vocab_size: int | None,
             fix: str = "encode with the vocabulary the model counts",
             check: bool = True, *, taker: str = "the model",
             text_fix: str = ENCODE_FIRST) -> np.ndarray:
    """``ids`` (a torch tensor, numpy array, list or one id) as an int64 array of its own
    shape, checked (unless ``check`` is False): integers in ``[0, vocab_size)`` (``vocab_size``
    None: any non-negative ids). Text, a Corpus and objects that hold no numbers are refused
    even unchecked: numpy reads each as one 0-d value, which would pass for one id.

    Raises:
        InputError: text (``taker``, the method, takes token ids; ``text_fix`` says what to
            do), a Corpus, None or another object, nested lists of unequal lengths; non-integer
            ids or ids outside the range (``fix`` says what to do).
    """
    dtype = getattr(ids, "dtype", None)
    if as_corpus(ids) is not None:
        raise InputError(f"{taker} takes token ids, got a Corpus; pass one of its id streams "
                         "(corpus.test) or use evaluate(corpus)")
    if hasattr(ids, "detach"):  # a torch tensor, wherever it lives
        ids = ids.detach().cpu().numpy()
    try:
        values = np.asarray(ids)
    except ValueError:  # numpy refuses ragged nested lists
        raise InputError(f"{taker} takes one run of token ids, got nested lists of unequal "
                         "lengths; join them into one list") from None
    wanted = f"{taker} takes token ids (a list, numpy array or tensor of integers)"
    if values.dtype.kind in "US":  # a string, bytes or a list of words
        shown = repr(ids if isinstance(ids, str | bytes) else values.reshape(-1)[:5].tolist())
        shown = shown if len(shown) <= 60 else shown[:56] + "...'"
        raise InputError(f"{wanted}, got text {shown}; {text_fix}")
    if values.dtype == object and values.ndim == 0:  # None, a dict: no id at all
        raise InputError(f"{wanted}, got {type(ids).__name__}")
    if not check:
        return values
    if not np.issubdtype(values.dtype, np.integer):
        raise InputError(f"token ids must be integers, got {dtype or values.dtype}")
    if values.size:
        low, high = int(values.min()), int(values.max())
        if low < 0 or (vocab_size is not None and high >= vocab_size):
            bound = f"in [0, {vocab_size})" if vocab_size is not None else ">= 0"
            got = f"{low}..{high}" if low != high else f"{low}"
            raise InputError(f"token ids must be {bound}, got {got}; {fix}")
    return values.astype(np.int64)


@dataclass
class BigramConfig(Config):
    """The settings of :class:`KneserNeyBigram`."""

    vocab_size: int | None = param(None, "V, the number of word ids; none: the largest id seen "
                                         "in training, plus one.", min=1)
    discount: float | None = param(None, "Fixed discount in (0, 1); none: estimated from the "
                                         "counts.", min=0.0, exclusive_min=True, max=1.0)

    def check(self) -> None:
        if self.discount is not None and self.discount >= 1.0:
            raise ConfigError(f"discount must be < 1, got {self.discount}", "discount")


class KneserNeyBigram(Estimator):
    """Interpolated Kneser-Ney bigram model over word ids (Chen & Goodman 1998).

    ``P(w | v) = max(c(v, w) - d, 0) / c(v) + d * N1+(v .) / c(v) * P_cont(w)``, where
    ``P_cont(w)`` is the share of distinct left contexts of ``w``, itself interpolated with
    the uniform distribution so that every word in the vocabulary gets some mass. Contexts
    never seen fall back to ``P_cont``. The discount is ``d = n1 / (n1 + 2 n2)`` from the
    counts of bigrams seen once and twice, unless given.

    It is fitted and measured as :class:`~dlcourse.lm.LanguageModel` is (``fit(corpus)``,
    ``evaluate(corpus)`` with the same keys), so the baseline compares line by line; ``fit``
    takes a bare id stream too. The settings are :class:`BigramConfig`'s (``vocab_size`` may be
    given by position); learned attributes: ``vocab_size_``, ``discount_``, ``itos_`` (the
    corpus's vocabulary; None for an id stream), the bigram ``keys_`` and ``counts_``, the
    context counts and ``p_cont_``; ``save``/``load`` as every lesson's estimator (no torch
    needed).

    Example:
        >>> lm = KneserNeyBigram(vocab_size=4).fit(np.array([0, 1, 2, 1, 2, 3, 1, 2]))
        >>> round(float(lm.prob(1).sum()), 6)
        1.0
        >>> from dlcourse.lm import load_corpus  # doctest: +SKIP
        >>> corpus = load_corpus("lee")  # doctest: +SKIP
        >>> KneserNeyBigram().fit(corpus).evaluate(corpus)  # doctest: +SKIP
        {'valid_ppl': ..., 'test_ppl': ...}
    """

    config_class = BigramConfig
    lesson = "lm"
    framework = "numpy"
    fitted_attribute = "discount_"
    positional = ("vocab_size",)
    _ARRAYS = ("keys_", "counts_", "context_count_", "context_types_", "p_cont_")

    def fit(self, data: Corpus | torch.Tensor | np.ndarray, *,
            out_dir: str | os.PathLike | None = None, resume: bool = False) -> KneserNeyBigram:
        """Count the bigrams of ``corpus.train`` (as ``LanguageModel.fit`` trains on it), or of
        a (N,) id stream; returns ``self``. With ``out_dir`` the model is saved there at the
        end, as every lesson's ``fit`` does (``resume`` is refused: counting writes no
        checkpoint).

        Args:
            data: a :class:`~dlcourse.lm.corpus.Corpus` (:func:`dlcourse.lm.load_corpus`),
                whose vocabulary sets V (``vocab_size_``) and is kept as ``itos_``; or token
                ids (a tensor, numpy array or list), V then ``vocab_size`` or the largest id
                plus one.

        Raises:
            ConfigError: a setting out of range; a ``vocab_size`` other than the corpus's.
            InputError: text or another object instead of a Corpus or ids; fewer than two ids,
                or ids that are not integers in [0, vocab_size).
        """
        config = self._one_step_fit(out_dir, resume)
        corpus = as_corpus(data)
        if corpus is not None:
            if config.vocab_size not in (None, len(corpus.itos)):
                raise ConfigError(f"vocab_size {config.vocab_size:,} differs from the "
                                  f"{len(corpus.itos):,} words of the corpus's vocabulary; leave "
                                  "it at None (fit takes V from the corpus)", "vocab_size")
            data = corpus.train
        v = len(corpus.itos) if corpus is not None else config.vocab_size
        ids = token_ids(data, v, taker="fit", text_fix=COUNT_A_CORPUS)
        v = self.vocab_size_ = v or int(ids.max()) + 1
        self.itos_ = list(corpus.itos) if corpus is not None else None
        keys, counts = np.unique(ids[:-1] * v + ids[1:], return_counts=True)  # bigram -> c(v, w)
        left, right = keys // v, keys % v
        n1, n2 = int((counts == 1).sum()), int((counts == 2).sum())
        d = config.discount if config.discount is not None else n1 / max(n1 + 2 * n2, 1)
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
        if out_dir is not None:
            self._save_run(out_dir)
        return self

    def log_prob(self, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        """Natural-log ``P(nxt | prev)`` for arrays of context and next ids (same shape, or
        shapes that broadcast).

        Args:
            prev: context word ids, integers in ``[0, vocab_size_)`` (array, tensor, list or int).
            nxt: the next word ids, in the same range; shape broadcasting with ``prev``'s.

        Returns:
            float64 array of the broadcast shape.

        Raises:
            NotFittedError: before ``fit`` or ``load``.
            InputError: ids that are not integers in ``[0, vocab_size_)`` (they would index
                past the counts), or shapes that do not broadcast.
        """
        self.check_is_fitted()
        prev, nxt = (id_array(a, self.vocab_size_, taker="log_prob", text_fix=COUNT_A_CORPUS)
                     for a in (prev, nxt))
        try:
            np.broadcast_shapes(prev.shape, nxt.shape)
        except ValueError:
            raise InputError(f"prev and nxt must have one shape, got {prev.shape} and "
                             f"{nxt.shape}") from None
        v, d = self.vocab_size_, self.discount_
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
        """The full (V,) next-word distribution after word id ``prev``.

        Args:
            prev: one context word id in ``[0, vocab_size_)``.

        Raises:
            NotFittedError: before ``fit`` or ``load``.
            InputError: ``prev`` is not one integer in ``[0, vocab_size_)``.
        """
        self.check_is_fitted()
        prev = id_array(prev, self.vocab_size_, taker="prob", text_fix=COUNT_A_CORPUS)
        if prev.ndim:  # a (V,) answer is for one context id, not a batch of them
            raise InputError(f"prob takes one word id, got shape {prev.shape}; use log_prob "
                             "for many")
        nxt = np.arange(self.vocab_size_)
        return np.exp(self.log_prob(np.full_like(nxt, prev), nxt))

    def perplexity(self, ids: torch.Tensor | np.ndarray) -> float:
        """``exp`` of the mean negative log-likelihood of ``ids[1:]`` given ``ids[:-1]``.

        Args:
            ids: a token id stream, read flattened (e.g. ``corpus.test``; a tensor, numpy array
                or list of integers in ``[0, vocab_size_)``).

        Raises:
            NotFittedError: before ``fit`` or ``load``.
            InputError: text, a Corpus (see :meth:`evaluate`) or another object instead of
                ids; fewer than two ids, or ids that are not integers in ``[0, vocab_size_)``.
        """
        self.check_is_fitted()
        ids = token_ids(ids, self.vocab_size_, taker="perplexity", text_fix=COUNT_A_CORPUS)
        return math.exp(-float(self.log_prob(ids[:-1], ids[1:]).mean()))

    def evaluate(self, corpus: Corpus) -> dict[str, float]:
        """``valid_ppl`` and ``test_ppl`` on a corpus encoded with the vocabulary the model
        counted, with the share of ``<unk>`` in each split (``valid_unk``, ``test_unk``): the
        keys of ``LanguageModel.evaluate``, for a side-by-side table.

        Args:
            corpus: a :class:`~dlcourse.lm.corpus.Corpus`, its ``valid`` and ``test`` streams
                measured (``load_corpus(..., vocab=bigram.itos_)``).

        Raises:
            NotFittedError: before ``fit`` or ``load``.
            InputError: not a Corpus; a corpus with another vocabulary (the words of the one
                fitted on, or its size for a model fitted on an id stream).
        """
        self.check_is_fitted()
        if as_corpus(corpus) is None:
            raise InputError("evaluate takes a Corpus (load_corpus(NAME or FILE)), got "
                             f"{type(corpus).__name__}; for a token id stream use "
                             "perplexity(ids)")
        if self.itos_ is not None:  # fitted on a Corpus: its words, in its order
            differs = list(corpus.itos) != self.itos_
            fix = "load the corpus with load_corpus(..., vocab=bigram.itos_), or fit on it"
        else:  # fitted on ids: only V is known
            differs = len(corpus.itos) != self.vocab_size_
            fix = "fit the bigram on this corpus: fit(corpus)"
        if differs:
            raise InputError(f"the corpus vocabulary ({len(corpus.itos):,} words) differs from "
                             f"the one the model counted ({self.vocab_size_:,} ids); {fix}")
        return {"valid_ppl": self.perplexity(corpus.valid),
                "valid_unk": corpus.unknown_share("valid"),
                "test_ppl": self.perplexity(corpus.test),
                "test_unk": corpus.unknown_share("test")}

    # ---- persistence (Estimator.save / Estimator.load) ---------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        arrays = {name: np.ascontiguousarray(getattr(self, name)) for name in self._ARRAYS}
        return arrays, {"vocab_size": self.vocab_size_, "discount": self.discount_,
                        "itos": self.itos_}

    def _set_state(self, arrays: dict[str, Any], values: dict[str, Any]) -> None:
        for name in self._ARRAYS:
            setattr(self, name, np.asarray(arrays[name]))
        self.vocab_size_, self.discount_ = int(values["vocab_size"]), float(values["discount"])
        # files written before the vocabulary was kept have none, as a fit on ids
        self.itos_ = list(values["itos"]) if values.get("itos") is not None else None
