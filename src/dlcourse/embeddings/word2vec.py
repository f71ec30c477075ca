"""Word2Vec (skip-gram and CBOW, negative sampling): numba Hogwild kernel on CPU, torch on GPU."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from dlcourse.embeddings.corpus import (
    Corpus,
    alias_table,
    encode_blocks,
    keep_probabilities,
    process_group,
    scan_corpus,
)
from dlcourse.embeddings.vectors import KeyedVectors

log = logging.getLogger(__name__)

METHODS = ("skipgram", "cbow")
BACKENDS = ("auto", "numba", "torch")
CHUNK_TOKENS = 50_000  # words per kernel call; threads take chunks in turn
CACHE_TOKENS = 50_000_000  # keep encoded blocks in memory between epochs below this (200 MB)


@dataclass
class Word2VecConfig:
    """Hyper-parameters of :class:`Word2Vec` (gensim's defaults and names where they exist)."""

    method: str = "skipgram"
    vector_size: int = 100
    window: int = 5
    min_count: int = 5
    max_vocab: int | None = None
    negative: int = 5
    ns_exponent: float = 0.75
    sample: float = 1e-3
    alpha: float = 0.025
    min_alpha: float = 1e-4
    epochs: int = 5
    cbow_mean: bool = True
    workers: int | None = None
    seed: int = 0
    device: str = "cpu"
    backend: str = "auto"
    batch_size: int = 1024

    def validate(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}; choose one of "
                             f"{', '.join(BACKENDS)}")
        for name in ("vector_size", "window", "min_count", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.negative < 1:
            raise ValueError(f"negative must be >= 1 (negative sampling), got {self.negative}")
        if not 0 < self.alpha or self.min_alpha < 0 or self.min_alpha > self.alpha:
            raise ValueError(f"need 0 <= min_alpha <= alpha and alpha > 0, got alpha={self.alpha}"
                             f", min_alpha={self.min_alpha}")


class Word2Vec:
    """Skip-gram or CBOW with negative sampling, subsampling, dynamic window and linear lr decay.

    ``__init__`` only stores hyper-parameters (see :class:`Word2VecConfig`); :meth:`fit` trains
    and returns ``self``, with the vectors in ``wv`` (:class:`KeyedVectors`), word counts in
    ``counts_`` and per-epoch ``history_`` (loss per output, words/s, seconds);
    ``comm_seconds_`` is the time spent exchanging updates between torchrun ranks.

    On CPU (``backend="auto"`` or ``"numba"``) a compiled numba kernel runs ``workers`` threads
    that update shared weights without locks (Hogwild, as word2vec.c and gensim do): results are
    reproducible for a seed only with ``workers=1``. When ``device`` resolves to an accelerator
    (``"cuda"``, or ``"auto"`` on a GPU machine), or with ``backend="torch"``, a batched torch
    implementation runs on that device instead (``batch_size`` pairs or windows per step).

    Under torchrun (``dlcourse.engine.distributed.init_distributed`` called first, every rank
    given the whole corpus) ``"auto"`` picks the torch path, which splits every batch over the
    ranks and shares the sparse updates each step, so N ranks train the model of one process
    with the same ``batch_size`` and end with identical vectors (see ``_torch_w2v``). The numba
    Hogwild kernel stays single-process (threads share memory, processes do not): with
    ``backend="numba"`` under torchrun ``fit`` raises ``ValueError`` rather than train N copies.
    On a CPU one process with the numba kernel is faster than several torch ranks.

    Example
    -------
    >>> sentences = [["the", "cat", "sat"], ["the", "dog", "sat"]] * 50
    >>> model = Word2Vec(vector_size=8, min_count=1, epochs=2, workers=1).fit(sentences)
    >>> model.wv["cat"].shape
    (8,)
    """

    def __init__(self, method: str = "skipgram", vector_size: int = 100, window: int = 5,
                 min_count: int = 5, max_vocab: int | None = None, negative: int = 5,
                 ns_exponent: float = 0.75, sample: float = 1e-3, alpha: float = 0.025,
                 min_alpha: float = 1e-4, epochs: int = 5, cbow_mean: bool = True,
                 workers: int | None = None, seed: int = 0, device: str = "cpu",
                 backend: str = "auto", batch_size: int = 1024):
        self.config = Word2VecConfig(method, vector_size, window, min_count, max_vocab, negative,
                                     ns_exponent, sample, alpha, min_alpha, epochs, cbow_mean,
                                     workers, seed, device, backend, batch_size)
        self.config.validate()

    # ----------------------------------------------------------------- training
    def fit(self, corpus: str | Path | Iterable[list[str]],
            callback: Callable[[dict], None] | None = None) -> Word2Vec:
        """Build the vocabulary and train on ``corpus`` (a file path or re-iterable of token lists).

        ``callback(info)`` is called after each block with ``epoch``, ``words`` (raw words so far
        this epoch), ``words_per_s`` and ``loss`` (mean per output so far), e.g. for a progress bar.
        Returns ``self``.
        """
        cfg = self.config
        stream = Corpus(corpus)
        # one pass: counts, and the corpus as int32 ids unless it is larger than CACHE_TOKENS
        scan = scan_corpus(stream, max_tokens=CACHE_TOKENS)
        words, counts = scan.vocabulary(cfg.min_count, cfg.max_vocab)
        cached = scan.blocks(cfg.min_count, cfg.max_vocab) if scan.ids is not None else None
        total_tokens = scan.total
        del scan  # its ids: the blocks hold their own copy
        self.counts_ = counts
        vocab_size, dim = len(words), cfg.vector_size
        log.info("vocabulary: %d words (min_count=%d) from %d tokens", vocab_size, cfg.min_count,
                 total_tokens)
        rng = np.random.default_rng(cfg.seed)
        # gensim 4's initialisation: inputs uniform in +-1/D, outputs zero
        w_in = (rng.random((vocab_size, dim), dtype=np.float32) * 2 - 1) / dim  # (V, D)
        w_out = np.zeros((vocab_size, dim), dtype=np.float32)  # (V, D)
        keep = keep_probabilities(counts, cfg.sample)  # (V,)
        noise = counts.astype(np.float64) ** cfg.ns_exponent  # (V,)
        key_to_index = {w: i for i, w in enumerate(words)}
        train_tokens = int(counts.sum())  # in-vocabulary tokens per epoch
        total = float(train_tokens * cfg.epochs)

        rank, world = process_group()
        if world > 1 and cfg.backend == "numba":
            raise ValueError(f"backend='numba' trains with threads in one process, and under "
                             f"torchrun each of the {world} processes would train its own copy; "
                             "use backend='torch' (or 'auto') under torchrun, or run one process")
        use_torch = cfg.backend == "torch" or (cfg.backend == "auto"
                                               and (world > 1 or _is_accelerator(cfg.device)))
        if use_torch:
            from dlcourse.embeddings._torch_w2v import TorchTrainer

            trainer = _Blockwise(TorchTrainer(cfg, w_in, w_out, keep, noise, rank, world))
        else:
            trainer = _NumbaTrainer(cfg, w_in, w_out, keep, noise)

        self.history_: list[dict] = []
        for epoch in range(1, cfg.epochs + 1):
            start = time.perf_counter()

            def report(loss_sum: float, outputs: int, words: int, epoch: int = epoch,
                       start: float = start) -> None:
                callback({"epoch": epoch, "words": words,
                          "words_per_s": words / max(time.perf_counter() - start, 1e-9),
                          "loss": loss_sum / max(outputs, 1)})

            blocks = cached if cached is not None else encode_blocks(stream, key_to_index)
            seed = (cfg.seed * 1000003 + epoch * 7919) % 2**32
            loss_sum, outputs, epoch_raw = trainer.train_epoch(
                blocks, seed, (epoch - 1) * train_tokens, total,
                report if callback is not None else None)
            seconds = time.perf_counter() - start
            self.history_.append({"epoch": epoch, "loss": loss_sum / max(outputs, 1),
                                  "words": epoch_raw, "seconds": seconds,
                                  "words_per_s": epoch_raw / max(seconds, 1e-9)})
            log.info("epoch %d: loss %.4f, %.0f words/s", epoch, self.history_[-1]["loss"],
                     self.history_[-1]["words_per_s"])
        w_in, self.syn1neg_ = trainer.weights()
        self.comm_seconds_ = getattr(trainer, "comm_seconds", 0.0)
        self.wv = KeyedVectors(words, w_in)
        return self

    # ------------------------------------------------------------------- saving
    def save(self, path: str | Path) -> Path:
        """Save the vectors, counts, output weights, config and history as a checkpoint."""
        import torch

        from dlcourse.engine import save_checkpoint

        self._check_fitted()
        return save_checkpoint(path, {
            "lesson": "embeddings", "trainer": "word2vec", "config": asdict(self.config),
            "model": {"vectors": torch.from_numpy(self.wv.vectors.copy()),
                      "syn1neg": torch.from_numpy(self.syn1neg_.copy()),
                      "counts": torch.from_numpy(self.counts_.copy())},
            "vocab": list(self.wv.index_to_key), "classes": None,
            "epoch": self.config.epochs, "history": self.history_,
        })

    @classmethod
    def load(cls, path: str | Path) -> Word2Vec:
        """Load a model saved by :meth:`save` (file or directory holding ``model.pt``)."""
        from dlcourse.engine import load_checkpoint
        from dlcourse.errors import DlcourseError

        state = load_checkpoint(path)
        if state.get("trainer") != "word2vec":
            raise DlcourseError(f"{path} holds no Word2Vec model (trainer="
                                f"{state.get('trainer')!r}); load it with KeyedVectors.load")
        model = cls(**state["config"])
        model.wv = KeyedVectors(state["vocab"], state["model"]["vectors"].numpy())
        model.syn1neg_ = state["model"]["syn1neg"].numpy()
        model.counts_ = state["model"]["counts"].numpy()
        model.history_ = state["history"]
        return model

    def _check_fitted(self) -> None:
        if not hasattr(self, "wv"):
            raise ValueError("this Word2Vec is not trained yet; call fit(corpus) first")


def _is_accelerator(device: str) -> bool:
    """True when ``device`` ("cpu", "auto", "cuda", "cuda:1", "mps") resolves to an accelerator."""
    if device == "cpu":
        return False  # no torch import for the default CPU path
    from dlcourse.engine import resolve_device

    return resolve_device(device).type != "cpu"


class _NumbaTrainer:
    """Runs the compiled kernel on ``workers`` threads that take chunks of the blocks in turn.

    Chunks of about CHUNK_TOKENS words (cut at sentence boundaries) are handed out in corpus
    order, so a thread slowed down by other load never holds the others back, and the learning
    rate of a chunk follows its position in the corpus. Blocks are pulled from their iterable
    only when a thread needs the next chunk, so a streamed corpus is encoded while the other
    threads train. The calling thread trains too and reports progress; each chunk's random
    seed is its position in the epoch, so ``workers=1`` gives the same bits every run.
    """

    def __init__(self, cfg: Word2VecConfig, w_in, w_out, keep, noise):
        from dlcourse.embeddings._kernels import word2vec_kernel

        self.kernel = word2vec_kernel(cfg.method, w_in.shape[1])
        self.cfg = cfg
        self.w_in, self.w_out, self.keep = w_in, w_out, keep
        self.prob, self.alias = alias_table(noise)
        self.workers = max(1, cfg.workers or os.cpu_count() or 1)

    def train_epoch(self, blocks: Iterable, seed: int, done_before: int, total: float,
                    report: Callable | None) -> tuple[float, int, int]:
        """Train one pass over ``blocks``; returns (loss sum, outputs, raw words)."""
        cfg = self.cfg
        chunks = _chunks(blocks, done_before)
        lock = threading.Lock()
        totals = [0.0, 0, 0]  # loss sum, outputs, raw words
        failed: list[BaseException] = []

        def run(main: bool) -> None:
            done = None
            while not failed:
                with lock:
                    if done is not None:
                        totals[0] += done[0]
                        totals[1] += done[1]
                        totals[2] += done[2]
                    progress = tuple(totals)
                    try:
                        chunk = next(chunks, None)  # may encode the next block of a stream
                    except BaseException as exc:  # re-raised in the calling thread below
                        failed.append(exc)
                        return
                if main and done is not None and report is not None:
                    report(*progress)
                if chunk is None:
                    return
                c, tokens, starts, s_begin, s_end, done_chunk, raw = chunk
                try:
                    loss, outputs, _, _ = self.kernel(
                        tokens, starts, s_begin, s_end, self.w_in, self.w_out, self.keep,
                        self.prob, self.alias, cfg.window, cfg.negative, cfg.cbow_mean,
                        cfg.alpha, cfg.min_alpha, float(done_chunk), total,
                        (seed * 1009 + c) % 2**63)
                except BaseException as exc:
                    failed.append(exc)
                    return
                done = (loss, outputs, raw)

        threads = [threading.Thread(target=run, args=(False,), daemon=True)
                   for _ in range(self.workers - 1)]
        for t in threads:
            t.start()
        try:
            run(True)
        except BaseException as exc:  # Ctrl-C: the other threads stop after their chunk
            failed.append(exc)
            raise
        finally:
            for t in threads:
                t.join()
        if failed:
            raise failed[0]
        return totals[0], totals[1], totals[2]

    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        return self.w_in, self.w_out


def _chunks(blocks: Iterable, done_before: int) -> Iterator[tuple]:
    """Cut each block into chunks of about CHUNK_TOKENS words at sentence boundaries.

    Yields ``(index, tokens, starts, first sentence, end sentence, words before, raw words)``:
    the chunk's index in the epoch, its block's arrays and sentence range, the number of words
    trained before it in the run (for the learning rate), and its share of the block's raw
    words (in proportion to its words; the shares add up to the block's count).
    """
    index, done = 0, done_before
    for tokens, starts, raw in blocks:
        n_sent, n_tok = len(starts) - 1, int(starts[-1])
        n_chunks = max(1, min(n_sent, -(-n_tok // CHUNK_TOKENS)))
        cuts = np.searchsorted(starts, np.linspace(0, n_tok, n_chunks + 1)[1:-1])
        bounds = [0, *[int(c) for c in cuts], n_sent]
        for k in range(n_chunks):
            t0, t1 = int(starts[bounds[k]]), int(starts[bounds[k + 1]])
            share = raw * t1 // max(n_tok, 1) - raw * t0 // max(n_tok, 1)
            if k == n_chunks - 1:
                share = raw - raw * t0 // max(n_tok, 1)
            yield index, tokens, starts, bounds[k], bounds[k + 1], done + t0, share
            index += 1
        done += n_tok


class _Blockwise:
    """The torch trainer behind the epoch interface of _NumbaTrainer: one step per block."""

    def __init__(self, trainer):
        self.trainer = trainer

    def train_epoch(self, blocks: Iterable, seed: int, done_before: int, total: float,
                    report: Callable | None) -> tuple[float, int, int]:
        loss_sum, outputs, raw_words, done = 0.0, 0, 0, done_before
        for b, (tokens, starts, raw) in enumerate(blocks):
            loss, n = self.trainer.train_block(tokens, starts, done, total, seed=seed + b)
            done += len(tokens)
            loss_sum, outputs, raw_words = loss_sum + loss, outputs + n, raw_words + raw
            if report is not None:
                report(loss_sum, outputs, raw_words)
        return loss_sum, outputs, raw_words

    @property
    def comm_seconds(self) -> float:
        return self.trainer.comm_seconds

    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        return self.trainer.weights()
