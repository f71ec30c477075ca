"""gensim's two-step training on :class:`~dlcourse.embeddings.word2vec.Word2Vec`:
``model.build_vocab(sentences)`` then ``model.train(sentences,
total_examples=model.corpus_count, epochs=model.epochs)``, as gensim's tutorials write it.

:class:`GensimTraining` is a mixin over the estimator's ``set_params`` and ``fit``: ``train``
is one ``fit`` (the vocabulary is built there), so a second ``train`` trains again from the
start where gensim would continue.
"""

from __future__ import annotations

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
              end_alpha: float | None = None, compute_loss: bool = True, **kwargs: Any) -> None:
        """gensim's second step: ``fit`` on the corpus with ``epochs``, ``start_alpha`` and
        ``end_alpha`` when given (they become ``epochs``, ``alpha`` and ``min_alpha``).
        ``total_examples``/``total_words`` are not needed (the corpus is read to its end), the
        loss is always measured (``history_``).

        Raises:
            InputError: both or neither corpus, or arguments of gensim's it does not take
                (``callbacks``: pass one function as ``fit(corpus, callback=fn)``).
        """
        _refuse(kwargs, "train")
        corpus = _corpus(corpus_iterable, corpus_file, "train")
        settings = {name: value for name, value in (("epochs", epochs), ("alpha", start_alpha),
                                                    ("min_alpha", end_alpha))
                    if value is not None}
        self.set_params(**settings).fit(corpus)
