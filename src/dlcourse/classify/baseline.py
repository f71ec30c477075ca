"""Bag-of-words logistic regression: the linear baseline every recurrent model is compared with."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from dlcourse.classify.encoding import class_array, class_indices, label_list, text_list
from dlcourse.classify.metrics import classification_metrics
from dlcourse.engine.config import Config, param
from dlcourse.engine.estimator import Estimator
from dlcourse.errors import InputError


@dataclass
class BowConfig(Config):
    """The settings of :class:`BowLogisticRegression`."""

    ngrams: int = param(2, "Longest n-gram used (1: words only, 2: words and word pairs).",
                        min=1)
    min_freq: int = param(1, "N-grams seen fewer times in training are dropped.", min=1)
    C: float = param(1.0, "Inverse regularisation strength.", min=0.0, exclusive_min=True)
    tokenizer: str = param("basic_english", "A dlcourse.text.get_tokenizer name.")
    max_iter: int = param(200, "L-BFGS iterations.", min=1)


class BowLogisticRegression(Estimator):
    """Logistic regression on binary bag-of-n-grams features, fitted by L-BFGS in torch.

    The objective is scikit-learn's: ``0.5 * ||w||^2 + C * sum(log-loss)`` (bias not
    penalised), with a softmax over classes (for two classes: one weight vector, sigmoid).
    Every field of :class:`BowConfig` is a constructor argument and an attribute; learned
    attributes: ``tokenizer_``, ``vocab_`` (the n-grams), ``classes_`` (the sorted labels, a
    numpy array), ``weight_`` (F, K) and ``bias_`` (K,); ``save``/``load`` as every lesson's
    estimator, ``score`` (accuracy) for scikit-learn's model selection as ``TextClassifier``.

    Example:
        >>> bow = BowLogisticRegression().fit(["good fun", "dull mess"], ["pos", "neg"])
        >>> bow.predict(["good"])
        ['pos']
    """

    config_class = BowConfig
    lesson = "classify"
    framework = "torch"
    fitted_attribute = "weight_"
    estimator_type = "classifier"

    def _grams(self, texts: Sequence[str]) -> list[list[str]]:
        out = []
        for tokens in self.tokenizer_.batch(list(texts)):
            grams = list(tokens)
            for n in range(2, self.ngrams + 1):
                grams += [" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
            out.append(grams)
        return out

    def _features(self, texts: Sequence[str]) -> torch.Tensor:
        """Sparse binary (N, F) matrix: 1 where the text holds the n-gram."""
        stoi = self.vocab_.stoi
        rows, cols = [], []
        for r, grams in enumerate(self._grams(texts)):
            ids = {stoi[g] for g in grams if g in stoi}
            rows += [r] * len(ids)
            cols += sorted(ids)
        index = torch.tensor([rows, cols], dtype=torch.long).reshape(2, -1)
        return torch.sparse_coo_tensor(index, torch.ones(index.shape[1]),
                                       (len(texts), len(self.vocab_.itos)),
                                       check_invariants=False).coalesce()

    def fit(self, texts: Sequence[str], labels: Sequence, *,
            out_dir: str | os.PathLike | None = None, resume: bool = False
            ) -> BowLogisticRegression:
        """Learn the n-gram vocabulary and the weights; returns self. With ``out_dir`` the
        model is saved there at the end, as every lesson's ``fit`` does (``resume`` is
        refused: one L-BFGS run writes no checkpoint).

        Args:
            texts: the training texts, a list of strings.
            labels: one label per text (strings or numbers), at least two classes.
            out_dir: optional directory the fitted model is saved to (as :meth:`save`).
            resume: must stay False: True raises InputError.

        Raises:
            ConfigError: a setting out of range (named).
            InputError: a text that is not a string, not one label per text, no texts, a
                single class, no n-gram seen ``min_freq`` times, or ``resume=True``.
        """
        from dlcourse.text import LabelEncoder, Vocab, get_tokenizer

        self._one_step_fit(out_dir, resume)
        texts = text_list(texts)
        labels = label_list(labels, len(texts))
        if not texts:
            raise InputError("no training texts; pass at least one text per class")
        self.tokenizer_ = get_tokenizer(self.tokenizer)
        enc = LabelEncoder().fit(labels)
        self.classes_ = class_array(enc.classes_)
        if len(self.classes_) < 2:
            raise InputError("the labels hold one class; a classifier needs at least two")
        self.vocab_ = Vocab.build(self._grams(texts), min_freq=self.min_freq, specials=(),
                                  unk_token=None, pad_token=None)
        if not self.vocab_.itos:  # no feature: the bias alone, a constant prediction
            raise InputError(f"no word or word pair is seen min_freq={self.min_freq} times in "
                             f"the {len(texts)} training texts (empty, or only what the "
                             f"{self.tokenizer} tokenizer drops); give texts with words or "
                             "lower min_freq")
        x = self._features(texts)  # (N, F) sparse
        y = torch.tensor(enc.transform(labels))  # (N,)
        n_out = 1 if len(self.classes_) == 2 else len(self.classes_)
        self.weight_ = torch.zeros(x.shape[1], n_out, requires_grad=True)  # (F, K)
        self.bias_ = torch.zeros(n_out, requires_grad=True)  # (K,)
        opt = torch.optim.LBFGS([self.weight_, self.bias_], max_iter=self.max_iter,
                                line_search_fn="strong_wolfe")
        penalty = 1.0 / (2.0 * self.C * len(y))  # sklearn's objective divided by C * N

        def closure():
            opt.zero_grad()
            logits = torch.sparse.mm(x, self.weight_) + self.bias_  # (N, K)
            if n_out == 1:
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    logits[:, 0], y.float())
            else:
                loss = torch.nn.functional.cross_entropy(logits, y)
            loss = loss + penalty * (self.weight_ ** 2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        self.weight_ = self.weight_.detach()
        self.bias_ = self.bias_.detach()
        if out_dir is not None:
            self._save_run(out_dir)
        return self

    def predict_proba(self, texts: Sequence[str] | str) -> np.ndarray:
        """(N, C) class probabilities, columns in ``classes_`` order (one text may be given as
        a string, as for ``TextClassifier``).

        Args:
            texts: the texts (a list, tuple, array or Series of strings), or one string.

        Raises:
            NotFittedError: before ``fit`` or ``load``.
        """
        self.check_is_fitted()
        texts = [texts] if isinstance(texts, str) else text_list(texts)  # one text: one row
        logits = torch.sparse.mm(self._features(texts), self.weight_) + self.bias_  # (N, K)
        if logits.shape[1] == 1:
            p = torch.sigmoid(logits[:, 0])
            return torch.stack([1 - p, p], dim=1).numpy()
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, texts: Sequence[str] | str) -> list:
        """The most probable class of each text, a list of plain values (no numpy scalars).

        Args: see :meth:`predict_proba`.
        """
        proba = self.predict_proba(texts)  # first: unfitted, it says so
        return self.classes_[proba.argmax(1)].tolist()

    def score(self, texts: Sequence[str], labels: Sequence) -> float:
        """Accuracy on a labelled set, as ``TextClassifier.score``: ``GridSearchCV`` and
        ``cross_val_score`` rank settings by it (on stratified folds).

        Args: see :meth:`evaluate`.

        Raises:
            NotFittedError: before ``fit`` or ``load``.
            InputError: as :meth:`evaluate`.
        """
        return self.evaluate(texts, labels)["accuracy"]

    def evaluate(self, texts: Sequence[str], labels: Sequence) -> dict:
        """The same metrics as ``TextClassifier.evaluate`` (without the loss).

        Args:
            texts: the texts, a list of strings (at least one).
            labels: one label per text, each one of ``classes_``.

        Raises:
            NotFittedError: before ``fit`` or ``load``.
            InputError: a label the model was not trained on; no texts.
        """
        self.check_is_fitted()
        texts = text_list(texts)
        y = class_indices(label_list(labels, len(texts)), self.classes_)
        if not len(y):  # an accuracy of no texts would be a made-up number, as in TextClassifier
            raise InputError("evaluate needs at least one labelled text, got none")
        proba = self.predict_proba(texts)
        scores = proba[:, 1] if len(self.classes_) == 2 else None
        return classification_metrics(y, proba.argmax(1), self.classes_, scores)

    # ---- persistence (Estimator.save / Estimator.load) ---------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        arrays = {"weight": self.weight_.contiguous(), "bias": self.bias_.contiguous()}
        return arrays, {"grams": list(self.vocab_.itos), "classes": self.classes_.tolist()}

    def _set_state(self, arrays: dict[str, Any], values: dict[str, Any]) -> None:
        from dlcourse.text import Vocab, get_tokenizer

        self.tokenizer_ = get_tokenizer(self.config.tokenizer)
        self.vocab_ = Vocab(values["grams"], unk_token=None, pad_token=None)
        self.classes_ = class_array(values["classes"])
        self.weight_, self.bias_ = arrays["weight"].float(), arrays["bias"].float()
