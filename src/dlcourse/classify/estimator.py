"""TextClassifier: the estimator on the outside (fit/predict/evaluate/save/load) of the lesson.

Under torchrun (a process group joined with ``dlcourse.engine.distributed.init_distributed``; the
CLI does) ``fit`` trains data-parallel: ``batch_size`` is the global batch. Every rank builds the
same length-bucketed batches (same seed and epoch) and takes every N-th item of each
(:class:`RankBatchSampler`), the model is wrapped in DistributedDataParallel, and the validation
logits of all ranks are gathered, so every rank computes the same metrics and stops at the same
epoch. Only rank 0 writes checkpoints and ``model.pt``; a run written by N processes resumes with
any number.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from dlcourse.classify.metrics import classification_metrics
from dlcourse.classify.models import (
    CELLS,
    ClassifierConfig,
    RNNClassifier,
    classification_loss,
    logits_to_proba,
)
from dlcourse.classify.pretrained import embedding_matrix, load_vectors
from dlcourse.engine import fit as engine_fit
from dlcourse.engine import load_checkpoint, resolve_device, save_checkpoint, seed_everything
from dlcourse.engine.distributed import (
    active_ranks,
    gather_shards,
    is_distributed,
    is_main_process,
    local_rank,
    wrap_model,
)
from dlcourse.errors import DlcourseError

log = logging.getLogger(__name__)

MONITORS = {"accuracy": ("valid_acc", "max"), "f1": ("valid_f1", "max"),
            "loss": ("valid_loss", "min")}
CLASS_WEIGHTS = (None, "balanced")
MODEL_FILE = "model.pt"


class TextClassifier:
    """Recurrent text classifier: tokenizer + vocabulary + :class:`RNNClassifier` + its training.

    ``__init__`` only stores the settings; :meth:`fit` learns ``tokenizer_``, ``vocab_``,
    ``classes_``, ``model_``, ``history_`` and (with ``pretrained``) ``coverage_``.

    Args:
        model: recurrent cell, "rnn", "gru" or "lstm".
        embed_dim: embedding size (taken from the vectors when ``pretrained`` is given).
        hidden_size, num_layers, bidirectional, dropout: the recurrent stack.
        pooling: "last" (final hidden state), "mean" or "max" over time.
        tokenizer: a name for ``dlcourse.text.get_tokenizer`` ("basic_english", "wordpiece", ...)
            or a tokenizer object with ``config``.
        max_vocab, min_freq: vocabulary limits (built from the training texts).
        max_len: texts are cut to this many tokens (None: no limit).
        pretrained: None, "glove-6b-50d", a GloVe/word2vec text file, or a KeyedVectors object.
        freeze: keep the pretrained embedding fixed (False: fine-tune it).
        pretrained_vocab: also put the first (most frequent) N words of the pretrained vectors
            in the vocabulary, so words the training texts lack still get their vector.
        epochs, batch_size, lr, weight_decay, grad_clip: training (Adam); under torchrun
            ``batch_size`` is the global batch, split over the processes.
        patience: early stopping on ``monitor`` ("accuracy", "f1" (macro) or "loss") of the
            validation set; the best epoch's weights are kept. Needs ``valid`` in :meth:`fit`.
        class_weight: None or "balanced" (weights inverse to the class counts).
        seed: same seed and data, same weights (on the CPU).
        device: "auto", "cpu", "cuda", ... (prediction runs in batches on it too).
        progress: show a progress bar per epoch (the CLI turns it on).

    Example:
        >>> clf = TextClassifier("gru", embed_dim=16, hidden_size=16, epochs=2)  # doctest: +SKIP
        >>> clf.fit(texts, labels, valid=(v_texts, v_labels))  # doctest: +SKIP
        >>> clf.predict(["a fine film"])  # doctest: +SKIP
    """

    def __init__(
        self,
        model: str = "lstm",
        *,
        embed_dim: int = 100,
        hidden_size: int = 128,
        num_layers: int = 2,
        bidirectional: bool = True,
        dropout: float = 0.3,
        pooling: str = "max",
        tokenizer="basic_english",
        max_vocab: int | None = 30000,
        min_freq: int = 1,
        max_len: int | None = 400,
        pretrained=None,
        freeze: bool = False,
        pretrained_vocab: int = 0,
        epochs: int = 10,
        batch_size: int = 64,
        lr: float = 2e-3,
        weight_decay: float = 0.0,
        grad_clip: float | None = 5.0,
        patience: int | None = 3,
        monitor: str = "accuracy",
        class_weight: str | None = None,
        seed: int = 0,
        device="auto",
        progress: bool = False,
    ):
        self.model = model
        self.embed_dim = embed_dim
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.pooling = pooling
        self.tokenizer = tokenizer
        self.max_vocab = max_vocab
        self.min_freq = min_freq
        self.max_len = max_len
        self.pretrained = pretrained
        self.freeze = freeze
        self.pretrained_vocab = pretrained_vocab
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.grad_clip = grad_clip
        self.patience = patience
        self.monitor = monitor
        self.class_weight = class_weight
        self.seed = seed
        self.device = device
        self.progress = progress

    # ------------------------------------------------------------------ settings
    def get_params(self) -> dict:
        """The constructor settings as plain values (a vector object becomes its type name)."""
        params = {k: getattr(self, k) for k in _PARAM_NAMES}
        if not (params["pretrained"] is None or isinstance(params["pretrained"], str | Path)):
            params["pretrained"] = type(params["pretrained"]).__name__
        elif isinstance(params["pretrained"], Path):
            params["pretrained"] = str(params["pretrained"])
        if not isinstance(params["tokenizer"], str):
            params["tokenizer"] = params["tokenizer"].config.get("name", "custom")
        params["device"] = str(params["device"])
        return params

    def _check_params(self) -> None:
        if self.model not in CELLS:
            raise ValueError(f"unknown model '{self.model}'; choose one of {', '.join(CELLS)}")
        if self.monitor not in MONITORS:
            raise ValueError(f"unknown monitor '{self.monitor}'; choose one of "
                             f"{', '.join(MONITORS)}")
        if self.class_weight not in CLASS_WEIGHTS:
            raise ValueError(f"unknown class_weight '{self.class_weight}'; choose None or balanced")
        for name in ("epochs", "batch_size", "min_freq"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")

    # ------------------------------------------------------------------ encoding
    def _encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids per text, cut to ``max_len``; an empty text becomes one ``<unk>``."""
        token_lists = self.tokenizer_.batch(list(texts))
        return [self._ids(tokens) for tokens in token_lists]

    def _ids(self, tokens: list[str]) -> list[int]:
        if self.max_len is not None:
            tokens = tokens[: self.max_len]
        ids = self.vocab_.lookup(tokens)
        return ids if ids else [self.vocab_.unk_id]

    def _batches(self, ids: list[list[int]], batch_size: int):
        """(positions, padded ids (B, T), lengths (B,)) in length order (less padding)."""
        from dlcourse.text import pad_sequences

        order = np.argsort([len(x) for x in ids], kind="stable")
        for start in range(0, len(order), batch_size):
            pos = order[start: start + batch_size]
            padded, lengths = pad_sequences([ids[i] for i in pos], self.vocab_.pad_id)
            yield pos, padded, lengths

    @torch.no_grad()
    def _logits(self, ids: list[list[int]], batch_size: int = 256) -> torch.Tensor:
        """Logits for encoded texts in input order: (N,) for two classes, (N, C) otherwise."""
        self.model_.eval()
        out: list[torch.Tensor] = [None] * len(ids)
        for pos, batch, lengths in self._batches(ids, batch_size):
            logits = self.model_(batch.to(self.device_), lengths.to(self.device_)).float().cpu()
            for row, i in enumerate(pos):
                out[i] = logits[row]
        if not out:
            shape = (0,) if len(self.classes_) == 2 else (0, len(self.classes_))
            return torch.zeros(shape)
        return torch.stack(out)

    def _targets(self, labels: Sequence) -> np.ndarray:
        index = {c: i for i, c in enumerate(self.classes_)}
        unknown = sorted({str(y) for y in labels if y not in index})
        if unknown:
            raise DlcourseError(
                f"labels {', '.join(unknown[:5])} were not seen in training (classes: "
                f"{', '.join(map(str, self.classes_))}); evaluate on data with the same classes"
            )
        return np.array([index[y] for y in labels], dtype=np.int64)

    # ------------------------------------------------------------------ training
    def fit(self, texts: Sequence[str], labels: Sequence, valid=None, out_dir=None,
            resume: bool = False):
        """Train on ``texts``/``labels``; ``valid=(texts, labels)`` enables early stopping.

        Args:
            texts: the training texts.
            labels: one label per text (any hashable: "pos"/"neg", 0/1, ...), >= 2 classes.
            valid: optional ``(texts, labels)`` to monitor; the best epoch's weights are kept.
            out_dir: optional directory for the engine's per-epoch ``last.pt``/``best.pt``.
            resume: continue an interrupted run from ``out_dir/last.pt`` (same data and
                settings); the result equals an uninterrupted run.

        Returns:
            self.
        """
        from torch.utils.data import DataLoader

        from dlcourse.text import BucketBatchSampler, LabelEncoder, PadCollate, Vocab, get_tokenizer

        self._check_params()
        texts, labels = list(texts), list(labels)
        if len(texts) != len(labels):
            raise DlcourseError(f"{len(texts)} texts but {len(labels)} labels; pass one label "
                                "per text")
        if not texts:
            raise DlcourseError("no training texts; pass a non-empty training set")
        labels = [_plain(y) for y in labels]
        self.classes_ = LabelEncoder().fit(labels).classes_
        if len(self.classes_) < 2:
            raise DlcourseError(f"only one class ({self.classes_[0]!r}) in the training labels; "
                                "a classifier needs at least two")
        seed_everything(self.seed)  # every rank alike: the same initial weights and batches
        self.device_ = resolve_device(self.device)
        if is_distributed() and self.device_.type == "cuda":
            self.device_ = torch.device("cuda", local_rank())  # one GPU per rank
        self.tokenizer_ = (get_tokenizer(self.tokenizer) if isinstance(self.tokenizer, str)
                           else self.tokenizer)
        token_lists = self.tokenizer_.batch(texts)
        self.vocab_ = Vocab.build(token_lists, max_size=self.max_vocab, min_freq=self.min_freq,
                                  specials=("<pad>", "<unk>"))
        ids = [self._ids(tokens) for tokens in token_lists]
        y = self._targets(labels)

        vectors = None
        self.coverage_ = None
        embed_dim = self.embed_dim
        if self.pretrained is not None:
            words, vecs = load_vectors(self.pretrained)
            n_train_types = len(self.vocab_.itos)
            extra = [w for w in words[: self.pretrained_vocab] if w not in self.vocab_.stoi]
            if extra:
                self.vocab_ = Vocab(self.vocab_.itos + extra, self.vocab_.freqs + [0] * len(extra))
            vectors, self.coverage_ = embedding_matrix(
                self.vocab_.itos, words, vecs, pad_id=self.vocab_.pad_id,
                token_lists=token_lists, seed=self.seed, counted=n_train_types)
            embed_dim = vectors.shape[1]
        self.config_ = ClassifierConfig(
            vocab_size=len(self.vocab_.itos), num_classes=len(self.classes_), cell=self.model,
            embed_dim=embed_dim, hidden_size=self.hidden_size, num_layers=self.num_layers,
            bidirectional=self.bidirectional, dropout=self.dropout, pooling=self.pooling,
            padding_idx=self.vocab_.pad_id,
            freeze_embeddings=bool(self.freeze and self.pretrained is not None))
        self.model_ = RNNClassifier(self.config_)
        if vectors is not None:
            self.model_.load_vectors(torch.from_numpy(vectors))
        self.model_.to(self.device_)

        weights = None
        if self.class_weight == "balanced":
            counts = np.bincount(y, minlength=len(self.classes_))
            weights = torch.tensor(len(y) / (len(self.classes_) * np.maximum(counts, 1)),
                                   dtype=torch.float32)

        items = list(zip(ids, y.tolist()))
        rank_, world = active_ranks()
        sampler = RankBatchSampler(
            BucketBatchSampler([len(x) for x in ids], self.batch_size, shuffle=True,
                               seed=self.seed), rank_, world)
        loader = DataLoader(items, batch_sampler=sampler,
                            collate_fn=PadCollate(self.vocab_.pad_id, batch_first=True))

        def step_fn(model, batch):
            batch_ids, lengths, targets = batch  # (B, T), (B,), (B,)
            return classification_loss(model(batch_ids, lengths), targets, weights), len(targets)

        monitor, mode = MONITORS[self.monitor]
        evaluate_fn = None
        if valid is not None:
            v_ids = self._encode(valid[0])
            v_y = torch.from_numpy(self._targets([_plain(t) for t in valid[1]]))

            def evaluate_fn(model):
                # each rank scores every N-th text with the bare model (no DDP forward); the
                # gathered logits give every rank the same metrics, so early stopping agrees
                logits = self._logits(v_ids[rank_::world])
                if world > 1:
                    logits = gather_shards(logits, len(v_ids))
                loss = classification_loss(logits, v_y, weights).item()
                pred = logits_to_proba(logits).argmax(1).numpy()
                m = classification_metrics(v_y.numpy(), pred, self.classes_)
                return {"valid_loss": loss, "valid_acc": m["accuracy"],
                        "valid_f1": m["macro_f1"]}

        optimizer = torch.optim.Adam([p for p in self.model_.parameters() if p.requires_grad],
                                     lr=self.lr, weight_decay=self.weight_decay)
        start = time.perf_counter()
        self.history_ = engine_fit(
            wrap_model(self.model_, self.device_), loader, step_fn, optimizer, self.epochs,
            evaluate_fn=evaluate_fn,
            monitor=monitor if valid is not None else "train_loss",
            mode=mode if valid is not None else "min",
            patience=self.patience if valid is not None else None, grad_clip=self.grad_clip,
            device=self.device_, out_dir=out_dir, resume=resume,
            checkpoint_extra=None if out_dir is None else self._checkpoint_extra(),
            restore_best=valid is not None, desc=f"classify {self.model}",
            progress=self.progress)
        self.fit_seconds_ = time.perf_counter() - start
        if valid is not None:  # the engine restored this epoch's weights (restore_best)
            self.best_epoch_ = 1 + max(range(len(self.history_)),
                                       key=lambda i: self.history_[i][monitor]
                                       * (1 if mode == "max" else -1))
        else:
            self.best_epoch_ = len(self.history_)
        self.model_.eval()
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise DlcourseError("the classifier is not trained; call fit() or "
                                "TextClassifier.load()")

    # ------------------------------------------------------------------ use
    def predict_proba(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """Class probabilities, ``(len(texts), len(classes_))`` float32, columns in ``classes_``
        order."""
        self._check_fitted()
        if isinstance(texts, str):
            texts = [texts]
        return logits_to_proba(self._logits(self._encode(texts), batch_size)).numpy()

    def predict(self, texts: Sequence[str], batch_size: int = 256) -> list:
        """The most probable class label of each text."""
        proba = self.predict_proba(texts, batch_size)
        return [self.classes_[i] for i in proba.argmax(1)]

    def evaluate(self, texts: Sequence[str], labels: Sequence, batch_size: int = 256) -> dict:
        """Accuracy, per-class and macro precision/recall/F1, confusion matrix, ROC-AUC (two
        classes) and mean loss on a labelled set (see :func:`classification_metrics`)."""
        self._check_fitted()
        y = self._targets([_plain(t) for t in labels])
        logits = self._logits(self._encode(list(texts)), batch_size)
        proba = logits_to_proba(logits).numpy()
        scores = proba[:, 1] if len(self.classes_) == 2 else None
        metrics = classification_metrics(y, proba.argmax(1), self.classes_, scores)
        metrics["loss"] = classification_loss(logits, torch.from_numpy(y)).item() if len(y) else 0.0
        return metrics

    # ------------------------------------------------------------------ persistence
    def _checkpoint_extra(self) -> dict:
        return {
            "lesson": "classify",
            "config": {"model": self.config_.to_dict(), "tokenizer": self.tokenizer_.config,
                       "params": self.get_params(), "coverage": self.coverage_,
                       "vocab": {"unk_token": self.vocab_.unk_token,
                                 "pad_token": self.vocab_.pad_token}},
            "vocab": list(self.vocab_.itos),
            "classes": list(self.classes_),
        }

    def save(self, directory: str | Path, metadata: dict | None = None) -> Path:
        """Write ``directory/model.pt``: weights, config, tokenizer settings, vocabulary, classes
        and history; :meth:`load` needs nothing else. Returns the file's path. Under a process
        group only rank 0 writes (the ranks hold the same weights).

        ``metadata``: plain-typed extras kept with the model (the CLI stores the column names);
        :meth:`load` puts them in ``metadata_``.
        """
        self._check_fitted()
        path = Path(directory) / MODEL_FILE
        self.metadata_ = dict(metadata or getattr(self, "metadata_", {}))
        if not is_main_process():
            return path
        state = {**self._checkpoint_extra(), "model": self.model_.state_dict(),
                 "epoch": len(self.history_), "best_epoch": self.best_epoch_,
                 "history": self.history_, "metadata": self.metadata_}
        return save_checkpoint(path, state)

    @classmethod
    def load(cls, directory: str | Path, device="auto") -> TextClassifier:
        """A trained classifier from a directory written by :meth:`save` (or a ``.pt`` file).

        Raises:
            DlcourseError: missing file, or a checkpoint of another lesson.
        """
        from dlcourse.text import Vocab, tokenizer_from_config

        state = load_checkpoint(directory)
        if state.get("lesson") != "classify":
            raise DlcourseError(f"{directory} holds a '{state.get('lesson')}' model, not a text "
                                "classifier; pass a directory written by classify train")
        cfg = state["config"]
        params = dict(cfg["params"])
        params["device"] = device
        self = cls(**params)
        self.tokenizer = cfg["tokenizer"].get("name", self.tokenizer)
        self.device_ = resolve_device(device)
        self.tokenizer_ = tokenizer_from_config(cfg["tokenizer"])
        self.vocab_ = Vocab(state["vocab"], **cfg["vocab"])
        self.classes_ = list(state["classes"])
        self.coverage_ = cfg["coverage"]
        self.config_ = ClassifierConfig(**cfg["model"])
        self.model_ = RNNClassifier(self.config_)
        self.model_.load_state_dict(state["model"])
        self.model_.to(self.device_).eval()
        self.history_ = state["history"]
        self.best_epoch_ = state.get("best_epoch", len(self.history_))
        self.metadata_ = state.get("metadata") or {}
        return self


_PARAM_NAMES = (
    "model", "embed_dim", "hidden_size", "num_layers", "bidirectional", "dropout", "pooling",
    "tokenizer", "max_vocab", "min_freq", "max_len", "pretrained", "freeze",
    "pretrained_vocab", "epochs",
    "batch_size", "lr", "weight_decay", "grad_clip", "patience", "monitor", "class_weight",
    "seed", "device", "progress",
)


def _plain(value):
    """numpy scalars -> python values, so classes stay plain (checkpoint-safe)."""
    return value.item() if isinstance(value, np.generic) else value


class RankBatchSampler:
    """This rank's part of every global batch of a batch sampler: items r, r + N, r + 2N ...

    Every rank holds the same ``batch_sampler`` (same seed; ``set_epoch`` is passed on), so the
    ranks see the same global batches and together cover each one exactly once; with DDP
    averaging the gradients, N ranks train like one process on the global batches (exactly when
    N divides the batch sizes). A global batch with fewer than N items is skipped on every rank,
    so all ranks take the same number of steps. With ``world=1`` batches pass through unchanged.

    >>> list(RankBatchSampler([[0, 1, 2, 3], [4, 5, 6], [7]], rank=1, world=2))
    [[1, 3], [5]]
    """

    def __init__(self, batch_sampler, rank: int = 0, world: int = 1):
        if not 0 <= rank < world:
            raise ValueError(f"rank must be in 0..{world - 1}, got {rank}")
        self.batch_sampler = batch_sampler
        self.rank = rank
        self.world = world

    def set_epoch(self, epoch: int) -> None:
        """Pass the epoch on, so every rank shuffles alike and differently each epoch."""
        if hasattr(self.batch_sampler, "set_epoch"):
            self.batch_sampler.set_epoch(epoch)

    def __iter__(self):
        for batch in self.batch_sampler:
            if len(batch) >= self.world:
                yield list(batch[self.rank::self.world])

    def __len__(self) -> int:
        if self.world == 1:
            return len(self.batch_sampler)
        return sum(len(batch) >= self.world for batch in self.batch_sampler)
