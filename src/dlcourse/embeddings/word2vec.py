"""Word2Vec (skip-gram and CBOW, negative sampling): numba Hogwild kernel on CPU, torch on GPU."""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from dlcourse.embeddings import corpus as _corpus
from dlcourse.embeddings.base import VectorEstimator, check_callback, with_progress
from dlcourse.embeddings.checkpoint import (
    RunCheckpoint,
    check_resumable,
    data_fingerprint,
    interrupted_message,
)
from dlcourse.embeddings.config import Word2VecConfig
from dlcourse.embeddings.corpus import Corpus, encode_blocks, scan_corpus
from dlcourse.embeddings.gensim_training import GensimTraining
from dlcourse.embeddings.ranks import any_rank, process_group
from dlcourse.embeddings.sampling import keep_probabilities
from dlcourse.embeddings.vectors import KeyedVectors
from dlcourse.embeddings.word2vec_cpu import EpochProgress
from dlcourse.engine.distributed import barrier
from dlcourse.engine.interrupt import StopGuard, say_resuming, stopped_at_once
from dlcourse.errors import (
    ConfigError,
    DlcourseError,
    IncompatibleModelError,
    TrainingInterrupted,
)

log = logging.getLogger(__name__)

CACHE_TOKENS = 50_000_000  # keep encoded blocks in memory between epochs below this (200 MB)
# a trained model's (words, input vectors, output vectors), which Word2Vec._fit continues from
Start = tuple[list[str], np.ndarray, np.ndarray]


class Word2Vec(VectorEstimator, GensimTraining):
    """Skip-gram or CBOW with negative sampling, subsampling, dynamic window and linear lr decay.

    ``Word2Vec("cbow", vector_size=50)`` or ``Word2Vec(config=Word2VecConfig(...))`` only stores
    the settings (:class:`~dlcourse.embeddings.config.Word2VecConfig`, gensim's names and
    defaults); :meth:`fit` trains and returns ``self``. Learned attributes end in ``_``:
    ``wv_`` (the vectors, a :class:`KeyedVectors`), ``syn1neg_`` (the output vectors),
    ``counts_`` (word counts), ``history_`` (per epoch: loss per output, words, seconds,
    words/s) and ``comm_seconds_`` (time exchanging updates between torchrun ranks). The one
    exception to the ``_`` rule is ``wv``, gensim's name, kept as a read-only alias of ``wv_``
    so gensim code (``model.wv.most_similar(...)``) runs unchanged; gensim's two-step
    ``build_vocab`` and ``train`` work too, a second ``train`` continuing from the trained
    vectors (:mod:`~dlcourse.embeddings.gensim_training`), while ``fit`` always starts afresh.

    On CPU (``backend="auto"`` or ``"numba"``) a compiled numba kernel runs ``workers`` threads
    that update shared weights without locks (Hogwild, as word2vec.c and gensim do): results are
    reproducible for a seed only with ``workers=1``; this path never imports torch. When
    ``device`` resolves to an accelerator (``"cuda"``, or ``"auto"`` on a GPU machine), or with
    ``backend="torch"``, a batched torch implementation runs on that device instead
    (``batch_size`` pairs or windows per step).

    Under torchrun (``dlcourse.engine.distributed.init_distributed`` called first, every rank
    given the whole corpus) ``"auto"`` picks the torch path, which splits every batch over the
    ranks and shares the sparse updates each step, so N ranks train the model of one process
    with the same ``batch_size`` and end with identical vectors (see ``_torch_w2v``). The numba
    Hogwild kernel stays single-process (threads share memory, processes do not): with
    ``backend="numba"`` under torchrun ``fit`` raises ``ValueError`` rather than train N copies.

    Example:
        >>> sentences = [["the", "cat", "sat"], ["the", "dog", "sat"]] * 50
        >>> model = Word2Vec(vector_size=8, min_count=1, epochs=2, workers=1).fit(sentences)
        >>> model.wv["cat"].shape
        (8,)
    """

    config_class = Word2VecConfig
    positional = ("method",)

    # ----------------------------------------------------------------- training
    def fit(self, corpus: str | Path | Iterable[list[str]] | Corpus,
            callback: Callable[[dict], None] | None = None, *,
            out_dir: str | os.PathLike | None = None, resume: bool = False) -> Word2Vec:
        """Build the vocabulary and train on ``corpus``; returns ``self``.

        Args:
            corpus: a text file (one sentence a line; ``Corpus(path, encoding=...)`` for
                another encoding than UTF-8) or a re-iterable of token lists.
            callback: called after each chunk (CPU) or block (torch) with ``epoch``, ``words``
                (raw words so far this epoch), ``words_per_s`` and ``loss`` (mean per output
                so far), e.g. for a progress bar.
            out_dir: write ``out_dir/last.safetensors`` (the working vectors and where the run
                stands) after an epoch (at most every 10 s), at the end and on Ctrl-C, which
                stops between chunks; and ``out_dir/model.safetensors`` at the end.
            resume: continue the run in ``out_dir``. With ``workers=1`` (or on the torch path
                on a CPU) the result is the one a run never stopped gives, bit for bit; more
                Hogwild threads are not reproducible, stopped or not.

        Raises:
            ConfigError: a setting out of range or not among the choices.
            ValueError: a one-shot iterator, a corpus with no word ``min_count`` times, or
                ``backend="numba"`` under torchrun.
            DlcourseError: an undecodable file; nothing (or another run) to resume.
            TrainingInterrupted: Ctrl-C (or ``DLCOURSE_INTERRUPT_AFTER=N``: after step N, a
                step being a chunk of ~50,000 words on the CPU, a batch on the torch path).
        """
        with with_progress(callback, self.config.progress is True, str(self.config.method),
                           "word") as report:
            return self._fit(corpus, report, out_dir=out_dir, resume=resume)

    def _fit(self, corpus: str | Path | Iterable[list[str]] | Corpus,
             callback: Callable[[dict], None] | None = None, *,
             out_dir: str | os.PathLike | None = None, resume: bool = False,
             start: Start | None = None) -> Word2Vec:
        """:meth:`fit`; ``start``, a trained model's ``(words, vectors, output vectors)``, is
        continued from (copies of its arrays, in place of the random start) when the vocabulary
        built here is ``words`` (the same words in the same order) and the vector size matches
        (gensim's second ``train``); ignored with ``resume``, whose checkpoint holds the arrays.

        Sets ``_restart_reason``: why ``start`` was not used (None when it was, or none was
        given), for ``train``'s warning; and ``_rounds``, the continued calls in a row (0 after
        a fresh start), which varies the random draws so a continued call does not repeat the
        subsampling and noise words of the call before it.
        """
        cfg = self.validated_config(out_dir, resume, later_notes=True)
        check_callback(callback)
        stream = Corpus(corpus)
        rank, world = process_group()
        trainer_name = _trainer_name(cfg, world)
        checkpoint = None
        if out_dir is not None:
            checkpoint = RunCheckpoint(out_dir, "Word2Vec", {}, cfg.to_dict())
            if resume:  # a wrong folder is refused before the corpus is read
                check_resumable(out_dir, "Word2Vec")
        # one pass: counts, and the corpus as int32 ids unless it is larger than CACHE_TOKENS
        scan = scan_corpus(stream, max_tokens=CACHE_TOKENS)
        words, counts = scan.vocabulary(cfg.min_count, cfg.max_vocab)
        self.say_folder_notes()  # after the corpus passed its checks (min_count keeps a word)
        block = _corpus.BLOCK_TOKENS  # read here, so that tests can make blocks small
        cached = (scan.blocks(cfg.min_count, cfg.max_vocab, block) if scan.ids is not None
                  else None)
        total_tokens = scan.total
        del scan  # its ids: the blocks hold their own copy
        if checkpoint is not None:
            checkpoint.settings = {
                **cfg.resume_values(),
                "trainer": trainer_name, "data": data_fingerprint(words, counts)}
        state: dict[str, Any] = {"epoch": 0, "history": [], "position": None, "trainer": {}}
        if resume:  # read (and checked against this data) before anything is said of it
            arrays, state = checkpoint.read()
            w_in, w_out = (np.array(arrays[k], dtype=np.float32) for k in ("w_in", "w_out"))
        # the kept words' tokens are the count a resumed run's data check names
        log.info("vocabulary: %d words (min_count=%d), %d of the %d tokens", len(words),
                 cfg.min_count, int(counts.sum()), total_tokens)
        restart_reason, rounds = None, 0
        if not resume:
            restart_reason = None if start is None else _restart_reason(start, words,
                                                                         cfg.vector_size)
            if start is not None and restart_reason is None:
                # copies: the trainers update their arrays in place, and a call stopped midway
                # must leave the model's vectors as they were
                w_in, w_out = (np.array(a, dtype=np.float32) for a in start[1:])
                rounds = getattr(self, "_rounds", 0) + 1
                log.info("continuing from the current vectors (call %d in a row)", rounds + 1)
            else:
                w_in, w_out = initial_weights(len(words), cfg.vector_size, cfg.seed)
        keep = keep_probabilities(counts, cfg.sample)  # (V,)
        noise = counts.astype(np.float64) ** cfg.ns_exponent  # (V,)
        # the chunks' seeds (CPU) and the torch generator come from the seed: a continued call
        # takes another, as gensim's train draws on from where the last call left its generator
        run_cfg = cfg if not rounds else cfg.replace(seed=_round_seed(cfg.seed, rounds))
        if trainer_name == "torch":
            from dlcourse.embeddings._torch_w2v import TorchTrainer

            trainer = TorchTrainer(run_cfg, w_in, w_out, keep, noise, rank, world)
        else:
            from dlcourse.embeddings.word2vec_cpu import NumbaTrainer

            trainer = NumbaTrainer(run_cfg, w_in, w_out, keep, noise)
        if resume:
            trainer.restore(arrays, state["trainer"])

        key_to_index = {w: i for i, w in enumerate(words)}
        train_tokens = int(counts.sum())  # in-vocabulary tokens per epoch
        # the learned attributes are set together at the end: a refit stopped midway leaves
        # the previous fit's whole state, not half of each
        history = list(state["history"])
        position = EpochProgress.from_values(state["position"])
        if resume:
            unit = "chunk" if trainer_name == "numba" else "block"
            say_resuming(state["epoch"], cfg.epochs,
                         f", {unit} {position.done + 1}" if position.done else "")

        def save(epoch: int, position: EpochProgress | None) -> None:
            checkpoint.write(trainer.arrays(), {
                "epoch": epoch, "history": history, "trainer": trainer.extra(),
                "position": None if position is None else position.to_values()})

        with StopGuard() as guard:
            for epoch in range(state["epoch"] + 1, cfg.epochs + 1):
                t0 = time.perf_counter()
                report = None if callback is None else _reporter(callback, epoch, t0, position)
                blocks = (cached if cached is not None
                          else encode_blocks(stream, key_to_index, block))
                seed = (run_cfg.seed * 1000003 + epoch * 7919) % 2**32
                try:
                    result = trainer.train_epoch(blocks, seed, (epoch - 1) * train_tokens,
                                                 float(train_tokens * cfg.epochs), position,
                                                 guard, report)
                except KeyboardInterrupt:
                    raise stopped_at_once(None if checkpoint is None else checkpoint.path) from None
                result.seconds += time.perf_counter() - t0
                unit = "chunk" if trainer_name == "numba" else "block"
                if result.stopped:
                    where = f"in epoch {epoch} after {result.done} {unit}{'s' * (result.done != 1)}"
                    if checkpoint is not None:
                        save(epoch - 1, result)
                    barrier()  # no rank leaves before rank 0's checkpoint is on disk
                    raise TrainingInterrupted(interrupted_message(where, checkpoint))
                position = EpochProgress()
                _check_converging(result.loss / max(result.outputs, 1), epoch, cfg)
                history.append({
                    "epoch": epoch, "loss": result.loss / max(result.outputs, 1),
                    "words": result.words, "seconds": result.seconds,
                    "words_per_s": result.words / max(result.seconds, 1e-9)})
                log.info("epoch %d: loss %.4f, %.0f words/s", epoch, history[-1]["loss"],
                         history[-1]["words_per_s"])
                last = epoch == cfg.epochs  # a stop after the last epoch: the run is done
                stop, due = any_rank([guard.should_stop() and not last, checkpoint is not None
                                      and not last and checkpoint.due()], world)
                if stop:
                    if checkpoint is not None:
                        save(epoch, None)
                    barrier()  # no rank leaves before rank 0's checkpoint is on disk
                    raise TrainingInterrupted(interrupted_message(f"after epoch {epoch}",
                                                                  checkpoint))
                if due:
                    save(epoch, None)
        with StopGuard(at_end=True):  # a Ctrl-C now waits: the run is done, its files due
            if checkpoint is not None:
                save(cfg.epochs, None)  # stopped while the files are written: --resume writes
            w_in, self.syn1neg_ = trainer.weights()
            self.comm_seconds_ = getattr(trainer, "comm_seconds", 0.0)
            self.wv_ = KeyedVectors(words, w_in, counts)
            self.counts_, self.history_ = counts, history
            self._restart_reason, self._rounds = restart_reason, rounds
            if out_dir is not None:
                self.save(out_dir)  # rank 0 only
        return self

    # ------------------------------------------------------------------- state
    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The vectors, output vectors and counts as arrays; vocabulary and history as JSON."""
        arrays = {"vectors": self.wv_.vectors, "syn1neg": self.syn1neg_, "counts": self.counts_}
        return arrays, {"words": self.wv_.index_to_key, "history": self.history_,
                        "comm_seconds": self.comm_seconds_}

    def _set_state(self, arrays: dict[str, np.ndarray], values: dict[str, Any]) -> None:
        vectors, syn1neg = arrays["vectors"], arrays["syn1neg"]
        words = list(values["words"])
        shape = (len(words), self.config.vector_size)
        if vectors.shape != shape or syn1neg.shape != shape or arrays["counts"].shape != shape[:1]:
            raise IncompatibleModelError(
                f"the word2vec arrays {vectors.shape}, {syn1neg.shape} do not fit {len(words)} "
                f"words of {self.config.vector_size} dims; the file was edited or written by "
                "another version: train it again")
        self.wv_ = KeyedVectors(words, vectors, arrays["counts"])
        self.syn1neg_ = syn1neg
        self.counts_ = arrays["counts"]
        self.history_ = list(values.get("history") or [])
        self.comm_seconds_ = float(values.get("comm_seconds", 0.0))


def initial_weights(n_words: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """gensim 4's start: input vectors uniform in +-1/D, output vectors zero; each (V, D)."""
    rng = np.random.default_rng(seed)
    w_in = (rng.random((n_words, dim), dtype=np.float32) * 2 - 1) / dim  # (V, D)
    return w_in, np.zeros((n_words, dim), dtype=np.float32)


def _restart_reason(start: Start, words: list[str], dim: int) -> str | None:
    """Why a run on vocabulary ``words`` of ``dim`` dimensions cannot continue from ``start``
    (one line, for ``train``'s warning); None when it can."""
    old_words, vectors, _ = start
    if list(old_words) != list(words):
        old, new = set(old_words), set(words)
        if old == new:  # the counts changed the words' order, so the rows mean other words
            return "the vocabulary differs (the same words, in another order by frequency)"
        return (f"the vocabulary differs ({len(new - old)} words new, {len(old - new)} gone, "
                f"{len(words)} in all)")
    if vectors.shape[1] != dim:
        return f"the vector size differs ({dim} now, {vectors.shape[1]} before)"
    return None


def _round_seed(seed: int, rounds: int) -> int:
    """The seed of the ``rounds``-th continued call in a row of a run seeded ``seed``."""
    return int(np.random.SeedSequence([seed, rounds]).generate_state(1)[0])


def _check_converging(loss: float, epoch: int, cfg: Word2VecConfig) -> None:
    """Stop a run whose epoch ended worse than an untrained model (the same loss on every rank).

    The output vectors start at zero, so an untrained model scores every prediction (the true
    word and ``negative`` noise words) at ln 2 each. Too high a learning rate does not make the
    loss infinite (the kernel's sigmoid saturates and its loss table is clipped) but blows the
    vectors up: at ``--lr 0.5`` on Lee the loss per prediction is 47-90 and every word's
    nearest neighbour sits at cosine 0.99. Twice the untrained loss is past any run that learns.
    """
    untrained = (1 + cfg.negative) * math.log(2)
    if not math.isfinite(loss) or loss > 2 * untrained:
        raise DlcourseError(
            f"word2vec diverged: the loss per prediction became {loss:.4g} in epoch {epoch} "
            f"(an untrained model's is {untrained:.3g}); lower the learning rate (--lr, now "
            f"{cfg.alpha:g})")


def uses_cpu_kernel(cfg: Word2VecConfig, world: int = 1) -> bool:
    """True when ``cfg`` certainly trains with the numba kernel in ``world`` processes, decided
    without importing torch (False may still end on the CPU kernel: see ``fit``)."""
    from dlcourse.engine.accelerator import is_cpu_spec

    if cfg.backend != "auto":
        return cfg.backend == "numba"
    return world == 1 and is_cpu_spec(cfg.device)  # no torch import (2-4 s)


def _trainer_name(cfg: Word2VecConfig, world: int) -> str:
    """"numba" or "torch": where this run trains (torch imported only when it may be needed)."""
    if world > 1 and cfg.backend == "numba":
        raise ConfigError(f"backend numba trains with threads in one process, and under "
                          f"torchrun each of the {world} processes would train its own copy; "
                          "use torch (or auto) under torchrun, or run one process", "backend")
    if uses_cpu_kernel(cfg, world):
        return "numba"
    if cfg.backend != "auto" or world > 1:
        return "torch"
    from dlcourse.engine import resolve_device

    return "numba" if resolve_device(cfg.device).type == "cpu" else "torch"


def _reporter(callback: Callable[[dict], None], epoch: int, t0: float,
              start: EpochProgress) -> Callable[[float, int, int], None]:
    """The trainer's (loss sum, outputs, words) after each chunk, as the callback's dict."""
    def report(loss_sum: float, outputs: int, words: int) -> None:
        seconds = start.seconds + time.perf_counter() - t0
        callback({"epoch": epoch, "words": words, "words_per_s": words / max(seconds, 1e-9),
                  "loss": loss_sum / max(outputs, 1)})

    return report

