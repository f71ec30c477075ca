"""LanguageModel: the estimator that trains, measures, samples and saves a word-level model."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import torch

from dlcourse.engine import fit, seed_everything
from dlcourse.engine.config import Config
from dlcourse.engine.distributed import (
    active_ranks,
    all_reduce_sum,
    check_global_batch,
    rank_device,
    wrap_model,
)
from dlcourse.engine.estimator import Estimator, load_module_arrays, module_arrays
from dlcourse.errors import InputError
from dlcourse.lm.batching import BPTTBatches
from dlcourse.lm.config import (
    EVAL_BATCH_SIZE,
    PRESETS,
    LMConfig,
    auto_eval_streams,
    check_streams,
    data_settings,
    most_streams,
)
from dlcourse.lm.corpus import SPECIALS, Corpus
from dlcourse.lm.inference import (
    perplexity_of,
    stream_loss,
    stream_totals,
)
from dlcourse.lm.ngram import token_ids
from dlcourse.lm.text_methods import TextMethods
from dlcourse.lm.training import CarriedHidden, best_epoch, build_for, make_optimizer
from dlcourse.lm.word_vectors import EmbeddingVectors

log = logging.getLogger(__name__)


class LanguageModel(TextMethods, EmbeddingVectors, Estimator):
    """A word-level language model: train, measure perplexity, generate, inspect the table.

    ``LanguageModel(config)`` or ``LanguageModel(config, epochs=3)`` or
    ``LanguageModel("embedding", epochs=3)`` only store the settings
    (:class:`~dlcourse.lm.LMConfig`); without a config the model's name starts from its recipe
    (:meth:`~dlcourse.lm.LMConfig.preset`, as ``lm train --model embedding`` does: 100-d, Adam
    1e-3, no clipping, shuffled windows), the fields given changing it. :meth:`fit` builds and
    trains the network with the engine's ``fit`` (hidden state carried across windows and
    detached, reset each epoch, gradient clipping, LR decay on plateau, early stopping on valid
    perplexity, best weights kept, exact resume). Learned attributes end in ``_``: ``model_``,
    ``itos_``, ``tokenizer_config_``, ``data_name_``, ``best_epoch_`` (the epoch whose weights
    were kept, as the classifier's), ``corpus_settings_`` (the corpus's
    :attr:`~dlcourse.lm.corpus.Corpus.settings`: its split can be read again), ``history_``,
    ``device_``, ``eval_batch_size_`` (the streams perplexity is measured with: an
    ``eval_batch_size`` left at None resolved by ``fit``, as ``lm train`` resolves it).
    ``save(dir)`` / ``LanguageModel.load(dir, device=...)`` use the one model file of every
    lesson (``dir/model.safetensors``), whose config holds the ``eval_batch_size`` used.

    Example:
        >>> from dlcourse.lm import LanguageModel, LMConfig, load_corpus  # doctest: +SKIP
        >>> corpus = load_corpus("wordnet")  # doctest: +SKIP
        >>> lm = LanguageModel(LMConfig.preset("lstm")).fit(corpus)  # doctest: +SKIP
        >>> lm.perplexity(corpus.test), lm.generate("a piece of", temperature=0.8)  # doctest: +SKIP
    """

    config_class = LMConfig
    lesson = "lm"
    positional = ("model",)
    framework = "torch"
    fitted_attribute = "model_"

    def __init__(self, *args: Any, config: LMConfig | None = None, **params: Any) -> None:
        """Store the settings only (see the class); :meth:`fit` builds the network.

        Args:
            config: an LMConfig (or by position); None: ``model``'s recipe and the fields given.
        """
        super().__init__(*args, config=config, **params)
        if config is None and not (args and isinstance(args[0], Config)) \
                and self.config.model in PRESETS:
            # no config: the model's recipe, then the fields given (None too: grad_clip=None)
            given = {**dict(zip(self.positional, args)), **params}
            self.config = LMConfig.preset(self.config.model).replace(**given)

    def set_params(self, **params: Any) -> LanguageModel:
        """As :meth:`Estimator.set_params`; a new ``model`` also brings its recipe: every setting
        still at the old model's recipe takes the new one's, as ``LanguageModel(model=...)``
        gives them (so a grid over ``model`` trains each recipe, not the LSTM's settings on the
        lesson's model). Settings changed before, or given in the same call, stay."""
        old, new = self.config.model, params.get("model", self.config.model)
        if new != old and old in PRESETS and new in PRESETS:
            given = {self.config_class.all_aliases().get(name, name) for name in params}
            before, after = LMConfig.preset(old), LMConfig.preset(new)
            for name in self.config.field_names():
                if name not in given and getattr(self.config, name) == getattr(before, name):
                    params[name] = getattr(after, name)
        return super().set_params(**params)

    # ----------------------------------------------------------------------- training
    def fit(
        self,
        corpus: Corpus,
        *,
        out_dir: str | Path | None = None,
        resume: bool = False,
    ) -> LanguageModel:
        """Train on ``corpus.train``, validating on ``corpus.valid`` after every epoch.

        Under a process group (torchrun, after
        :func:`dlcourse.engine.distributed.init_distributed`) every rank trains the
        DistributedDataParallel-wrapped model on its share of the ``batch_size`` streams (rows
        ``rank::world_size``), so N processes train like one process with the same
        ``batch_size``; the validation loss is summed over ranks, so early stopping and the LR
        decay agree everywhere; only rank 0 writes to ``out_dir``, which every rank must see.

        ``eval_batch_size`` left at None (the default) is resolved from the data as ``lm
        train`` resolves it (:func:`~dlcourse.lm.config.auto_eval_streams`): 10 streams, or the
        most the valid and test splits hold when they are shorter, with a note on the log. The
        value used is ``eval_batch_size_``, the checkpoints' and the saved model's.

        Args:
            corpus: id streams and vocabulary (:func:`dlcourse.lm.load_corpus`).
            out_dir: if given, ``last.pt``/``best.pt``/``history.json`` each epoch (and
                ``last.pt`` on Ctrl-C) and ``model.safetensors`` (the best weights) at the end.
            resume: continue an interrupted run from ``out_dir/last.pt``, from the exact window
                where it stopped (same weights as a run never interrupted, bit for bit on CPU).

        Returns:
            ``self``, with ``history_`` a list of per-epoch dicts (``train_loss``, ``valid_loss``,
            ``valid_ppl``, ``lr``, ``items_per_s`` = training tokens/s of all ranks ...).

        Raises:
            ConfigError: a setting out of range; a ``batch_size`` the train split or an
                ``eval_batch_size`` set that the valid split cannot hold (two tokens a stream, see
                :func:`~dlcourse.lm.config.check_streams`), before a model is built; under a process
                group a ``batch_size`` that is not a multiple of the number of processes.
            DlcourseError: not a Corpus, or one whose vocabulary holds only the specials;
                ``resume`` onto a run of another lesson, other settings or other data (corpus,
                tokenizer, lines, or the text itself: "trained on other data (...)").
        """
        c = self.validated_config(out_dir, resume)
        if not isinstance(corpus, Corpus):
            raise InputError("fit takes a Corpus (dlcourse.lm.load_corpus(NAME or FILE), or "
                             f"corpus_from_splits(...)), got {type(corpus).__name__}")
        if set(corpus.itos) <= set(SPECIALS):  # every word of the text would be <unk>
            raise InputError(f"the vocabulary of {corpus.name!r} holds no word besides "
                             f"{', '.join(SPECIALS)}; load it with a lower min_freq")
        rank, world = active_ranks()
        check_global_batch(c.batch_size, world)
        # before the model is built: the streams a small text holds where none were set, and
        # streams set that the splits cannot hold (a typo, or a tiny text)
        tokens = {split: getattr(corpus, split).numel() for split in ("train", "valid", "test")}
        c, note = auto_eval_streams(c, tokens)
        check_streams(c, {split: tokens[split] for split in ("train", "valid")},
                      repr(corpus.name))
        if note is not None:  # after the refusal of streams set, which would come alone
            log.warning("note: %s", note)
        seed_everything(c.seed, deterministic=c.deterministic)
        device = rank_device(c.device)
        itos = list(corpus.itos)
        model = build_for(c, len(itos)).to(device)
        # every rank reads the same window positions of its own rows; a shuffled order is drawn
        # from the global generator as each pass starts, so it agrees between the identically
        # seeded ranks, and a resumed epoch (whose starting RNG state the engine restores)
        # visits the windows in the same order as the interrupted one. The stream moves to the
        # device once (a few MB even for PTB), so no window is copied from the host
        loader = BPTTBatches(corpus.train.to(device), c.batch_size, c.bptt, shuffle=c.shuffle,
                             rank=rank, world_size=world)
        carried = CarriedHidden(device, rank, world)

        def evaluate_fn(_model) -> dict[str, float]:
            # the bare module: no DDP synchronisation in a forward-only pass; each rank reads
            # its rows and the sums make every rank's metric that of the whole valid stream
            total, count = stream_totals(model, corpus.valid, c.eval_batch_size, c.bptt, device,
                                         rank=rank, world_size=world, amp=c.amp)
            total, count = all_reduce_sum([total, count])
            loss = total / count
            return {"valid_loss": loss, "valid_ppl": perplexity_of(loss)}

        optimizer, scheduler = make_optimizer(model, c)
        # what a resumed run must agree with: every setting but patience (the engine lets
        # epochs and device change too) and how the data was read, each refused naming it;
        # then the text: "training_texts", a key the engine words as "trained on other data
        # (...)". The vocabulary keys only compare with checkpoints saved before it was kept
        settings = {**c.resume_values(),
                    **data_settings(corpus.name, corpus.tokenizer_config, corpus.settings),
                    "training_texts": corpus.fingerprint(), "vocab_size": len(itos),
                    "vocab_sha256": hashlib.sha256("\n".join(itos).encode()).hexdigest()[:16]}
        history = fit(
            wrap_model(model, device), loader, carried.step, optimizer, c.epochs,
            evaluate_fn=evaluate_fn, scheduler=scheduler, monitor="valid_loss", mode="min",
            patience=c.patience, grad_clip=c.grad_clip, device=device, amp=c.amp,
            out_dir=out_dir, resume=resume,
            checkpoint_extra={"lesson": self.lesson, "config": settings},
            extra_state=(carried.state_dict, carried.load_state_dict),
            on_epoch_start=carried.reset, restore_best=True, desc=f"lm {c.model}",
            progress=c.progress)
        self.model_ = model.eval()
        self.itos_ = itos
        self.tokenizer_config_ = dict(corpus.tokenizer_config)
        self.data_name_ = corpus.name
        self.corpus_settings_ = dict(corpus.settings)
        self.history_ = history
        self.best_epoch_ = best_epoch(history)
        self.device_ = device
        self.eval_batch_size_ = c.eval_batch_size
        if out_dir is not None:
            self._save_run(out_dir)  # rank 0 only
        return self

    def save(self, directory: str | Path) -> Path:
        """As :meth:`Estimator.save`; the file's config holds the ``eval_batch_size`` the model
        was measured with (``eval_batch_size_`` where the setting was left at None), so the
        loaded model, ``lm evaluate`` and a resumed run measure as this one did.

        Args: see :meth:`Estimator.save`.
        """
        if self.config.eval_batch_size is not None or not self.is_fitted:
            return super().save(directory)
        auto, self.config = self.config, self.config.replace(
            eval_batch_size=self.eval_batch_size_)
        try:
            return super().save(directory)
        finally:
            self.config = auto

    # ---------------------------------------------------------------------- inference
    def perplexity(self, ids: torch.Tensor) -> float:
        """Perplexity on a (N,) id stream (e.g. ``corpus.test``; a list or numpy array of ids
        too), hidden state carried, read as ``eval_batch_size`` streams; a stream too short for
        them (two tokens a stream) is read as the most it holds, with a note on the log (the
        figure is not comparable with one read as ``eval_batch_size`` streams). Text is
        measured as ``perplexity(lm.encode(text))``.

        Args:
            ids: (N,) token ids, integers in ``[0, V)`` (a tensor, numpy array or list).

        Raises:
            NotFittedError: before ``fit`` or ``load``.
            InputError: text (naming :meth:`encode`), a Corpus (naming :meth:`evaluate`) or
                another object instead of ids; fewer than two ids, or ids that are not integers
                of the vocabulary.
        """
        self.check_is_fitted()
        if getattr(ids, "ndim", 1) > 1:  # rows of a batch were read as one stream
            raise InputError(f"perplexity takes one (N,) id stream, got shape "
                             f"{tuple(ids.shape)}; pass ids.reshape(-1) if the rows are one "
                             "text in order")
        ids = torch.from_numpy(token_ids(
            ids, len(self.itos_), "encode the text with LanguageModel.encode", taker="perplexity",
            text_fix="encode it first: lm.perplexity(lm.encode(text))"))
        value, note = self._perplexity(ids, "")
        if note:
            log.warning("note: %s", note)
        return value

    def _perplexity(self, ids: torch.Tensor, split: str) -> tuple[float, str | None]:
        """Perplexity of checked ids, and the note when they hold fewer streams than asked."""
        c = self.config
        # a value set after fit measures with it; None: the streams fit resolved
        streams = self.eval_batch_size_ if c.eval_batch_size is None else c.eval_batch_size
        most = most_streams(ids.numel())
        note = None
        if streams > most and ids.numel() >= 2:  # fewer: stream_loss's refusal
            note = (f"{split}{ids.numel():,} tokens hold at most {most:,} of the {streams:,} "
                    "streams of eval_batch_size (two tokens a stream): "
                    f"perplexity measured with {most:,}")
        return perplexity_of(stream_loss(self.model_, ids, streams, c.bptt, amp=c.amp)), note

    def evaluate(self, corpus: Corpus) -> dict[str, float]:
        """``valid_ppl`` and ``test_ppl`` on a corpus encoded with this model's vocabulary, and
        the share of each split's tokens that are ``<unk>`` (``valid_unk``, ``test_unk``, 0 to
        1): a perplexity over mostly-unknown text measures little of it.

        Args:
            corpus: a :class:`Corpus` in this model's words (``load_corpus(..., vocab=lm.itos_)``).

        Raises:
            InputError: not a Corpus, or a corpus with another vocabulary.
        """
        self.check_is_fitted()
        if not isinstance(corpus, Corpus):
            other = ("for a text use perplexity(lm.encode(text))" if isinstance(corpus, str)
                     else "for a token id stream use perplexity(ids)")
            raise InputError("evaluate takes a Corpus (load_corpus(NAME or FILE, "
                             f"vocab=model.itos_)), got {type(corpus).__name__}; {other}")
        if list(corpus.itos) != self.itos_:
            raise InputError(
                "the corpus vocabulary differs from the model's; encode it with "
                "LanguageModel.encode or load_corpus(..., vocab=model.itos_)"
            )
        (valid, valid_note), (test, test_note) = (
            self._perplexity(torch.from_numpy(token_ids(ids, len(self.itos_))), f"{name}: ")
            for name, ids in (("the valid split", corpus.valid), ("the test split", corpus.test)))
        for note in dict.fromkeys(n for n in (valid_note, test_note) if n):  # said once each
            log.warning("note: %s", note)
        return {"valid_ppl": valid, "valid_unk": corpus.unknown_share("valid"),
                "test_ppl": test, "test_unk": corpus.unknown_share("test")}

    # ---------------------------------------------------------------------- save/load
    def _get_state(self) -> tuple[dict, dict]:
        """The weights as tensors; vocabulary, tokenizer, data, corpus settings and history as
        JSON."""
        values = {"itos": self.itos_, "tokenizer": self.tokenizer_config_,
                  "data": self.data_name_, "corpus": self.corpus_settings_,
                  "history": self.history_}
        return module_arrays(self.model_), values

    def _set_state(self, arrays: dict, values: dict) -> None:
        self.itos_ = list(values["itos"])
        self.tokenizer_config_ = dict(values["tokenizer"])
        self.data_name_ = values.get("data")
        # files written before the settings were kept have none: evaluate then reads all lines
        self.corpus_settings_ = dict(values.get("corpus") or {})
        self.history_ = list(values.get("history") or [])
        self.best_epoch_ = best_epoch(self.history_)
        self.eval_batch_size_ = self.config.eval_batch_size or EVAL_BATCH_SIZE
        model = build_for(self.config, len(self.itos_))
        # a vocabulary or size that does not match the arrays is one IncompatibleModelError
        load_module_arrays(model, arrays, where="the language-model file")
        self.device_ = rank_device(self.config.device)
        self.model_ = model.to(self.device_).eval()

