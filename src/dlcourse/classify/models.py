"""Plain nn.Modules of the lesson: Embedding -> RNN/GRU/LSTM (packed) -> pooling -> Linear; the
losses, and the registry that builds any of the lesson's classifiers (the CNN in ``cnn.py``, the
Transformer in ``transformer.py``) from its config."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from dlcourse.classify.bert import BertClassifier, BertConfig
from dlcourse.classify.cnn import CNNClassifier, CNNConfig
from dlcourse.classify.config import MODEL_DEFAULTS, architecture
from dlcourse.classify.layers import (
    NGRAM_BUCKETS,
    WordEmbedding,
    check_model_config,
    ngram_score,
)
from dlcourse.classify.transformer import TransformerClassifier, TransformerConfig
from dlcourse.errors import InputError, check_choice
from dlcourse.text.batching import lengths_to_mask

CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
POOLINGS = ("last", "mean", "max")


@dataclass
class RNNConfig:
    """Everything needed to rebuild an :class:`RNNClassifier` (plain types: goes in checkpoints).

    ``num_classes == 2`` gives one logit (BCEWithLogits); more gives one logit per class
    (cross-entropy). ``trained_rows``: see :class:`~dlcourse.classify.layers.WordEmbedding`;
    ``ngrams`` and ``ngram_buckets``: :class:`~dlcourse.classify.layers.NgramScore` (0: none).
    """

    vocab_size: int
    num_classes: int = 2
    cell: str = "lstm"
    embed_dim: int = 100
    hidden_size: int = 128
    num_layers: int = 2
    bidirectional: bool = True
    dropout: float = 0.3
    pooling: str = "max"
    padding_idx: int = 0
    freeze_embeddings: bool = False
    trained_rows: int | None = None
    ngrams: int = 0
    ngram_buckets: int = NGRAM_BUCKETS

    def __post_init__(self):
        check_choice("model", self.cell, CELLS)
        check_choice("pooling", self.pooling, POOLINGS)
        check_model_config(self, ("vocab_size", "embed_dim", "hidden_size", "num_layers"),
                           ("dropout",))

    def to_dict(self) -> dict:
        """Plain dict for checkpoints; ``RNNConfig(**d)`` rebuilds it."""
        return asdict(self)


class RNNClassifier(nn.Module):
    """Sequence classifier over padded token ids.

    ``forward(ids, lengths)`` embeds ``ids`` (B, T), runs the recurrent cell over the packed
    sequences (padding never reaches the RNN), pools the outputs over time ("last": the final
    hidden state of the top layer, both directions; "mean"/"max": over the real time steps only)
    and returns logits: (B,) for two classes, (B, C) for more.

    The lesson's first model is ``RNNConfig(V, cell="rnn", num_layers=1,
    bidirectional=False, pooling="last")``; the second a 2-layer LSTM.

    Example:
        >>> m = RNNClassifier(RNNConfig(vocab_size=10, embed_dim=4, hidden_size=8))
        >>> m(torch.tensor([[2, 3, 4], [5, 6, 0]]), torch.tensor([3, 2])).shape
        torch.Size([2])
    """

    def __init__(self, config: RNNConfig):
        """A fresh (untrained) model; :meth:`load_vectors` sets the word vectors.

        Args:
            config: the shape and settings, kept as ``self.config``.
        """
        super().__init__()
        self.config = config
        c = config
        self.embedding = WordEmbedding(c.vocab_size, c.embed_dim, c.padding_idx,
                                       freeze=c.freeze_embeddings, trained_rows=c.trained_rows)
        self.embed_dropout = nn.Dropout(c.dropout)
        self.rnn = CELLS[c.cell](
            c.embed_dim,
            c.hidden_size,
            num_layers=c.num_layers,
            batch_first=True,
            bidirectional=c.bidirectional,
            dropout=c.dropout if c.num_layers > 1 else 0.0,  # between layers only
        )
        n_dirs = 2 if c.bidirectional else 1
        self.out_dropout = nn.Dropout(c.dropout)
        self.head = nn.Linear(n_dirs * c.hidden_size, 1 if c.num_classes == 2 else c.num_classes)
        self.ngram_score = ngram_score(c)

    def load_vectors(self, matrix: torch.Tensor) -> None:
        """Copy a (vocab_size, embed_dim) matrix of word vectors into the embedding layer.

        Args:
            matrix: float tensor (vocab_size, embed_dim), row i the vector of id i.

        Raises:
            InputError: the matrix has another shape.
        """
        self.embedding.load_vectors(matrix)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits for a padded batch: ``ids`` (B, T) int64, ``lengths`` (B,) >= 1."""
        c = self.config
        x = self.embed_dropout(self.embedding(ids))  # (B, T, E)
        # pack_padded_sequence wants lengths on the CPU
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, h = self.rnn(packed)
        if c.pooling == "last":
            h_n = h[0] if c.cell == "lstm" else h  # (layers * dirs, B, H)
            # top layer: the last one (forward) or last two (forward, backward) entries
            pooled = torch.cat([h_n[-2], h_n[-1]], dim=1) if c.bidirectional else h_n[-1]
        else:
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
            # out: (B, T, dirs * H); mask: (B, T, 1), True on real tokens
            mask = lengths_to_mask(lengths.to(ids.device), ids.shape[1]).unsqueeze(-1)
            if c.pooling == "mean":
                pooled = (out * mask).sum(1) / lengths.to(out.device, out.dtype)[:, None]
            else:
                pooled = out.masked_fill(~mask, float("-inf")).max(dim=1).values
        logits = self.head(self.out_dropout(pooled))  # (B, 1) or (B, C)
        if self.ngram_score is not None:
            logits = logits + self.ngram_score(ids, lengths)
        return logits.squeeze(-1) if c.num_classes == 2 else logits


def classification_loss(
    logits: torch.Tensor, targets: torch.Tensor, class_weights: torch.Tensor | None = None
) -> torch.Tensor:
    """BCEWithLogits for one logit per item (two classes), cross-entropy for (B, C) logits.

    ``class_weights`` (C,) weighs each class's items (for two classes: ``pos_weight`` =
    weight[1] / weight[0], scaled back by weight[0], which is the same weighting). ``targets``
    are class indices, or probabilities (knowledge distillation): (B,) of the second class for
    one logit, (B, C) otherwise; a probability weighs its item by the expected class weight.

    Args:
        logits: (B,) for two classes (the second class's logit) or (B, C).
        targets: class indices (B,) int64, or float probabilities as above.
        class_weights: optional (C,) weight per class; None weighs every item alike.

    Returns:
        the mean loss, a scalar tensor.
    """
    if logits.dim() == 1:
        y = targets.to(logits.dtype)
        if class_weights is None:
            return nn.functional.binary_cross_entropy_with_logits(logits, y)
        w = class_weights.to(logits.device, logits.dtype)
        per_item = nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
        weights = (w[0] + (w[1] - w[0]) * y if targets.is_floating_point()
                   else torch.where(targets.bool(), w[1], w[0]))
        return (per_item * weights).sum() / weights.sum()
    if class_weights is None or not targets.is_floating_point():
        w = None if class_weights is None else class_weights.to(logits.device, logits.dtype)
        return nn.functional.cross_entropy(logits, targets, weight=w)
    # soft targets: torch's weighted cross-entropy weighs each class term and divides by B,
    # not by the weights' sum, so one-hot rows would not give the index targets' loss
    w = class_weights.to(logits.device, logits.dtype)
    per_item = -(targets * nn.functional.log_softmax(logits, dim=1)).sum(1)  # (B,)
    weights = targets @ w  # (B,) expected class weight
    return (per_item * weights).sum() / weights.sum()


def logits_to_proba(logits: torch.Tensor) -> torch.Tensor:
    """Class probabilities (B, C) from logits of either head shape.

    Args:
        logits: (B,) for two classes (the second class's logit; C is then 2) or (B, C).
    """
    if logits.dim() == 1:
        p = torch.sigmoid(logits)
        return torch.stack([1 - p, p], dim=1)
    return torch.softmax(logits, dim=1)


def model_config(model: str, *, vocab_size: int, num_classes: int = 2, embed_dim: int = 100,
                 hidden_size: int | None = None, num_layers: int | None = None,
                 dropout: float | None = None, pooling: str | None = None, padding_idx: int = 0,
                 freeze_embeddings: bool = False, bidirectional: bool = True,
                 kernel_sizes: tuple[int, ...] = (3, 4, 5), num_heads: int = 4,
                 positions: str = "learned", max_positions: int = 512,
                 static_channel: bool = False, trained_rows: int | None = None,
                 ngrams: int | None = None):
    """The config of any of the lesson's models from one set of settings.

    ``hidden_size``, ``num_layers``, ``dropout``, ``pooling`` and ``ngrams`` left at None take
    the family's :data:`MODEL_DEFAULTS`; settings another family uses are ignored
    (``kernel_sizes`` for an RNN, ``bidirectional`` for a CNN ...).

    Args:
        model: "cnn", "transformer", "rnn", "gru", "lstm" or "minilm" (a BERT encoder).
        vocab_size: rows of the embedding table (ids 0 .. vocab_size - 1).
        num_classes: >= 2; two give one logit.
        embed_dim: the word vectors' width (not BERT, whose width is ``hidden_size``).
        hidden_size: RNN state size, CNN filters per width, Transformer ``d_model`` or BERT
            width.
        num_layers: recurrent, attention or BERT layers (the CNN has one).
        dropout: the dropout rate, in [0, 1).
        pooling: RNN "last"/"mean"/"max", CNN "max"/"mean", Transformer "cls"/"mean"/"max"
            (BERT always pools the mean).
        padding_idx: the padding token's id.
        freeze_embeddings: keep the word vectors fixed (not BERT).
        bidirectional: run the RNN both ways (RNN only).
        kernel_sizes: the CNN's filter widths in words.
        num_heads: attention heads (Transformer, BERT), dividing ``hidden_size``.
        positions: the Transformer's "learned" or "sinusoidal" positions.
        max_positions: the longest input in tokens (Transformer, BERT).
        static_channel: add a frozen copy of the vectors (CNN, Transformer; refused for an
            RNN).
        trained_rows: ids below it are trainable, the rest fixed (see
            :class:`~dlcourse.classify.layers.WordEmbedding`); None: every row (not BERT).
        ngrams: longest n-gram of the added n-gram score, 0 for none (a non-zero value is
            refused for BERT).

    >>> model_config("cnn", vocab_size=50).num_filters
    100

    Raises:
        ValueError: an unknown model name, or a setting the config refuses.
    """
    arch = architecture(model)
    d = MODEL_DEFAULTS[arch]
    hidden = d["hidden_size"] if hidden_size is None else hidden_size
    layers = d["num_layers"] if num_layers is None else num_layers
    common = dict(vocab_size=vocab_size, num_classes=num_classes, embed_dim=embed_dim,
                  dropout=d["dropout"] if dropout is None else dropout,
                  pooling=d["pooling"] if pooling is None else pooling,
                  padding_idx=padding_idx, freeze_embeddings=freeze_embeddings,
                  trained_rows=trained_rows, ngrams=d["ngrams"] if ngrams is None else ngrams)
    if arch == "rnn":
        if static_channel:
            raise InputError("multichannel applies to the cnn and transformer models; "
                             "drop it or choose --model cnn")
        return RNNConfig(**common, cell=model, hidden_size=hidden, num_layers=layers,
                                bidirectional=bidirectional)
    if arch == "cnn":
        return CNNConfig(**common, kernel_sizes=tuple(kernel_sizes), num_filters=hidden,
                         static_channel=static_channel)
    if arch == "bert":
        if common["ngrams"]:
            raise InputError("ngrams applies to the cnn, transformer and recurrent models; "
                             "drop it or choose another --model")
        return BertConfig(vocab_size=vocab_size, num_classes=num_classes, hidden_size=hidden,
                          num_layers=layers, num_heads=num_heads, max_positions=max_positions,
                          dropout=common["dropout"], padding_idx=padding_idx)
    return TransformerConfig(**common, d_model=hidden, num_layers=layers, num_heads=num_heads,
                             positions=positions, max_positions=max_positions,
                             static_channel=static_channel)


def config_from_dict(arch: str, settings: dict):
    """The config object of an architecture from its ``to_dict()`` (what checkpoints hold)."""
    configs = {"rnn": RNNConfig, "cnn": CNNConfig, "transformer": TransformerConfig,
               "bert": BertConfig}
    check_choice("architecture", arch, configs)
    return configs[arch](**settings)


def build_classifier(config) -> nn.Module:
    """The module a config describes: :class:`RNNConfig` -> :class:`RNNClassifier`,
    ``CNNConfig`` -> ``CNNClassifier``, ``TransformerConfig`` -> ``TransformerClassifier``,
    ``BertConfig`` -> ``BertClassifier``.

    Args:
        config: an ``RNNConfig``, ``CNNConfig``, ``TransformerConfig`` or ``BertConfig``.

    Raises:
        TypeError: any other object.
    """
    for config_type, module in ((RNNConfig, RNNClassifier), (CNNConfig, CNNClassifier),
                                (TransformerConfig, TransformerClassifier),
                                (BertConfig, BertClassifier)):
        if isinstance(config, config_type):
            return module(config)
    raise TypeError(f"no classifier for a {type(config).__name__}")
