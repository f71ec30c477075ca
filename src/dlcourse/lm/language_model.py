"""LanguageModel: config, training with the engine's ``fit``, evaluation, generation, save/load."""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from dlcourse.engine import (
    fit,
    load_checkpoint,
    resolve_device,
    save_checkpoint,
    seed_everything,
)
from dlcourse.engine.distributed import (
    all_reduce_sum,
    barrier,
    is_distributed,
    is_main_process,
    rank,
    world_size,
    wrap_model,
)
from dlcourse.errors import DlcourseError
from dlcourse.lm.batching import BPTTBatches
from dlcourse.lm.corpus import EOS, UNK, Corpus
from dlcourse.lm.inference import sample, stream_loss, stream_totals
from dlcourse.lm.models import MODELS, build_model, detach_hidden

log = logging.getLogger(__name__)

OPTIMIZERS = ("adam", "sgd")


@dataclass
class LMConfig:
    """Every hyper-parameter of a language-model run; the single home of the defaults.

    The field defaults are the CPU-sized LSTM. :meth:`preset` gives the named recipes:
    ``embedding`` (the lesson: 100-d table, Adam 1e-3, cross-entropy, 10 epochs, nothing else),
    ``lstm`` (these defaults) and ``ptb-medium`` (Zaremba et al.'s medium LSTM, for a GPU).
    """

    model: str = "lstm"  # "embedding" | "lstm"
    embed_dim: int = 200
    hidden_dim: int = 200
    num_layers: int = 2
    dropout: float = 0.2
    tie_weights: bool = True
    bptt: int = 35  # window length of truncated back-propagation through time
    batch_size: int = 20  # parallel streams
    eval_batch_size: int = 10
    epochs: int = 10
    optimizer: str = "adam"  # "adam" | "sgd"
    lr: float = 2e-3
    grad_clip: float | None = 0.25
    lr_decay: float | None = 0.25  # LR factor when valid loss does not improve (None: constant)
    patience: int | None = 2  # early stop after this many epochs without improvement
    shuffle: bool = False  # random window order; only for the stateless embedding model
    amp: bool = False  # mixed precision (CUDA only; ignored on CPU)
    seed: int = 0

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; choose one of {', '.join(MODELS)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}"
            )
        if self.shuffle and self.model != "embedding":
            raise ValueError("shuffle breaks the carried hidden state; use it with model=embedding")
        if self.lr <= 0 or self.epochs < 1 or self.bptt < 1 or self.batch_size < 1:
            raise ValueError("lr must be > 0 and epochs, bptt, batch_size >= 1")

    @classmethod
    def preset(cls, name: str, **overrides) -> LMConfig:
        """A named recipe with ``overrides`` applied (``None`` values are ignored).

        Example:
            >>> LMConfig.preset("embedding").embed_dim
            100
        """
        recipes = {
            "embedding": dict(
                model="embedding", embed_dim=100, optimizer="adam", lr=1e-3, epochs=10,
                grad_clip=None, lr_decay=None, patience=None, shuffle=True,
            ),
            "lstm": {},
            # Zaremba et al. 2014 medium size with the pytorch/examples optimiser (SGD lr 20,
            # /4 on plateau, clip 0.25): ~82 test perplexity on PTB after 39 epochs on a GPU.
            "ptb-medium": dict(
                embed_dim=650, hidden_dim=650, num_layers=2, dropout=0.5, tie_weights=False,
                epochs=39, optimizer="sgd", lr=20.0, grad_clip=0.25, lr_decay=0.25, patience=None,
            ),
        }
        if name not in recipes:
            raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(recipes)}")
        values = {**recipes[name], **{k: v for k, v in overrides.items() if v is not None}}
        return cls(**values)

    def to_dict(self) -> dict:
        """Plain-typed copy for checkpoints."""
        return dataclasses.asdict(self)


class LanguageModel:
    """A word-level language model: train, measure perplexity, generate, inspect the table.

    ``__init__`` only stores the config; :meth:`fit` builds and trains the network with the
    engine's ``fit`` (hidden state carried across windows and detached, reset each epoch,
    gradient clipping, LR decay on plateau, early stopping on valid perplexity, best weights
    kept). Learned attributes end in ``_``: ``model_``, ``itos_``, ``tokenizer_config_``,
    ``history_``.

    Example:
        >>> from dlcourse.lm import LanguageModel, LMConfig, load_corpus  # doctest: +SKIP
        >>> corpus = load_corpus("wordnet")  # doctest: +SKIP
        >>> lm = LanguageModel(LMConfig.preset("lstm")).fit(corpus)  # doctest: +SKIP
        >>> lm.perplexity(corpus.test), lm.generate("a piece of", temperature=0.8)  # doctest: +SKIP
    """

    def __init__(self, config: LMConfig | None = None):
        self.config = config or LMConfig()

    # ----------------------------------------------------------------------- training
    def _build(self, vocab_size: int) -> torch.nn.Module:
        c = self.config
        return build_model(
            c.model, vocab_size, embed_dim=c.embed_dim, hidden_dim=c.hidden_dim,
            num_layers=c.num_layers, dropout=c.dropout, tie_weights=c.tie_weights,
        )

    def fit(
        self,
        corpus: Corpus,
        out_dir: str | Path | None = None,
        device: str | torch.device = "auto",
        resume: bool = False,
        progress: bool = True,
    ) -> LanguageModel:
        """Train on ``corpus.train``, validating on ``corpus.valid`` after every epoch.

        Under a process group (torchrun, after
        :func:`dlcourse.engine.distributed.init_distributed`) every rank trains the
        DistributedDataParallel-wrapped model on its share of the ``batch_size`` streams (rows
        ``rank::world_size``), so N processes train like one process with the same
        ``batch_size``; the validation loss is summed over ranks, so early stopping and the LR
        decay agree everywhere; only rank 0 writes to ``out_dir``, which every rank must see.

        Args:
            corpus: id streams and vocabulary (:func:`dlcourse.lm.load_corpus`).
            out_dir: if given, ``last.pt``/``best.pt``/``history.json`` each epoch (resumable)
                and ``model.pt`` (the best weights) at the end.
            device: ``"auto"``, ``"cpu"``, ``"cuda"`` ...
            resume: continue an interrupted run from ``out_dir/last.pt``.
            progress: show a progress bar (when on a terminal).

        Returns:
            ``self``, with ``history_`` a list of per-epoch dicts (``train_loss``, ``valid_loss``,
            ``valid_ppl``, ``lr``, ``items_per_s`` = training tokens/s of all ranks ...).

        Raises:
            ValueError: under a process group, ``batch_size`` is not a multiple of the number
                of processes.
        """
        c = self.config
        world = world_size() if is_distributed() else 1
        if c.batch_size % world:
            raise ValueError(
                f"batch_size {c.batch_size} does not split evenly over {world} processes; "
                f"use a multiple of {world}"
            )
        seed_everything(c.seed)
        self.device_ = resolve_device(device)
        self.itos_ = list(corpus.itos)
        self.tokenizer_config_ = dict(corpus.tokenizer_config)
        self.data_name_ = corpus.name
        vocab_size = len(self.itos_)
        model = self._build(vocab_size).to(self.device_)
        self.model_ = model
        shard = {"rank": rank() if world > 1 else 0, "world_size": world}

        # every rank reads the same window positions of its own rows, so the shuffled order
        # (drawn from the identically seeded global generator) agrees between ranks
        loader = BPTTBatches(corpus.train, c.batch_size, c.bptt, shuffle=c.shuffle, **shard)
        carried = {"hidden": None}

        def reset_hidden(_epoch: int) -> None:
            carried["hidden"] = None

        def step_fn(m, batch):
            x, y = batch  # (B / world, T) each
            logits, hidden = m(x, carried["hidden"])  # (B / world, T, V); m may be DDP
            carried["hidden"] = detach_hidden(hidden)
            loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
            return loss, y.numel()

        best = {"loss": math.inf, "state": None}

        def evaluate_fn(_m) -> dict[str, float]:
            # the bare module: no DDP synchronisation in a forward-only pass; each rank reads
            # its rows and the sums make every rank's metric that of the whole valid stream
            total, count = stream_totals(
                model, corpus.valid, c.eval_batch_size, c.bptt, self.device_, **shard
            )
            total, count = all_reduce_sum([total, count])
            loss = total / count
            if loss < best["loss"]:
                best["loss"] = loss
                best["state"] = copy.deepcopy(model.state_dict())
            return {"valid_loss": loss, "valid_ppl": math.exp(loss)}

        if c.optimizer == "adam":
            optimizer = torch.optim.Adam(model.parameters(), lr=c.lr)
        else:
            optimizer = torch.optim.SGD(model.parameters(), lr=c.lr)
        scheduler = None
        if c.lr_decay is not None:
            scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, mode="min", factor=c.lr_decay, patience=0
            )
        self.history_ = fit(
            wrap_model(model, self.device_), loader, step_fn, optimizer, c.epochs,
            evaluate_fn=evaluate_fn, scheduler=scheduler, monitor="valid_loss", mode="min",
            patience=c.patience, grad_clip=c.grad_clip, device=self.device_, amp=c.amp,
            out_dir=out_dir, resume=resume, checkpoint_extra=self._extra(),
            on_epoch_start=reset_hidden, desc=f"lm {c.model}", progress=progress,
        )
        barrier()  # rank 0 has written best.pt before any rank reads it
        if out_dir is not None and (Path(out_dir) / "best.pt").exists():
            # covers resumed runs, whose best epoch may predate this process
            model.load_state_dict(load_checkpoint(Path(out_dir) / "best.pt")["model"])
        elif best["state"] is not None:
            model.load_state_dict(best["state"])
        if out_dir is not None and is_main_process():
            self.save(out_dir)
        return self

    # ---------------------------------------------------------------------- inference
    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise DlcourseError("the language model is not trained; call fit() or load() first")

    def perplexity(self, ids: torch.Tensor) -> float:
        """Perplexity on a (N,) id stream (e.g. ``corpus.test``), hidden state carried."""
        self._check_fitted()
        c = self.config
        return math.exp(stream_loss(self.model_, ids, c.eval_batch_size, c.bptt))

    def evaluate(self, corpus: Corpus) -> dict[str, float]:
        """``valid_ppl`` and ``test_ppl`` on a corpus encoded with this model's vocabulary.

        Raises:
            ValueError: the corpus has another vocabulary.
        """
        self._check_fitted()
        if list(corpus.itos) != self.itos_:
            raise ValueError(
                "the corpus vocabulary differs from the model's; encode it with "
                "LanguageModel.encode or load_corpus(..., vocab=model.itos_)"
            )
        return {"valid_ppl": self.perplexity(corpus.valid),
                "test_ppl": self.perplexity(corpus.test)}

    def tokenize(self, text: str) -> list[str]:
        """Tokens of ``text`` with the tokenizer the model was trained with."""
        from dlcourse.text import tokenizer_from_config

        return tokenizer_from_config(self.tokenizer_config_)(text)

    def encode(self, lines: list[str]) -> torch.Tensor:
        """(N,) id stream of ``lines`` in this model's vocabulary, ``<eos>`` after each line."""
        self._check_fitted()
        stoi = {w: i for i, w in enumerate(self.itos_)}
        unk, eos = stoi[UNK], stoi[EOS]
        ids: list[int] = []
        for line in lines:
            tokens = self.tokenize(line)
            if tokens:
                ids.extend(stoi.get(t, unk) for t in tokens)
                ids.append(eos)
        return torch.tensor(ids, dtype=torch.long)

    def generate(
        self,
        prompt: str = "",
        max_tokens: int = 30,
        temperature: float = 1.0,
        top_k: int | None = None,
        seed: int | None = None,
        stop_at_eos: bool = False,
        allow_unk: bool = False,
    ) -> str:
        """Sample a continuation of ``prompt`` (returned without the prompt).

        The prompt is tokenized like the training text and preceded by ``<eos>`` (a sentence
        start); unknown words become ``<unk>``. Same ``seed``, same text.

        Args:
            prompt: conditioning text (may be empty).
            max_tokens: words to draw.
            temperature: 0 greedy, < 1 safer, > 1 more varied.
            top_k: restrict each draw to the ``top_k`` most likely words.
            seed: seed of the sampling generator (``None``: nondeterministic).
            stop_at_eos: stop at the end of the sentence (the ``<eos>`` is kept).
            allow_unk: let the sampler draw ``<unk>`` (by default it is never drawn).
        """
        self._check_fitted()
        stoi = {w: i for i, w in enumerate(self.itos_)}
        prompt_ids = [stoi[EOS]] + [stoi.get(t, stoi[UNK]) for t in self.tokenize(prompt)]
        generator = torch.Generator()
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(seed)
        ids = sample(
            self.model_, prompt_ids, max_tokens, temperature, top_k, generator,
            stop_id=stoi[EOS] if stop_at_eos else None,
            banned_ids=tuple(stoi[w] for w in ("<pad>",) + (() if allow_unk else (UNK,))
                             if w in stoi),
        )
        return " ".join(self.itos_[i] for i in ids)

    # ------------------------------------------------------------------ word vectors
    def keyed_vectors(self):
        """The input embedding table as :class:`dlcourse.embeddings.KeyedVectors` (no ``<pad>``)."""
        from dlcourse.embeddings import KeyedVectors

        self._check_fitted()
        table = self.model_.embedding_table.detach().float().cpu().numpy()  # (V, E)
        keep = [i for i, w in enumerate(self.itos_) if w != "<pad>"]
        return KeyedVectors([self.itos_[i] for i in keep], table[keep])

    def most_similar(self, word: str, topn: int = 10) -> list[tuple[str, float]]:
        """Nearest words to ``word`` by cosine similarity in the embedding table."""
        return self.keyed_vectors().most_similar(word, topn=topn)

    def export_vectors(self, path: str | Path) -> Path:
        """Write the embedding table in word2vec text format (gensim and GloVe tools read it)."""
        path = Path(path)
        self.keyed_vectors().save_word2vec_format(path)
        return path

    # ---------------------------------------------------------------------- save/load
    def _extra(self) -> dict:
        return {
            "lesson": "lm",
            "config": {
                **self.config.to_dict(),
                "tokenizer": self.tokenizer_config_,
                "data": self.data_name_,
            },
            "vocab": self.itos_,
            "classes": None,
        }

    def save(self, out_dir: str | Path) -> Path:
        """Write ``out_dir/model.pt`` (weights, config, vocabulary, history); return its path."""
        self._check_fitted()
        path = Path(out_dir) / "model.pt"
        save_checkpoint(path, {
            **self._extra(),
            "model": self.model_.state_dict(),
            "epoch": len(self.history_),
            "history": self.history_,
        })
        return path

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "auto") -> LanguageModel:
        """Load ``model.pt`` (or a directory holding it) written by :meth:`save` or ``fit``.

        Raises:
            FileNotFoundError: no such file.
            DlcourseError: the file is not a dlcourse language-model checkpoint.
        """
        path = Path(path)
        if path.is_dir():
            path = path / "model.pt"
        if not path.exists():
            raise FileNotFoundError(f"no model at {path}; train one with `dlcourse lm train`")
        state = load_checkpoint(path)
        if state.get("lesson") != "lm":
            raise DlcourseError(
                f"{path} is not a language-model checkpoint (lesson {state.get('lesson')!r}); "
                "pass the model.pt of `dlcourse lm train`"
            )
        cfg = dict(state["config"])
        names = {f.name for f in dataclasses.fields(LMConfig)}
        lm = cls(LMConfig(**{k: v for k, v in cfg.items() if k in names}))
        lm.itos_ = list(state["vocab"])
        lm.tokenizer_config_ = dict(cfg["tokenizer"])
        lm.data_name_ = cfg["data"]
        lm.history_ = list(state.get("history", []))
        lm.device_ = resolve_device(device)
        lm.model_ = lm._build(len(lm.itos_))
        lm.model_.load_state_dict(state["model"])
        lm.model_.to(lm.device_).eval()
        return lm
