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
    architecture,
    build_classifier,
    classification_loss,
    config_from_dict,
    logits_to_proba,
    model_config,
)
from dlcourse.classify.pretrained import vocabulary_vectors
from dlcourse.classify.training import SCHEDULES, adversarial_loss, drop_words, lr_schedule
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
RESUME_FREE = ("epochs", "device", "progress")


class TextClassifier:
    """Text classifier: tokenizer + vocabulary + a CNN, Transformer or RNN + its training.

    ``__init__`` only stores the settings; :meth:`fit` learns ``tokenizer_``, ``vocab_``,
    ``classes_``, ``model_``, ``history_`` and (with ``pretrained``) ``coverage_``.

    The defaults are the recipe chosen on the review sentences' validation split (see
    ``benchmarks/bench_classify.py``): Kim's CNN (filter widths 3, 4, 5, 100 maps each, dropout
    0.5) with word dropout 0.2 and adversarial training (epsilon 1), Adam at 1e-3 on batches of
    50 for up to 10 epochs, the best epoch on validation kept. The word vectors are fine-tuned:
    by default word2vec trained on the training texts at fit time; with
    ``pretrained="glove-6b-50d"`` GloVe, and the 50,000 most frequent GloVe words join the
    vocabulary.

    Args:
        model: "cnn" (Kim 2014), "transformer" (a small encoder), or a recurrent cell "rnn",
            "gru", "lstm".
        embed_dim: embedding size (taken from the vectors when ``pretrained`` is given).
        hidden_size: RNN hidden units, CNN feature maps per filter width, or the Transformer's
            width; None: the model's default (``dlcourse.classify.models.MODEL_DEFAULTS``).
        num_layers: recurrent or Transformer layers (None: the model's default; the CNN has one).
        bidirectional: read both ways (RNNs).
        dropout: before the output layer, and on the RNN's inputs and between its layers;
            None: the model's default.
        pooling: how positions become one vector: "max" or "mean" (every model), "last" (RNN:
            the final hidden state), "cls" (Transformer: a [CLS] position); None: the model's
            default ("mean" for the Transformer, "max" for the others).
        kernel_sizes: the CNN's filter widths in words.
        num_heads, positions: the Transformer's attention heads and position codes ("learned"
            or "sinusoidal").
        multichannel: CNN/Transformer with ``pretrained``: a frozen copy of the vectors beside
            the fine-tuned ones (Kim's multichannel model).
        word_dropout: in training, each token becomes ``<unk>`` with this probability.
        adversarial: adversarial training: each sentence's word vectors are also pushed this far
            (L2 norm) in the direction that raises its loss most (0: off; twice the compute).
        tokenizer: a name for ``dlcourse.text.get_tokenizer`` ("basic_english", "wordpiece", ...)
            or a tokenizer object with ``config``.
        max_vocab, min_freq: vocabulary limits (built from the training texts).
        max_len: texts are cut to this many tokens (None: no limit; the Transformer's learned
            positions cover 512).
        pretrained: the word vectors the embedding starts from: "word2vec" (trained on the
            training texts at fit time, ``embed_dim`` wide: seconds), "glove-6b-50d" (offline),
            a GloVe/word2vec file, a KeyedVectors object, several names joined by "+" to
            concatenate (``"glove-6b-50d+word2vec"``), or None (random).
        freeze: keep the pretrained embedding fixed (False: fine-tune it).
        pretrained_vocab: also put the first (most frequent) N words of the pretrained vectors
            in the vocabulary, so words the training texts lack still get their vector.
        epochs, batch_size, lr, weight_decay, grad_clip: training (Adam); under torchrun
            ``batch_size`` is the global batch, split over the processes.
        schedule: learning rate over the run: None (constant), "linear" or "cosine" decay to
            zero at the last step of ``epochs``.
        patience: early stopping on ``monitor`` ("accuracy", "f1" (macro) or "loss") of the
            validation set; the best epoch's weights are kept. Needs ``valid`` in :meth:`fit`.
        class_weight: None or "balanced" (weights inverse to the class counts).
        seed: same seed and data, same weights (on the CPU).
        device: "auto", "cpu", "cuda", ... (prediction runs in batches on it too).
        progress: show a progress bar per epoch (the CLI turns it on).

    Example:
        >>> clf = TextClassifier("cnn", pretrained="glove-6b-50d")  # doctest: +SKIP
        >>> clf.fit(texts, labels, valid=(v_texts, v_labels))  # doctest: +SKIP
        >>> clf.predict(["a fine film"])  # doctest: +SKIP
    """

    def __init__(
        self,
        model: str = "cnn",
        *,
        embed_dim: int = 100,
        hidden_size: int | None = None,
        num_layers: int | None = None,
        bidirectional: bool = True,
        dropout: float | None = None,
        pooling: str | None = None,
        kernel_sizes: tuple[int, ...] = (3, 4, 5),
        num_heads: int = 4,
        positions: str = "learned",
        multichannel: bool = False,
        word_dropout: float = 0.2,
        adversarial: float = 1.0,
        tokenizer="basic_english",
        max_vocab: int | None = 30000,
        min_freq: int = 1,
        max_len: int | None = 400,
        pretrained="word2vec",
        freeze: bool = False,
        pretrained_vocab: int = 50000,
        epochs: int = 10,
        batch_size: int = 50,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        schedule: str | None = None,
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
        self.kernel_sizes = kernel_sizes
        self.num_heads = num_heads
        self.positions = positions
        self.multichannel = multichannel
        self.word_dropout = word_dropout
        self.adversarial = adversarial
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
        self.schedule = schedule
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
        params["kernel_sizes"] = [int(k) for k in params["kernel_sizes"]]
        return params

    def _check_params(self) -> None:
        arch = architecture(self.model)  # raises on an unknown name, listing the choices
        if self.monitor not in MONITORS:
            raise ValueError(f"unknown monitor '{self.monitor}'; choose one of "
                             f"{', '.join(MONITORS)}")
        if self.class_weight not in CLASS_WEIGHTS:
            raise ValueError(f"unknown class_weight '{self.class_weight}'; choose None or balanced")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule '{self.schedule}'; choose None, linear or cosine")
        for name in ("epochs", "batch_size", "min_freq"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if not 0.0 <= self.word_dropout < 1.0:
            raise ValueError(f"word_dropout must lie in [0, 1), got {self.word_dropout}")
        if self.adversarial < 0:
            raise ValueError(f"adversarial must be >= 0, got {self.adversarial}")
        if self.multichannel and arch == "rnn":
            raise ValueError("multichannel applies to the cnn and transformer models; "
                             "drop it or choose --model cnn")

    def _max_positions(self) -> int:
        return self.max_len if self.max_len is not None else 512

    # ------------------------------------------------------------------ encoding
    def _encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids per text, cut to ``max_len``; an empty text becomes one ``<unk>``."""
        token_lists = self.tokenizer_.batch(list(texts))
        return [self._ids(tokens) for tokens in token_lists]

    def _ids(self, tokens: list[str]) -> list[int]:
        if self.max_len is not None or self.model == "transformer":
            tokens = tokens[: self._max_positions()]
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

        vectors, trained_rows = None, None
        self.coverage_ = None
        embed_dim = self.embed_dim
        if self.pretrained is not None:
            itos, vectors, self.coverage_ = vocabulary_vectors(
                self.pretrained, token_lists, self.vocab_.itos, dim=self.embed_dim,
                pad_id=self.vocab_.pad_id, seed=self.seed, extra_words=self.pretrained_vocab)
            extra = len(itos) - len(self.vocab_.itos)
            if extra:  # words no training text holds: their rows never get a gradient
                trained_rows = len(self.vocab_.itos)
                self.vocab_ = Vocab(itos, self.vocab_.freqs + [0] * extra)
            embed_dim = vectors.shape[1]
        self.config_ = model_config(
            self.model, vocab_size=len(self.vocab_.itos), num_classes=len(self.classes_),
            embed_dim=embed_dim, hidden_size=self.hidden_size, num_layers=self.num_layers,
            dropout=self.dropout, pooling=self.pooling, padding_idx=self.vocab_.pad_id,
            freeze_embeddings=bool(self.freeze and self.pretrained is not None),
            bidirectional=self.bidirectional, kernel_sizes=tuple(self.kernel_sizes),
            num_heads=self.num_heads, positions=self.positions,
            max_positions=self._max_positions(),
            static_channel=bool(self.multichannel and self.pretrained is not None),
            trained_rows=trained_rows)
        self.model_ = build_classifier(self.config_)
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

        pad_id, unk_id = self.vocab_.pad_id, self.vocab_.unk_id

        def step_fn(model, batch):
            batch_ids, lengths, targets = batch  # (B, T), (B,), (B,)
            batch_ids = drop_words(batch_ids, self.word_dropout, unk_id, pad_id)
            loss = adversarial_loss(model, batch_ids, lengths,
                                    lambda logits: classification_loss(logits, targets, weights),
                                    self.adversarial)
            return loss, len(targets)

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
        scheduler = lr_schedule(optimizer, self.schedule, self.epochs * len(loader))
        start = time.perf_counter()
        self.history_ = engine_fit(
            wrap_model(self.model_, self.device_), loader, step_fn, optimizer, self.epochs,
            evaluate_fn=evaluate_fn, scheduler=scheduler, scheduler_interval="step",
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
        params = self.get_params()
        # the settings a resumed run may change sit at the top of "config", where the engine's
        # resume check lets them differ; every other setting must match
        free = {k: params.pop(k) for k in RESUME_FREE}
        return {
            "lesson": "classify",
            "config": {"model": self.config_.to_dict(), "architecture": architecture(self.model),
                       "tokenizer": self.tokenizer_.config, **free,
                       "params": params, "coverage": self.coverage_,
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
        params = {**cfg["params"], **{k: cfg[k] for k in RESUME_FREE if k in cfg}}
        params["device"] = device
        self = cls(**params)
        self.tokenizer = cfg["tokenizer"].get("name", self.tokenizer)
        self.device_ = resolve_device(device)
        self.tokenizer_ = tokenizer_from_config(cfg["tokenizer"])
        self.vocab_ = Vocab(state["vocab"], **cfg["vocab"])
        self.classes_ = list(state["classes"])
        self.coverage_ = cfg["coverage"]
        # checkpoints from before the CNN and Transformer hold RNN configs and no architecture
        self.config_ = config_from_dict(cfg.get("architecture", "rnn"), cfg["model"])
        self.model_ = build_classifier(self.config_)
        self.model_.load_state_dict(state["model"])
        self.model_.to(self.device_).eval()
        self.history_ = state["history"]
        self.best_epoch_ = state.get("best_epoch", len(self.history_))
        self.metadata_ = state.get("metadata") or {}
        return self


_PARAM_NAMES = (
    "model", "embed_dim", "hidden_size", "num_layers", "bidirectional", "dropout", "pooling",
    "kernel_sizes", "num_heads", "positions", "multichannel", "word_dropout", "adversarial",
    "tokenizer", "max_vocab", "min_freq", "max_len", "pretrained", "freeze",
    "pretrained_vocab", "epochs", "batch_size", "lr", "weight_decay", "schedule", "grad_clip",
    "patience", "monitor", "class_weight", "seed", "device", "progress",
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
