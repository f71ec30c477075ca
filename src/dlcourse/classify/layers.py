"""The word-embedding layer of every classifier of the lesson: a trainable table, optionally
fixed rows for words training never sees, an optional frozen copy beside it (Kim's multichannel
model), padding zeroed, dropout."""

from __future__ import annotations

import torch
from torch import nn

from dlcourse.errors import InputError
from dlcourse.text.batching import lengths_to_mask


class WordEmbedding(nn.Module):
    """Token ids (B, T) -> vectors (B, T, out_dim), zero on padding positions.

    Args:
        vocab_size, dim: the table's shape.
        padding_idx: the id of the padding token (its positions come out as zeros).
        freeze: keep the trainable table fixed (``requires_grad=False``).
        static_channel: also keep a frozen copy of the vectors and concatenate it (Kim 2014's
            multichannel model): fine-tuning moves the words seen in training, the copy keeps
            every word where the pretrained vectors put it. ``out_dim = 2 * dim``.
        dropout: dropout on the vectors (training only).
        trained_rows: only ids below this are trainable (``weight``); the rows above (words of
            the pretrained vectors that the training texts lack) sit in the buffer ``fixed``.
            They would get no gradient anyway; kept out of the parameters, the optimizer does
            not sweep the whole table every step (half of a CNN's step with 50,000 extra
            GloVe words). None: every row is trainable.

    Example:
        >>> emb = WordEmbedding(10, 4, padding_idx=0, static_channel=True, trained_rows=6)
        >>> emb(torch.tensor([[3, 8, 0]])).shape, tuple(emb.weight.shape)
        (torch.Size([1, 3, 8]), (6, 4))
    """

    @classmethod
    def of(cls, config) -> WordEmbedding:
        """The embedding a model config describes: its ``vocab_size``, ``embed_dim``,
        ``padding_idx``, ``freeze_embeddings``, ``static_channel``, ``embed_dropout`` and
        ``trained_rows`` (the fields every classifier's config shares).

        Args:
            config: a :class:`~dlcourse.classify.cnn.CNNConfig`,
                :class:`~dlcourse.classify.transformer.TransformerConfig` or any object with
                those attributes.

        Raises:
            InputError: ``trained_rows`` not in (``padding_idx``, ``vocab_size``].
        """
        c = config
        return cls(c.vocab_size, c.embed_dim, c.padding_idx, freeze=c.freeze_embeddings,
                   static_channel=c.static_channel, dropout=c.embed_dropout,
                   trained_rows=c.trained_rows)

    def __init__(self, vocab_size: int, dim: int, padding_idx: int = 0, *, freeze: bool = False,
                 static_channel: bool = False, dropout: float = 0.0,
                 trained_rows: int | None = None):
        super().__init__()
        rows = vocab_size if trained_rows is None else trained_rows
        if not padding_idx < rows <= vocab_size:
            raise InputError(f"trained_rows must lie in ({padding_idx}, {vocab_size}], got {rows}")
        self.padding_idx = padding_idx
        self.weight = nn.Parameter(torch.randn(rows, dim), requires_grad=not freeze)
        # buffers, not parameters: no optimizer sees them, and they are saved with the model
        self.register_buffer("fixed", torch.randn(vocab_size - rows, dim)
                             if rows < vocab_size else None)
        self.register_buffer("static", self.table().detach().clone() if static_channel else None)
        with torch.no_grad():
            self.weight[padding_idx].zero_()
        self.dropout = nn.Dropout(dropout)
        self.out_dim = dim * (2 if static_channel else 1)

    def table(self) -> torch.Tensor:
        """The whole (vocab_size, dim) table: trainable rows, then fixed ones."""
        return self.weight if self.fixed is None else torch.cat([self.weight, self.fixed])

    def load_vectors(self, matrix: torch.Tensor) -> None:
        """Copy a (vocab_size, dim) matrix into the table (and the static channel).

        Args:
            matrix: float tensor (vocab_size, dim), row i the vector of id i (the rows from
                ``trained_rows`` on go to the fixed buffer).

        Raises:
            InputError: the matrix has another shape.
        """
        if tuple(matrix.shape) != tuple(self.table().shape):
            raise InputError(f"vector matrix has shape {tuple(matrix.shape)}, the embedding "
                             f"needs {tuple(self.table().shape)}")
        rows = self.weight.shape[0]
        with torch.no_grad():
            self.weight.copy_(matrix[:rows])
            if self.fixed is not None:
                self.fixed.copy_(matrix[rows:])
            if self.static is not None:
                self.static.copy_(matrix)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        rows = self.weight.shape[0]
        x = nn.functional.embedding(ids.clamp(max=rows - 1), self.weight)  # (B, T, D)
        if self.fixed is not None:
            seen = (ids < rows).unsqueeze(-1)  # (B, T, 1)
            x = torch.where(seen, x, nn.functional.embedding((ids - rows).clamp(min=0),
                                                             self.fixed))
        x = self.dropout(x)
        if self.static is not None:
            x = torch.cat([x, nn.functional.embedding(ids, self.static)], dim=-1)  # (B, T, 2D)
        # zero the padding positions explicitly: the padding row may have been overwritten
        return x * (ids != self.padding_idx).unsqueeze(-1).to(x.dtype)


#: rows of the n-gram score's hashed table for word pairs (and longer n-grams)
NGRAM_BUCKETS = 2 ** 18
# a prime that spreads consecutive ids over the buckets (the pair (a, b) -> a * P + b)
_HASH_PRIME = 1_000_003


class NgramScore(nn.Module):
    """A linear score over the words and word n-grams of a text, added to a network's logits
    (the "wide" part of Cheng et al. 2016's wide and deep model; a bag-of-n-grams logistic
    regression trained jointly with the network).

    Each word id has a row of ``num_outputs`` weights; each n-gram of 2 .. ``ngrams`` words is
    hashed into one of ``buckets`` further rows (collisions share a row). The score of a text
    is the sum of the rows of its n-grams, so padding never counts and a padded batch scores
    as each text alone. The table starts at zero: before training the network alone decides.

    ``forward(ids, lengths)``: ``ids`` (B, T), ``lengths`` (B,) -> scores (B, num_outputs).

    Example:
        >>> s = NgramScore(10, 1, ngrams=2, buckets=16)
        >>> s(torch.tensor([[2, 3, 4], [5, 0, 0]]), torch.tensor([3, 1])).shape
        torch.Size([2, 1])
    """

    def __init__(self, vocab_size: int, num_outputs: int, ngrams: int = 2,
                 buckets: int = NGRAM_BUCKETS):
        super().__init__()
        if ngrams < 1:
            raise InputError(f"ngrams must be >= 1, got {ngrams}")
        if ngrams > 1 and buckets < 1:
            raise InputError(f"buckets must be >= 1 for n-grams of 2 or more words, got {buckets}")
        self.vocab_size, self.ngrams = vocab_size, ngrams
        self.buckets = buckets if ngrams > 1 else 0
        self.weight = nn.Parameter(torch.zeros(vocab_size + self.buckets, num_outputs))

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        t = ids.shape[1]
        real = lengths_to_mask(lengths.to(ids.device), t)  # (B, T), True on tokens
        rows, keep = [ids], [real]
        gram = ids
        for n in range(2, self.ngrams + 1):
            if t < n:
                break
            gram = gram[:, :-1] * _HASH_PRIME + ids[:, n - 1:]  # (B, T - n + 1), exact in int64
            rows.append(gram % self.buckets + self.vocab_size)
            keep.append(real[:, n - 1:])  # the n-gram's last word is a token
            gram = gram % self.buckets  # keep the next product small
        ids_all, keep_all = torch.cat(rows, 1), torch.cat(keep, 1)  # (B, G)
        scores = nn.functional.embedding(ids_all, self.weight)  # (B, G, O)
        return (scores * keep_all.unsqueeze(-1).to(scores.dtype)).sum(1)  # (B, O)


def ngram_score(config) -> NgramScore | None:
    """The n-gram score a model config asks for (its ``ngrams``, ``ngram_buckets``,
    ``vocab_size`` and ``num_classes``: one output for two classes), or None when ``ngrams``
    is 0."""
    if not config.ngrams:
        return None
    outputs = 1 if config.num_classes == 2 else config.num_classes
    return NgramScore(config.vocab_size, outputs, config.ngrams, config.ngram_buckets)


def check_model_config(config, sizes: tuple[str, ...], fractions: tuple[str, ...]) -> None:
    """The checks every classifier's model config shares: at least two classes, ``ngrams`` >= 0,
    the fields ``sizes`` >= 1 and the dropout rates ``fractions`` in [0, 1).

    Raises:
        ValueError: naming the first field out of range and its value.
    """
    if config.num_classes < 2:
        raise InputError(f"num_classes must be >= 2, got {config.num_classes}; "
                         "the labels need at least two distinct values")
    if config.ngrams < 0:
        raise InputError(f"ngrams must be >= 0, got {config.ngrams}")
    for name in sizes:
        if getattr(config, name) < 1:
            raise InputError(f"{name} must be >= 1, got {getattr(config, name)}")
    for name in fractions:
        if not 0.0 <= getattr(config, name) < 1.0:
            raise InputError(f"{name} must lie in [0, 1), got {getattr(config, name)}")
