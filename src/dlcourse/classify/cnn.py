"""Kim (2014)'s convolutional sentence classifier: filters of several widths over the word
vectors, max-over-time pooling, dropout, one linear layer."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from dlcourse.classify.layers import (
    NGRAM_BUCKETS,
    WordEmbedding,
    check_model_config,
    ngram_score,
)
from dlcourse.errors import InputError, check_choice
from dlcourse.text.batching import lengths_to_mask

CNN_POOLINGS = ("max", "mean")


@dataclass
class CNNConfig:
    """Everything needed to rebuild a :class:`CNNClassifier` (plain types: goes in checkpoints).

    ``kernel_sizes`` are the filter widths in words, ``num_filters`` the feature maps per width
    (Kim: 3, 4, 5 and 100). ``num_classes == 2`` gives one logit. ``static_channel`` and
    ``trained_rows``: see :class:`~dlcourse.classify.layers.WordEmbedding`; ``ngrams`` and
    ``ngram_buckets``: :class:`~dlcourse.classify.layers.NgramScore` (``ngrams=0``: none).
    """

    vocab_size: int
    num_classes: int = 2
    embed_dim: int = 50
    kernel_sizes: tuple[int, ...] = (3, 4, 5)
    num_filters: int = 100
    dropout: float = 0.5
    embed_dropout: float = 0.0
    pooling: str = "max"
    padding_idx: int = 0
    freeze_embeddings: bool = False
    static_channel: bool = False
    trained_rows: int | None = None
    ngrams: int = 0
    ngram_buckets: int = NGRAM_BUCKETS

    def __post_init__(self):
        self.kernel_sizes = tuple(int(k) for k in self.kernel_sizes)
        check_choice("CNN pooling", self.pooling, CNN_POOLINGS)
        if not self.kernel_sizes or min(self.kernel_sizes) < 1:
            raise InputError(f"kernel_sizes must be widths >= 1, got {self.kernel_sizes}")
        check_model_config(self, ("vocab_size", "embed_dim", "num_filters"),
                           ("dropout", "embed_dropout"))

    def to_dict(self) -> dict:
        """Plain dict for checkpoints; ``CNNConfig(**d)`` rebuilds it."""
        d = asdict(self)
        d["kernel_sizes"] = list(self.kernel_sizes)
        return d


class CNNClassifier(nn.Module):
    """Sentence CNN over padded token ids (Kim 2014, "Convolutional Neural Networks for Sentence
    Classification").

    Each filter of width k reads k consecutive word vectors; the convolution is "wide" (k - 1
    zero vectors on both sides), so a sentence shorter than the widest filter still gets every
    feature. The largest ReLU response of each feature map over the sentence (max-over-time
    pooling) says whether its pattern occurs anywhere. Padding never counts: padded positions
    are zero vectors, which is what the wide convolution's zero border is anyway, and the
    windows that lie wholly in padding are masked before pooling, so a padded batch gives the
    same logits as each sentence alone.

    ``forward(ids, lengths)``: ``ids`` (B, T), ``lengths`` (B,) -> logits (B,) for two classes,
    (B, C) for more.

    Example:
        >>> m = CNNClassifier(CNNConfig(vocab_size=10, embed_dim=4, num_filters=3))
        >>> m(torch.tensor([[2, 3, 4], [5, 0, 0]]), torch.tensor([3, 1])).shape
        torch.Size([2])
    """

    def __init__(self, config: CNNConfig):
        """A fresh (untrained) model; :meth:`load_vectors` sets the word vectors.

        Args:
            config: the shape and settings, kept as ``self.config``.
        """
        super().__init__()
        self.config = c = config
        self.embedding = WordEmbedding.of(c)
        self.convs = nn.ModuleList(
            nn.Conv1d(self.embedding.out_dim, c.num_filters, k, padding=k - 1)
            for k in c.kernel_sizes)
        self.dropout = nn.Dropout(c.dropout)
        width = c.num_filters * len(c.kernel_sizes)
        self.head = nn.Linear(width, 1 if c.num_classes == 2 else c.num_classes)
        self.ngram_score = ngram_score(c)

    def load_vectors(self, matrix: torch.Tensor) -> None:
        """Copy a (vocab_size, embed_dim) matrix of word vectors into the embedding layer.

        Args:
            matrix: float tensor (vocab_size, embed_dim), row i the vector of id i.

        Raises:
            InputError: the matrix has another shape.
        """
        self.embedding.load_vectors(matrix)

    def features(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The pooled feature maps (B, len(kernel_sizes) * num_filters), before dropout.

        Args:
            ids: token ids (B, T) int64, padded on the right.
            lengths: the real tokens of each row (B,), each >= 1.
        """
        x = self.embedding(ids).transpose(1, 2)  # (B, E, T)
        lengths = lengths.to(ids.device)
        pooled = []
        for k, conv in zip(self.config.kernel_sizes, self.convs):
            h = torch.relu(conv(x))  # (B, F, T + k - 1)
            # the windows touching at least one real token: positions 0 .. length + k - 2
            real = lengths_to_mask(lengths + k - 1, h.shape[2]).unsqueeze(1)  # (B, 1, T + k - 1)
            if self.config.pooling == "max":
                pooled.append(h.masked_fill(~real, float("-inf")).max(dim=2).values)  # (B, F)
            else:
                pooled.append((h * real).sum(2) / (lengths + k - 1).to(h.dtype)[:, None])
        return torch.cat(pooled, dim=1)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits for a padded batch: ``ids`` (B, T) int64, ``lengths`` (B,) >= 1."""
        logits = self.head(self.dropout(self.features(ids, lengths)))  # (B, 1) or (B, C)
        if self.ngram_score is not None:
            logits = logits + self.ngram_score(ids, lengths)
        return logits.squeeze(-1) if self.config.num_classes == 2 else logits
