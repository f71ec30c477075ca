"""Language models: the lesson's embedding -> linear model and a pytorch/examples-style LSTM."""

from __future__ import annotations

import torch
from torch import nn

from dlcourse.errors import InputError
from dlcourse.lm.config import LMConfig

Hidden = tuple[torch.Tensor, torch.Tensor] | None


class EmbeddingModel(nn.Module):
    """The embeddings lesson's model: ``nn.Embedding -> nn.Linear`` over the vocabulary.

    Each position predicts the next word from the current word alone, so it is a low-rank
    bigram model. ``forward`` takes and returns a ``hidden`` argument only so that training,
    evaluation and generation treat both models alike; it is always ``None`` here.

    Args:
        vocab_size: number of word types (rows of the embedding table, outputs of the linear).
        embed_dim: width of the embedding table.

    Example:
        >>> model = EmbeddingModel(vocab_size=50, embed_dim=8)
        >>> logits, hidden = model(torch.zeros(2, 5, dtype=torch.long))
        >>> tuple(logits.shape), hidden
        ((2, 5, 50), None)
    """

    def __init__(self, vocab_size: int, embed_dim: int = 100):
        super().__init__()
        self.embeddings = nn.Embedding(vocab_size, embed_dim)
        self.linear = nn.Linear(embed_dim, vocab_size)

    @property
    def embedding_table(self) -> torch.Tensor:
        """The (vocab_size, embed_dim) input word vectors."""
        return self.embeddings.weight

    def forward(self, x: torch.Tensor, hidden: Hidden = None) -> tuple[torch.Tensor, None]:
        """Return next-word logits (B, T, V) for word ids ``x`` (B, T), and ``None``."""
        embeds = self.embeddings(x)  # (B, T, E)
        return self.linear(embeds), None  # (B, T, V)


class LSTMModel(nn.Module):
    """Word-level LSTM language model in the style of pytorch/examples word_language_model.

    embedding -> dropout -> multi-layer LSTM -> dropout -> linear decoder over the vocabulary,
    optionally with the decoder weight tied to the embedding (Press & Wolf 2017; Inan et al.
    2017), which needs ``embed_dim == hidden_dim``.

    Args:
        vocab_size: number of word types.
        embed_dim: embedding width.
        hidden_dim: LSTM units per layer.
        num_layers: stacked LSTM layers.
        dropout: dropout on the embeddings, between LSTM layers and before the decoder.
        tie_weights: share the embedding table with the decoder.

    Raises:
        ValueError: ``tie_weights`` with ``embed_dim != hidden_dim``, or a non-positive size.

    Example:
        >>> model = LSTMModel(vocab_size=50, embed_dim=16, hidden_dim=16, num_layers=2)
        >>> logits, (h, c) = model(torch.zeros(3, 7, dtype=torch.long))
        >>> tuple(logits.shape), tuple(h.shape)
        ((3, 7, 50), (2, 3, 16))
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int = LMConfig.embed_dim,
        hidden_dim: int = LMConfig.hidden_dim,
        num_layers: int = LMConfig.num_layers,
        dropout: float = LMConfig.dropout,
        tie_weights: bool = False,  # a module of any widths; LMConfig ties its equal ones
    ):
        super().__init__()
        if min(vocab_size, embed_dim, hidden_dim, num_layers) < 1:
            raise InputError("vocab_size, embed_dim, hidden_dim and num_layers must be >= 1")
        if not 0.0 <= dropout < 1.0:
            raise InputError(f"dropout must be in [0, 1), got {dropout}")
        if tie_weights and embed_dim != hidden_dim:
            raise InputError(
                f"tie_weights needs embed_dim == hidden_dim (got {embed_dim} and {hidden_dim}); "
                "set them equal or turn tying off"
            )
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(
            embed_dim,
            hidden_dim,
            num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.decoder = nn.Linear(hidden_dim, vocab_size)
        if tie_weights:
            self.decoder.weight = self.encoder.weight
        self.num_layers = num_layers
        self.hidden_dim = hidden_dim
        self._init_weights()

    def _init_weights(self) -> None:
        # pytorch/examples: small uniform embeddings/decoder, zero decoder bias
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        if self.decoder.weight is not self.encoder.weight:
            nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    @property
    def embedding_table(self) -> torch.Tensor:
        """The (vocab_size, embed_dim) input word vectors."""
        return self.encoder.weight

    def forward(self, x: torch.Tensor, hidden: Hidden = None):
        """Return (logits (B, T, V), (h, c) each (num_layers, B, H)) for word ids ``x`` (B, T).

        ``hidden=None`` starts from zeros; pass the returned state (detached, see
        :func:`detach_hidden`) to continue a stream across BPTT windows.
        """
        emb = self.drop(self.encoder(x))  # (B, T, E)
        out, hidden = self.lstm(emb, hidden)  # (B, T, H)
        return self.decoder(self.drop(out)), hidden  # (B, T, V)


def detach_hidden(hidden: Hidden) -> Hidden:
    """Cut the autograd history of a carried hidden state (truncated BPTT).

    Args:
        hidden: an LSTM's ``(h, c)``, or None (the embedding model's), returned as None.

    Returns:
        The same tensors, detached (no copy).
    """
    if hidden is None:
        return None
    return tuple(h.detach() for h in hidden)


MODELS = {"embedding": EmbeddingModel, "lstm": LSTMModel}


def build_model(kind: str, vocab_size: int, **kwargs) -> nn.Module:
    """Build ``"embedding"`` or ``"lstm"`` with the hyper-parameters that model takes.

    Args:
        kind: "embedding" (:class:`EmbeddingModel`) or "lstm" (:class:`LSTMModel`).
        vocab_size: number of word types V.
        **kwargs: ``embed_dim``; for "lstm" also ``hidden_dim``, ``num_layers``, ``dropout``
            and ``tie_weights``; a missing one takes the model's default.

    Raises:
        ValueError: unknown ``kind``, naming the valid ones, or a setting neither model takes.
    """
    takes = {"embedding": ("embed_dim",),
             "lstm": ("embed_dim", "hidden_dim", "num_layers", "dropout", "tie_weights")}
    unknown = sorted(set(kwargs) - set(takes["lstm"]))
    if unknown:
        raise InputError(f"build_model takes no {', '.join(unknown)}; the models take "
                         f"{', '.join(takes['lstm'])}")
    if kind not in MODELS:
        raise InputError(f"unknown model {kind!r}; choose one of {', '.join(MODELS)}")
    # the lstm's settings are ignored for the embedding model, as LMConfig's are
    return MODELS[kind](vocab_size, **{k: v for k, v in kwargs.items() if k in takes[kind]})
