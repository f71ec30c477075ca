"""A BERT encoder classifier in plain torch, and the loader of pretrained BERT weights
(all-MiniLM-L6-v2: 6 layers, 384 wide, 12 heads, the uncased WordPiece vocabulary).

The encoder is the original post-LayerNorm BERT: token + position + segment embeddings and a
LayerNorm, then per layer ``x = LN(x + Attention(x))`` and ``x = LN(x + FF(x))`` with a GELU
feed-forward network four times as wide. A linear head reads the mean of the last layer over the
real tokens (what sentence-transformers trained all-MiniLM-L6-v2 to pool). ``forward(ids,
lengths)`` returns logits like the lesson's other classifiers.

Example:
    >>> import torch
    >>> tiny = BertConfig(vocab_size=50, hidden_size=8, num_layers=1, num_heads=2)
    >>> BertClassifier(tiny)(torch.tensor([[2, 5, 3], [2, 3, 0]]), torch.tensor([3, 2])).shape
    torch.Size([2])
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.errors import DlcourseError, IncompatibleModelError, InputError
from dlcourse.text.batching import lengths_to_mask


@dataclass
class BertConfig:
    """Everything needed to rebuild a :class:`BertClassifier` (plain types: goes in checkpoints).

    The defaults are all-MiniLM-L6-v2's shape; tests build a tiny random encoder by passing a
    small ``hidden_size``/``num_layers``/``num_heads``. ``num_classes == 2`` gives one logit.
    """

    vocab_size: int = 30522
    num_classes: int = 2
    hidden_size: int = 384
    num_layers: int = 6
    num_heads: int = 12
    intermediate_size: int | None = None  # None: 4 * hidden_size
    max_positions: int = 512
    type_vocab_size: int = 2
    dropout: float = 0.1
    layer_norm_eps: float = 1e-12
    padding_idx: int = 0

    def __post_init__(self):
        if self.intermediate_size is None:
            self.intermediate_size = 4 * self.hidden_size
        for name in ("vocab_size", "hidden_size", "num_layers", "num_heads", "max_positions",
                     "type_vocab_size", "intermediate_size"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.hidden_size % self.num_heads:
            raise InputError(f"num_heads {self.num_heads} must divide hidden_size "
                             f"{self.hidden_size}")
        if self.num_classes < 2:
            raise InputError(f"num_classes must be >= 2, got {self.num_classes}")
        if not 0.0 <= self.dropout < 1.0:
            raise InputError(f"dropout must lie in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict:
        """Plain dict for checkpoints; ``BertConfig(**d)`` rebuilds it."""
        return asdict(self)

    @classmethod
    def from_hf(cls, path: str | Path, **changes) -> BertConfig:
        """The config of a Hugging Face BERT ``config.json`` (``changes`` set the rest, e.g.
        ``num_classes``).

        Args:
            path: the ``config.json`` file.
            **changes: further :class:`BertConfig` fields; they override the file's too.

        Raises:
            DlcourseError: the file is missing or not a BERT config.
        """
        try:
            hf = json.loads(Path(path).read_text(encoding="utf-8"))
            shape = dict(vocab_size=hf["vocab_size"], hidden_size=hf["hidden_size"],
                         num_layers=hf["num_hidden_layers"], num_heads=hf["num_attention_heads"],
                         intermediate_size=hf["intermediate_size"],
                         max_positions=hf["max_position_embeddings"],
                         type_vocab_size=hf.get("type_vocab_size", 2),
                         layer_norm_eps=hf.get("layer_norm_eps", 1e-12),
                         padding_idx=hf.get("pad_token_id", 0))
        except (OSError, ValueError, KeyError) as e:
            raise DlcourseError(f"{path}: not a BERT config.json ({e}); fetch the weights again "
                                "with `dlcourse data fetch minilm-l6`") from None
        if hf.get("hidden_act", "gelu") != "gelu":
            raise DlcourseError(f"{path}: hidden_act {hf['hidden_act']!r}; only gelu BERTs load")
        return cls(**{**shape, **changes})


class BertLayer(nn.Module):
    """One post-LN encoder layer: self-attention, then a GELU feed-forward network, each with a
    residual connection, dropout and a LayerNorm after the sum."""

    def __init__(self, c: BertConfig):
        super().__init__()
        d = c.hidden_size
        self.num_heads, self.dropout = c.num_heads, c.dropout
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.attn_out = nn.Linear(d, d)
        self.attn_norm = nn.LayerNorm(d, eps=c.layer_norm_eps)
        self.ff_in = nn.Linear(d, c.intermediate_size)
        self.ff_out = nn.Linear(c.intermediate_size, d)
        self.ff_norm = nn.LayerNorm(d, eps=c.layer_norm_eps)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """``x`` (B, T, D), ``keep`` (B, 1, 1, T) True on real tokens -> (B, T, D)."""
        B, T, D = x.shape
        # (B, T, D) -> (B, heads, T, D / heads)
        q, k, v = (f(x).view(B, T, self.num_heads, D // self.num_heads).transpose(1, 2)
                   for f in (self.query, self.key, self.value))
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=keep,
                                           dropout_p=self.dropout if self.training else 0.0)
        x = self.attn_norm(x + self.drop(self.attn_out(a.transpose(1, 2).reshape(B, T, D))))
        return self.ff_norm(x + self.drop(self.ff_out(F.gelu(self.ff_in(x)))))


class BertClassifier(nn.Module):
    """BERT encoder -> mean over the real tokens -> dropout -> linear head.

    ``forward(ids, lengths)``: ``ids`` (B, T) padded on the right (the lesson feeds
    ``[CLS] ... [SEP]`` WordPiece ids), ``lengths`` (B,) -> logits (B,) for two classes, (B, C)
    for more. Every text is in segment 0. The word embedding is the submodule ``embedding``, so
    word dropout and adversarial training work as for the other classifiers.
    """

    def __init__(self, config: BertConfig):
        """A randomly initialised encoder (BERT's N(0, 0.02)); :func:`load_bert_weights` fills it.

        Args:
            config: the shape, kept as ``self.config``.
        """
        super().__init__()
        c = self.config = config
        self.embedding = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.padding_idx)
        self.positions = nn.Embedding(c.max_positions, c.hidden_size)
        self.token_types = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.embed_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.layers = nn.ModuleList(BertLayer(c) for _ in range(c.num_layers))
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.hidden_size, 1 if c.num_classes == 2 else c.num_classes)
        # BERT's initialisation (N(0, 0.02) weights, zero biases): what a random encoder starts
        # from; pretrained weights overwrite all but the head
        for m in self.modules():
            if isinstance(m, nn.Linear | nn.Embedding):
                nn.init.normal_(m.weight, 0.0, 0.02)
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)
        with torch.no_grad():
            self.embedding.weight[c.padding_idx].zero_()

    def encode(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The last layer's states (B, T, D) of padded ids (B, T) (padding rows are junk).

        Args:
            ids: token ids (B, T) int64, padded on the right, T <= ``max_positions``.
            lengths: the real tokens of each row (B,).

        Raises:
            InputError: T exceeds ``max_positions``.
        """
        T = ids.shape[1]
        if T > self.config.max_positions:
            raise InputError(f"{T} tokens exceed the encoder's {self.config.max_positions} "
                             "positions; lower max_len")
        pos = torch.arange(T, device=ids.device)
        x = self.embedding(ids) + self.positions(pos)[None] + self.token_types.weight[0]
        x = self.drop(self.embed_norm(x))  # (B, T, D)
        keep = pos[None, :] < lengths.to(ids.device)[:, None]  # (B, T)
        mask = keep[:, None, None, :]  # (B, 1, 1, T): every query attends to real keys only
        for layer in self.layers:
            x = layer(x, mask)
        return x

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = self.encode(ids, lengths)  # (B, T, D)
        keep = lengths_to_mask(lengths.to(ids.device), ids.shape[1]).unsqueeze(-1).to(x.dtype)
        # keep: (B, T, 1)
        pooled = (x * keep).sum(1) / keep.sum(1).clamp_min(1.0)  # (B, D)
        logits = self.head(self.drop(pooled))  # (B, 1) or (B, C)
        return logits.squeeze(-1) if self.config.num_classes == 2 else logits


#: our submodule names -> the Hugging Face BERT names (per layer: with "encoder.layer.N.")
_EMBEDDING_NAMES = {"embedding": "word_embeddings", "positions": "position_embeddings",
                    "token_types": "token_type_embeddings", "embed_norm": "LayerNorm"}
_LAYER_NAMES = {"query": "attention.self.query", "key": "attention.self.key",
                "value": "attention.self.value", "attn_out": "attention.output.dense",
                "attn_norm": "attention.output.LayerNorm", "ff_in": "intermediate.dense",
                "ff_out": "output.dense", "ff_norm": "output.LayerNorm"}


def hf_name(name: str) -> str | None:
    """The Hugging Face name of one of our encoder parameters (None for the head).

    >>> hf_name("layers.2.ff_in.weight")
    'encoder.layer.2.intermediate.dense.weight'
    """
    parts = name.split(".")
    if parts[0] in _EMBEDDING_NAMES:
        return f"embeddings.{_EMBEDDING_NAMES[parts[0]]}.{parts[-1]}"
    if parts[0] == "layers":
        return f"encoder.layer.{parts[1]}.{_LAYER_NAMES[parts[2]]}.{parts[3]}"
    return None


def load_bert_weights(model: BertClassifier, path: str | Path) -> None:
    """Copy a Hugging Face BERT ``model.safetensors`` into ``model``'s encoder (the head keeps
    its initialisation). Names may carry a ``bert.`` prefix; the pooler is not used.

    Args:
        model: the classifier whose encoder is overwritten, in place.
        path: the safetensors file.

    Raises:
        IncompatibleModelError: a parameter missing from the file, or of another shape.
    """
    from safetensors.torch import load_file

    state = load_file(str(path))
    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in state else ""
    wanted = {prefix + hf_name(n) for n, _ in model.named_parameters() if hf_name(n)}
    # strict: encoder weights the model has no place for (more layers ...) are a mismatch too
    extra = sorted(k for k in state if k.startswith((prefix + "embeddings.", prefix + "encoder."))
                   and k not in wanted and not k.endswith("position_ids"))
    if extra:
        raise IncompatibleModelError(f"{path}: {len(extra)} encoder tensors the model lacks "
                                     f"(e.g. {extra[0]}); not a BERT encoder of this shape")
    with torch.no_grad():
        for name, param in model.named_parameters():
            source = hf_name(name)
            if source is None:
                continue
            tensor = state.get(prefix + source)
            if tensor is None:
                raise IncompatibleModelError(f"{path}: no {prefix + source} for {name}; not a "
                                             "BERT encoder of this shape")
            if tensor.shape != param.shape:
                raise IncompatibleModelError(
                    f"{path}: {prefix + source} has shape {tuple(tensor.shape)}, the encoder "
                    f"expects {tuple(param.shape)} ({name})")
            param.copy_(tensor)
