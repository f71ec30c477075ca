"""TextClassifier: the estimator on the outside (fit/predict/evaluate/save/load) of the lesson.

The training run itself lives in :mod:`dlcourse.classify.fitting`, the text encoding in
:mod:`dlcourse.classify.encoding`, the word vectors in :mod:`dlcourse.classify.pretrained`;
this class holds the config, builds the vocabulary and the network and keeps what was learned.

Under torchrun (a process group joined with ``dlcourse.engine.distributed.init_distributed``; the
CLI does) ``fit`` trains data-parallel: ``batch_size`` is the global batch. Every rank builds the
same length-bucketed batches (same seed and epoch) and takes every N-th item of each
(:class:`~dlcourse.engine.distributed.RankBatchSampler`), the model is wrapped in
DistributedDataParallel, and the validation logits of all ranks are gathered, so every rank
computes the same metrics and stops at the same epoch. Only rank 0 writes checkpoints and
``model.safetensors``; a run written by N processes resumes with any number.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dlcourse.classify.bert import load_bert_weights
from dlcourse.classify.build import bert_parts, word_vector_model
from dlcourse.classify.config import (
    DEFAULT_AUGMENT,
    PREDICTION_BATCH,
    ClassifierConfig,
    architecture,
)
from dlcourse.classify.distill import check_teacher, distillation_set
from dlcourse.classify.encoding import (
    bracket_ids,
    class_array,
    class_indices,
    encode,
    label_list,
    logits_of,
    note_rare_classes,
    text_list,
    token_ids,
    token_limit,
    training_fingerprint,
)
from dlcourse.classify.fitting import train_classifier
from dlcourse.classify.metrics import classification_metrics
from dlcourse.classify.models import (
    build_classifier,
    classification_loss,
    config_from_dict,
    logits_to_proba,
)
from dlcourse.classify.no_words import SPECIALS, no_words_error
from dlcourse.classify.pretrained import check_pretrained
from dlcourse.engine.distributed import (
    active_ranks,
    check_global_batch,
    is_main_process,
    rank_device,
)
from dlcourse.engine.estimator import Estimator, load_module_arrays, module_arrays
from dlcourse.engine.fitting import load_resume_state
from dlcourse.engine.loop import unwrap
from dlcourse.engine.persist import check_resume_epochs
from dlcourse.engine.seed import seed_everything
from dlcourse.errors import InputError


class TextClassifier(Estimator):
    """Text classifier: tokenizer + vocabulary + a CNN, Transformer or RNN + its training.

    Every field of :class:`~dlcourse.classify.config.ClassifierConfig` is a constructor
    argument and an attribute (``clf.lr``); ``TextClassifier(config)`` takes a whole config.
    The defaults: Kim's CNN on GloVe 6B 50d beside minilm-words vectors (fine-tuned), word
    dropout, adversarial training and a moving average of the weights (see the config for
    every setting; ``pretrained="word2vec"`` trains vectors on the training texts instead).

    Learned attributes (after ``fit`` or ``load``): ``tokenizer_``, ``vocab_``, ``classes_``
    (the sorted labels, a numpy array as in scikit-learn), ``model_`` (an ``nn.Module``),
    ``model_config_`` (its module config), ``device_``, ``history_`` (per-epoch dicts),
    ``best_epoch_``, ``coverage_`` (the pretrained vectors' coverage, or None) and
    ``fit_seconds_`` (the last ``fit``'s training time; None in files of dlcourse 0.2 and
    before).

    Example:
        >>> clf = TextClassifier("cnn", pretrained="glove-6b-50d")  # doctest: +SKIP
        >>> clf.fit(texts, labels, valid=(v_texts, v_labels))  # doctest: +SKIP
        >>> clf.predict(["a fine film"])  # doctest: +SKIP
    """

    config_class = ClassifierConfig
    lesson = "classify"
    framework = "torch"
    fitted_attribute = "model_"
    positional = ("model",)
    estimator_type = "classifier"

    # ------------------------------------------------------------------ training
    def fit(self, texts: Sequence[str], labels: Sequence, valid=None, *,
            out_dir: str | Path | None = None, resume: bool = False) -> TextClassifier:
        """Train on ``texts``/``labels``; ``valid=(texts, labels)`` enables early stopping.

        Args:
            texts: the training texts.
            labels: one label per text (any hashable: "pos"/"neg", 0/1, ...), >= 2 classes.
            valid: optional ``(texts, labels)`` to monitor; the best epoch's weights are kept.
            out_dir: optional directory for the engine's per-epoch ``last.pt``/``best.pt`` and
                ``history.json``, and at the end the model file (:meth:`save`; ``load(out_dir)``
                reads it), as every lesson's ``fit`` does.
            resume: continue an interrupted run from ``out_dir/last.pt`` (same data and
                settings; more ``epochs`` are allowed); the result equals an uninterrupted run,
                bit for bit on a CPU.

        Returns:
            self.

        Raises:
            ConfigError: a setting out of range (named).
            DlcourseError: texts and labels of different lengths, fewer than two classes,
                labels mixing numbers and strings, training texts without a word (or none
                seen ``min_freq`` times), unknown pretrained vectors, nothing (or another run)
                to resume.
            TrainingInterrupted: Ctrl-C, after the checkpoint is written.
        """
        from dlcourse.text import LabelEncoder, Vocab, get_tokenizer

        config = self.validated_config(out_dir, resume)
        check_global_batch(config.batch_size, active_ranks()[1])
        bert = architecture(config.model) == "bert"
        if not bert:  # minilm's check() already refused word vectors
            check_pretrained(config.pretrained)
        texts = text_list(texts)
        labels = label_list(labels, len(texts))
        if valid is not None:  # checked now, not after the first epoch
            if not isinstance(valid, tuple | list) or len(valid) != 2:
                raise InputError("valid must be a pair (texts, labels)")
            valid_texts = text_list(valid[0], "valid texts")
            if not valid_texts:  # it was taken, and every epoch measured nothing
                raise InputError("valid holds no texts; pass a validation pair with texts, or "
                                 "valid=None")
            valid = (valid_texts, label_list(valid[1], len(valid_texts)))
        if not texts:
            raise InputError("no training texts; pass a non-empty training set")
        classes = LabelEncoder().fit(labels).classes_
        if len(classes) < 2:
            raise InputError(f"only one class ({classes[0]!r}) in the training labels; "
                             "a classifier needs at least two")
        if is_main_process():  # one warning, not one per torchrun process
            note_rare_classes(labels)
        valid_y = None
        if valid is not None:  # before the vocabulary and the vectors, not after them
            valid_y = class_indices(valid[1], classes, "valid",
                                    "give those labels training texts too, or drop their "
                                    "validation rows")
        if config.teacher is not None:  # before any work: a header read
            check_teacher(config.teacher, classes)
        if resume:  # other settings or texts are refused before minutes of labelling or vectors
            state = load_resume_state(None if out_dir is None else Path(out_dir),
                                      {"lesson": self.lesson, "before": config.before,
                                       "config": {**config.resume_values(),
                                                  "classes": list(classes), "training_texts":
                                                  training_fingerprint(texts, labels)}})
            check_resume_epochs((state.get("config") or {}).get("epochs"), config, out_dir)
        seed_everything(config.seed)  # every rank alike: the same initial weights and batches
        device = rank_device(config.device)
        if bert:
            tokenizer, module_config, weights = bert_parts(config, len(classes))
            vocab = tokenizer.to_vocab()  # the model's own: nothing is built from the texts
            token_lists = tokenizer.batch(texts)
        else:
            tokenizer = get_tokenizer(config.tokenizer)
            token_lists = tokenizer.batch(texts)
            vocab = Vocab.build(token_lists, max_size=config.max_vocab, min_freq=config.min_freq,
                                specials=SPECIALS)
        # a vocabulary of the specials alone reads every text as <unk>: a constant prediction
        if not (any(token_lists) if bert else len(vocab.itos) > len(SPECIALS)):
            raise no_words_error(token_lists, config)
        limit, brackets = token_limit(config), bracket_ids(config, vocab)
        ids = [token_ids(tokens, vocab, limit, brackets) for tokens in token_lists]
        y = class_indices(labels, classes)
        soft = None
        if config.teacher is not None:  # the ranks share the labelling, all get the answers
            copies, soft, y = distillation_set(
                config.teacher, texts, y, classes, seed=config.seed, device=config.device,
                progress=config.progress,
                copies=DEFAULT_AUGMENT if config.augment is None else config.augment,
                keep_in=out_dir, write=is_main_process())
            ids += encode(copies, tokenizer, vocab, limit, brackets)
            # asking the teacher draws from torch's generator, reading its saved answers does
            # not: the student starts from the same weights either way
            seed_everything(config.seed)

        coverage = None
        if bert:
            model = build_classifier(module_config)
            if weights is not None:
                load_bert_weights(model, weights)
        else:
            model, module_config, vocab, coverage = word_vector_model(
                config, token_lists, vocab, len(classes))
        model.to(device)

        valid_pair = None
        if valid is not None:
            valid_pair = (encode(valid[0], tokenizer, vocab, limit, brackets), valid_y)
        # a resumed run must continue the same settings on the same texts
        extra = {"lesson": self.lesson,
                 "config": {**config.resume_values(), "classes": list(classes),
                            "training_texts": training_fingerprint(texts, labels)},
                 "before": config.before}
        if soft is not None:  # the same teacher's answers, not just its folder's name
            extra["config"]["teacher_targets"] = hashlib.sha256(soft.tobytes()).hexdigest()[:16]
        start = time.perf_counter()
        history, best_epoch = train_classifier(
            model, ids, y, config, device, classes=classes, pad_id=vocab.pad_id,
            unk_id=vocab.unk_id, valid=valid_pair, out_dir=out_dir, resume=resume,
            checkpoint_extra=extra, soft=soft)
        self.fit_seconds_ = time.perf_counter() - start
        self.tokenizer_, self.vocab_, self.classes_ = tokenizer, vocab, class_array(classes)
        self.coverage_, self.model_config_, self.device_ = coverage, module_config, device
        self.history_, self.best_epoch_ = history, best_epoch
        self.model_ = model.eval()
        if out_dir is not None:
            self._save_run(out_dir)  # rank 0 only
        return self

    # ------------------------------------------------------------------ use
    def _logits(self, texts: Sequence[str], batch_size: int) -> torch.Tensor:
        ids = encode(texts, self.tokenizer_, self.vocab_, token_limit(self.config),
                     bracket_ids(self.config, self.vocab_))
        return logits_of(self.model_, ids, pad_id=self.vocab_.pad_id,
                         num_classes=len(self.classes_), device=self.device_,
                         batch_size=batch_size)

    def predict_proba(self, texts: Sequence[str] | str,
                      batch_size: int = PREDICTION_BATCH) -> np.ndarray:
        """Class probabilities, ``(len(texts), len(classes_))`` float32, columns in
        ``classes_`` order (one text may be given as a string).

        Args:
            texts: the texts (a list, tuple, array or Series of strings), or one string.
            batch_size: texts scored per forward pass, an int >= 1.

        Raises:
            NotFittedError: before ``fit`` or ``load``.
        """
        self.check_is_fitted()
        if isinstance(texts, str):
            texts = [texts]
        texts = text_list(texts)
        return logits_to_proba(self._logits(texts, batch_size)).numpy()

    def predict(self, texts: Sequence[str] | str, batch_size: int = PREDICTION_BATCH) -> list:
        """The most probable class label of each text, a list of plain values (``str``,
        ``int``, ``float``, ``bool``; no numpy scalars).

        Args: see :meth:`predict_proba`.

        Raises:
            NotFittedError: before ``fit`` or ``load``.
        """
        proba = self.predict_proba(texts, batch_size)
        return self.classes_[proba.argmax(1)].tolist()

    def unknown_texts(self, texts: Sequence[str]) -> list[int]:
        """Positions of the texts in which the model knows no word (empty ones too): it reads
        only ``<unk>`` there, so their label says next to nothing about the text.

        Args:
            texts: the texts, a list of strings (one bare string is refused).

        Raises:
            NotFittedError: before ``fit`` or ``load``.
        """
        self.check_is_fitted()
        brackets = bracket_ids(self.config, self.vocab_)
        ids = encode(text_list(texts), self.tokenizer_, self.vocab_, token_limit(self.config),
                     brackets)
        inner = slice(1, -1) if brackets is not None else slice(None)  # not [CLS], [SEP]
        return [i for i, x in enumerate(ids) if all(t == self.vocab_.unk_id for t in x[inner])]

    def score(self, texts: Sequence[str], labels: Sequence,
              batch_size: int = PREDICTION_BATCH) -> float:
        """Accuracy on a labelled set, as scikit-learn's classifiers score: ``GridSearchCV``
        and ``cross_val_score`` rank settings by it (on stratified folds).

        Args: see :meth:`evaluate`.

        Raises:
            NotFittedError: before ``fit`` or ``load``.
            DlcourseError: as :meth:`evaluate`.
        """
        return self.evaluate(texts, labels, batch_size)["accuracy"]

    def evaluate(self, texts: Sequence[str], labels: Sequence,
                 batch_size: int = PREDICTION_BATCH) -> dict:
        """Accuracy, per-class and macro precision/recall/F1, confusion matrix, ROC-AUC (two
        classes) and mean loss on a labelled set (see
        :func:`~dlcourse.classify.metrics.classification_metrics`).

        Args:
            texts: the texts, a list of strings (at least one).
            labels: one label per text, each one of ``classes_``.
            batch_size: as for :meth:`predict_proba`.

        Raises:
            NotFittedError: before ``fit`` or ``load``.
            DlcourseError: a label the model was not trained on; no texts (an InputError).
        """
        self.check_is_fitted()
        texts = text_list(texts)
        y = class_indices(label_list(labels, len(texts)), self.classes_)
        if not len(y):  # an accuracy of no texts would be a made-up number
            raise InputError("evaluate needs at least one labelled text, got none")
        logits = self._logits(texts, batch_size)
        proba = logits_to_proba(logits).numpy()
        scores = proba[:, 1] if len(self.classes_) == 2 else None
        metrics = classification_metrics(y, proba.argmax(1), self.classes_, scores)
        metrics["loss"] = classification_loss(logits, torch.from_numpy(y)).item()
        return metrics

    # ---- persistence (Estimator.save / Estimator.load) ---------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        values = {"architecture": architecture(self.config.model),
                  "model_config": self.model_config_.to_dict(),
                  "tokenizer": self.tokenizer_.config, "vocab": list(self.vocab_.itos),
                  "unk_token": self.vocab_.unk_token, "pad_token": self.vocab_.pad_token,
                  "classes": self.classes_.tolist(), "coverage": self.coverage_,
                  "history": self.history_, "best_epoch": self.best_epoch_,
                  "fit_seconds": self.fit_seconds_}
        return module_arrays(unwrap(self.model_)), values

    def _set_state(self, arrays: dict[str, Any], values: dict[str, Any]) -> None:
        from dlcourse.text import Vocab, tokenizer_from_config

        self.device_ = rank_device(self.config.device)
        self.tokenizer_ = tokenizer_from_config(values["tokenizer"])
        self.vocab_ = Vocab(values["vocab"], unk_token=values["unk_token"],
                            pad_token=values["pad_token"])
        self.classes_ = class_array(values["classes"])
        self.coverage_ = values.get("coverage")
        self.history_ = list(values.get("history") or [])
        self.best_epoch_ = values.get("best_epoch", len(self.history_))
        self.fit_seconds_ = values.get("fit_seconds")
        # JSON made the tuples (kernel sizes) lists
        settings = {k: tuple(v) if isinstance(v, list) else v
                    for k, v in values["model_config"].items()}
        self.model_config_ = config_from_dict(values["architecture"], settings)
        model = build_classifier(self.model_config_)
        load_module_arrays(model, arrays, where=f"the {self.config.model} classifier file")
        self.model_ = model.to(self.device_).eval()
