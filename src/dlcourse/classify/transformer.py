"""A small Transformer encoder classifier: word vectors + positions -> self-attention layers with
a padding mask -> pooling ([CLS], mean or max) -> linear."""

from __future__ import annotations

import math
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

TRANSFORMER_POOLINGS = ("cls", "mean", "max")
POSITIONS = ("learned", "sinusoidal")


@dataclass
class TransformerConfig:
    """Everything needed to rebuild a :class:`TransformerClassifier` (plain types).

    ``d_model`` is the width of the attention layers (the word vectors are projected to it when
    ``embed_dim`` differs), ``ff_dim`` the hidden width of each feed-forward block (None:
    ``2 * d_model``), ``max_positions`` the longest input a learned position table covers.
    ``static_channel`` and ``trained_rows``: see :class:`~dlcourse.classify.layers.WordEmbedding`;
    ``ngrams`` and ``ngram_buckets``: :class:`~dlcourse.classify.layers.NgramScore` (0: none).
    """

    vocab_size: int
    num_classes: int = 2
    embed_dim: int = 50
    d_model: int = 64
    num_layers: int = 2
    num_heads: int = 4
    ff_dim: int | None = None
    dropout: float = 0.1
    embed_dropout: float = 0.0
    pooling: str = "mean"
    positions: str = "learned"
    max_positions: int = 512
    padding_idx: int = 0
    freeze_embeddings: bool = False
    static_channel: bool = False
    trained_rows: int | None = None
    ngrams: int = 0
    ngram_buckets: int = NGRAM_BUCKETS

    def __post_init__(self):
        if self.pooling not in TRANSFORMER_POOLINGS:
            raise InputError(f"unknown pooling '{self.pooling}' for the transformer; choose one "
                             f"of {', '.join(TRANSFORMER_POOLINGS)}")
        check_choice("positions", self.positions, POSITIONS)
        check_model_config(self, ("vocab_size", "embed_dim", "d_model", "num_layers",
                                  "num_heads", "max_positions"), ("dropout", "embed_dropout"))
        if self.d_model % self.num_heads:
            raise InputError(f"d_model ({self.d_model}) must be a multiple of num_heads "
                             f"({self.num_heads}); change --hidden-size or --heads")

    def to_dict(self) -> dict:
        """Plain dict for checkpoints; ``TransformerConfig(**d)`` rebuilds it."""
        return asdict(self)


def sinusoidal_positions(n: int, dim: int) -> torch.Tensor:
    """(n, dim) table of Vaswani et al.'s sine/cosine position codes.

    >>> sinusoidal_positions(3, 4)[0].tolist()
    [0.0, 1.0, 0.0, 1.0]
    """
    pos = torch.arange(n, dtype=torch.float32)[:, None]  # (n, 1)
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(n, dim)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)[:, : dim // 2]
    return table


class TransformerClassifier(nn.Module):
    """Transformer encoder (pre-norm layers, GELU) over padded token ids.

    The padding mask keeps every query from attending to padded keys, and the pooling reads
    real positions only, so padding does not change the logits. Pooling "cls" prepends a
    learned [CLS] vector and classifies its final state (BERT's way); "mean"/"max" pool the
    word positions.

    ``forward(ids, lengths)``: ``ids`` (B, T) with T <= ``max_positions`` (learned positions),
    ``lengths`` (B,) -> logits (B,) for two classes, (B, C) for more.

    Example:
        >>> m = TransformerClassifier(TransformerConfig(vocab_size=10, embed_dim=4, d_model=8,
        ...                                             num_heads=2))
        >>> m(torch.tensor([[2, 3, 4], [5, 0, 0]]), torch.tensor([3, 1])).shape
        torch.Size([2])
    """

    def __init__(self, config: TransformerConfig):
        """A fresh (untrained) model; :meth:`load_vectors` sets the word vectors.

        Args:
            config: the shape and settings, kept as ``self.config``.
        """
        super().__init__()
        self.config = c = config
        self.embedding = WordEmbedding.of(c)
        e = self.embedding.out_dim
        self.project = nn.Linear(e, c.d_model) if e != c.d_model else nn.Identity()
        if c.positions == "learned":
            self.positions = nn.Parameter(torch.randn(c.max_positions, c.d_model) * 0.02)
        else:
            self.register_buffer("positions", sinusoidal_positions(c.max_positions, c.d_model),
                                 persistent=False)
        self.cls = nn.Parameter(torch.randn(c.d_model) * 0.02) if c.pooling == "cls" else None
        layer = nn.TransformerEncoderLayer(
            c.d_model, c.num_heads, c.ff_dim or 2 * c.d_model, c.dropout, activation="gelu",
            batch_first=True, norm_first=True)
        # enable_nested_tensor=False: one code path for training and inference, so the padding
        # test checks the path that runs
        self.encoder = nn.TransformerEncoder(layer, c.num_layers, norm=nn.LayerNorm(c.d_model),
                                             enable_nested_tensor=False)
        self.dropout = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.d_model, 1 if c.num_classes == 2 else c.num_classes)
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
        b, t = ids.shape
        if t > c.max_positions:
            raise InputError(f"input of {t} tokens is longer than max_positions "
                             f"({c.max_positions}); cut the texts (max_len) first")
        x = self.project(self.embedding(ids)) + self.positions[:t]  # (B, T, d)
        real = lengths_to_mask(lengths.to(ids.device), t)  # (B, T), True on tokens
        if self.cls is not None:
            x = torch.cat([self.cls.expand(b, 1, -1), x], dim=1)  # (B, 1 + T, d)
            real = torch.cat([real.new_ones(b, 1), real], dim=1)
        h = self.encoder(x, src_key_padding_mask=~real)  # (B, T', d)
        if c.pooling == "cls":
            pooled = h[:, 0]
        elif c.pooling == "mean":
            pooled = (h * real.unsqueeze(-1)).sum(1) / real.sum(1, keepdim=True).to(h.dtype)
        else:
            pooled = h.masked_fill(~real.unsqueeze(-1), float("-inf")).max(dim=1).values
        logits = self.head(self.dropout(pooled))  # (B, 1) or (B, C)
        if self.ngram_score is not None:
            logits = logits + self.ngram_score(ids, lengths)
        return logits.squeeze(-1) if c.num_classes == 2 else logits
