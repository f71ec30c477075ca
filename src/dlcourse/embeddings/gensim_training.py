"""gensim's two-step training on :class:`~dlcourse.embeddings.word2vec.Word2Vec`:
``model.build_vocab(sentences)`` then ``model.train(sentences,
total_examples=model.corpus_count, epochs=model.epochs)``, as gensim's tutorials write it.

:class:`GensimTraining` is a mixin over the estimator's ``set_params`` and ``_fit``: ``train``
is one ``fit`` (the vocabulary is built there), given the trained model's vectors to start
from, so a second ``train`` continues from them as gensim's does, as long as the vocabulary it
builds is the same; on another one the old rows would mean other words, so it starts from new
random vectors and warns so. ``fit`` itself always starts afresh (scikit-learn's rule).
"""

from __future__ import annotations

import warnings
from typing import Any

from dlcourse.errors import InputError


def _corpus(corpus_iterable: Any, corpus_file: Any, verb: str) -> Any:
    if (corpus_iterable is None) == (corpus_file is None):
        raise InputError(f"{verb} needs one of corpus_iterable (sentences) or corpus_file")
    return corpus_file if corpus_file is not None else corpus_iterable


# gensim arguments that have another way here: what to write instead
_INSTEAD = {
    "callbacks": "pass one function as model.fit(corpus, callback=fn) (called with the epoch, "
                 "words and loss)",
    "trim_rule": "the constructor's min_count and max_vocab choose the words",
}


def _refuse(kwargs: dict, verb: str) -> None:
    for name in sorted(kwargs):
        if name in _INSTEAD:
            raise InputError(f"{verb} does not take {name}; {_INSTEAD[name]}")
    if kwargs:
        raise InputError(f"{verb} does not take {', '.join(sorted(kwargs))} here; the other "
                         "settings are the constructor's (Word2Vec(min_count=..., ...))")


class GensimTraining:
    """``build_vocab`` and ``train`` with gensim's arguments."""

    @property
    def corpus_count(self) -> int:
        """Sentences counted by :meth:`build_vocab` (gensim's name), 0 before."""
        return getattr(self, "_corpus_count", 0)

    @property
    def corpus_total_words(self) -> int:
        """Words counted by :meth:`build_vocab` (gensim's name), 0 before."""
        return getattr(self, "_corpus_total_words", 0)

    def build_vocab(self, corpus_iterable: Any = None, corpus_file: Any = None,
                    update: bool = False, progress_per: int | None = None, **kwargs: Any) -> None:
        """gensim's first step: counts the corpus's sentences and words
        (:attr:`corpus_count`, :attr:`corpus_total_words`); the vocabulary itself is built by
        :meth:`train` (``fit``), with the constructor's ``min_count`` and ``max_vocab``.

        Raises:
            InputError: both or neither corpus, a one-shot iterator (``train`` reads the
                corpus again), ``update=True`` (growing a trained vocabulary is not supported:
                train on all the text), or arguments of gensim's it does not take.
            MissingFileError: no such corpus file.
        """
        _refuse(kwargs, "build_vocab")
        if update:
            raise InputError("build_vocab(update=True) (growing a trained vocabulary) is not "
                             "supported; train again on all the text")
        from dlcourse.embeddings.corpus import Corpus

        sentences = words = 0
        for sentence in Corpus(_corpus(corpus_iterable, corpus_file, "build_vocab")):
            sentences += 1
            words += len(sentence)
        self._corpus_count, self._corpus_total_words = sentences, words

    def train(self, corpus_iterable: Any = None, corpus_file: Any = None,
              total_examples: int | None = None, total_words: int | None = None,
              epochs: int | None = None, start_alpha: float | None = None,
              end_alpha: float | None = None, compute_loss: bool = False,
              **kwargs: Any) -> tuple[int, int]:
        """gensim's second step: ``fit`` on the corpus with ``epochs``, ``start_alpha`` and
        ``end_alpha`` when given (they become ``epochs``, ``alpha`` and ``min_alpha``).
        ``total_examples``/``total_words`` are not needed (the corpus is read to its end); the
        loss is always measured (``history_``), ``compute_loss`` only decides what
        :meth:`get_latest_training_loss` gives.

        On a trained (or loaded) model ``train`` continues from its vectors and output vectors,
        as gensim's does, with the learning rate falling from ``alpha`` to ``min_alpha`` again
        over this call's epochs. That needs the vocabulary this corpus gives (with the
        constructor's ``min_count`` and ``max_vocab``) to be the trained one, the same words in
        the same order; otherwise (or with another ``vector_size``) it starts from new random
        vectors and warns so: gensim grows the vocabulary with ``build_vocab(update=True)``,
        which is not supported here.

        Returns:
            gensim's ``(trained_word_count, raw_word_count)`` over every epoch of this call:
            the corpus's words in the vocabulary (unknown words and those under ``min_count``
            dropped) times the epochs, and all its words times the epochs. gensim's first
            number also drops the words subsampling (``sample``) skipped; the count of those
            is not kept here, so with ``sample > 0`` the first number is larger than gensim's
            (the same with ``sample=0``).

        Raises:
            InputError: both or neither corpus, or arguments of gensim's it does not take
                (``callbacks``: pass one function as ``fit(corpus, callback=fn)``).
        """
        _refuse(kwargs, "train")
        corpus = _corpus(corpus_iterable, corpus_file, "train")
        settings = {name: value for name, value in (("epochs", epochs), ("alpha", start_alpha),
                                                    ("min_alpha", end_alpha))
                    if value is not None}
        start = ((self.wv_.index_to_key, self.wv_.vectors, self.syn1neg_) if self.is_fitted
                 else None)
        self.set_params(**settings)._fit(corpus, start=start)
        if self._restart_reason is not None:  # known only once the corpus gave its vocabulary
            warnings.warn(f"{type(self).__name__}.train restarted from new random vectors "
                          f"because {self._restart_reason}; gensim would continue from the "
                          "trained ones (growing the vocabulary, build_vocab(update=True), is "
                          "not supported here)", UserWarning, stacklevel=2)
        self._compute_loss = compute_loss  # set after fit: a train that fails keeps the last
        epochs_run = len(self.history_)
        return (int(self.counts_.sum()) * epochs_run,
                sum(int(epoch["words"]) for epoch in self.history_))

    def get_latest_training_loss(self) -> float:
        """0.0, as in gensim, unless the last :meth:`train` had ``compute_loss=True``; then
        the last epoch's mean loss per prediction (``history_[-1]["loss"]``).

        gensim gives the loss summed over every prediction of the call instead, which the
        trainers do not keep (only each epoch's mean, in ``history_``): compare its trend
        between calls, not its value with gensim's.
        """
        if not getattr(self, "_compute_loss", False) or not getattr(self, "history_", None):
            return 0.0
        return float(self.history_[-1]["loss"])
