"""What word2vec and GloVe share as estimators: a table of word vectors as the fitted model."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from dlcourse.embeddings.config import ANALOGY_METHOD, RESTRICT_VOCAB
from dlcourse.embeddings.vectors import KeyedVectors
from dlcourse.engine.estimator import Estimator
from dlcourse.errors import InputError


class VectorEstimator(Estimator):
    """An estimator whose model is ``wv_``, a :class:`KeyedVectors` (trained without torch)."""

    lesson = "embed"
    framework = "numpy"
    fitted_attribute = "wv_"

    @property
    def wv(self) -> KeyedVectors:
        """The trained vectors (gensim's name for :attr:`wv_`).

        Raises:
            NotFittedError: before ``fit`` or ``load``.
        """
        self.check_is_fitted()
        return self.wv_

    def evaluate(self, data: str | os.PathLike | Sequence[str | os.PathLike] | None = None, *,
                 restrict_vocab: int | None = RESTRICT_VOCAB, method: str = ANALOGY_METHOD,
                 encoding: str = "utf-8") -> dict[str, dict[str, Any]]:
        """Word-similarity and analogy scores of the vectors, as ``dlcourse embed evaluate``.

        Args:
            data: a registered set (``wordsim353``, ``questions-words``) or a file
                of word pairs or of analogies, or a list of them; default WordSim-353 and
                Google's analogies.
            restrict_vocab: only the first N (most frequent) words count; pairs and questions
                with other words are skipped.
            method: ``3cosadd`` or ``3cosmul`` for the analogies.
            encoding: of the files.

        Returns:
            ``{data: scores}`` in plain values: a similarity set's ``spearman``, ``pearson``,
            ``pairs`` and ``oov``; an analogy set's ``accuracy``, ``total``, ``skipped`` and
            ``sections`` (see :func:`~dlcourse.embeddings.evaluate_similarity` and
            :func:`~dlcourse.embeddings.evaluate_analogies`).

        Raises:
            NotFittedError: before ``fit`` or ``load``.
            DlcourseError: an unknown data set, or a file of neither kind.
        """
        from dlcourse.embeddings.evaluate import eval_set, evaluate_analogies, evaluate_similarity

        kv = self.wv
        if data is None:
            names = ["wordsim353", "questions-words"]
        elif isinstance(data, str | os.PathLike):
            names = [str(data)]
        elif hasattr(data, "__iter__"):
            names = [str(d) for d in data]
            if not names:  # it ran the default sets
                raise InputError("data is an empty list; name a set or a file, or leave data "
                                 "out for WordSim-353 and Google's analogies")
        else:
            raise InputError(f"data must be a set's name, a file or a list of them, got "
                             f"{type(data).__name__} {data!r}")
        # every set checked before any work
        sets = [eval_set(name, encoding, "data") for name in names]
        scores = {}
        for name, (path, kind) in zip(names, sets, strict=True):
            if kind == "similarity":
                scores[name] = evaluate_similarity(kv, path, restrict_vocab=restrict_vocab,
                                                   encoding=encoding)
            else:
                scores[name] = evaluate_analogies(kv, path, restrict_vocab=restrict_vocab,
                                                  method=method, encoding=encoding)
        return scores


def check_callback(callback: Any) -> None:
    """Refuse a ``callback`` that cannot be called before any work (it failed in the training
    loop, after the vocabulary)."""
    if callback is not None and not callable(callback):
        raise InputError(f"callback must be a function of one dict (epoch, words, words_per_s, "
                         f"loss), got {type(callback).__name__} {callback!r}")


@contextmanager
def with_progress(callback: Callable[[dict], None] | None, show: bool, desc: str, unit: str
                  ) -> Iterator[Callable[[dict], None] | None]:
    """``callback`` (checked), behind a progress bar when ``show``, counting ``unit``s: words
    (word2vec's reports say the words so far this epoch) or epochs (GloVe's), closed however
    the fit ends."""
    check_callback(callback)
    if not show:
        yield callback
        return
    from dlcourse.engine.progress import progress

    bar = progress(None, desc=desc, unit=unit)
    last = {"epoch": 0, "words": 0}

    def report(info: dict) -> None:
        if unit == "word":  # words so far this epoch: the bar counts every epoch's
            same_epoch = info["epoch"] == last["epoch"]
            bar.update(info["words"] - (last["words"] if same_epoch else 0))
            last.update(epoch=info["epoch"], words=info["words"])
            bar.set_postfix(epoch=info["epoch"], loss=f"{info['loss']:.4f}",
                            words_s=f"{info['words_per_s']:.0f}")
        else:
            bar.update(1)
            bar.set_postfix(loss=f"{info['loss']:.4f}")
        if callback is not None:
            callback(info)

    try:
        yield report
    finally:
        bar.close()
