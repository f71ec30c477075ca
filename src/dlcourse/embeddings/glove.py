"""GloVe: memory-bounded co-occurrence counting and AdaGrad weighted least squares (numba)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from dlcourse.embeddings.corpus import Corpus, build_vocab, encode_blocks
from dlcourse.embeddings.vectors import KeyedVectors

log = logging.getLogger(__name__)


@dataclass
class GloVeConfig:
    """Hyper-parameters of :class:`GloVe` (Stanford GloVe's names and defaults where they exist)."""

    vector_size: int = 100
    window: int = 10
    min_count: int = 5
    max_vocab: int | None = None
    x_max: float = 100.0
    alpha: float = 0.75
    eta: float = 0.05
    epochs: int = 25
    workers: int | None = None
    seed: int = 0
    memory_mb: int = 256

    def validate(self) -> None:
        for name in ("vector_size", "window", "min_count", "epochs", "memory_mb"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.x_max <= 0 or self.eta <= 0 or self.alpha <= 0:
            raise ValueError(f"x_max, eta and alpha must be > 0, got x_max={self.x_max}, "
                             f"eta={self.eta}, alpha={self.alpha}")


def count_cooccurrences(corpus: Iterable[list[str]], key_to_index: dict[str, int],
                        window: int = 10, memory_mb: int = 256
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Symmetric co-occurrence counts weighted 1/distance, as a sparse upper triangle.

    Entries are produced block by block into a buffer of ``memory_mb`` MiB, which is sorted,
    summed and merged into the running table whenever it fills (the merge needs about twice the
    buffer again): memory grows with the number of distinct pairs, never with V*V or the corpus
    length.

    Returns ``(rows, cols, values)``: int32, int32, float32 arrays with rows <= cols, sorted.
    """
    from dlcourse.embeddings import _kernels

    capacity = max(memory_mb * 2**20 // 12, 1 << 16)  # int64 key + float32 value per entry
    buf_keys = np.empty(capacity, dtype=np.int64)
    buf_vals = np.empty(capacity, dtype=np.float32)
    keys = np.empty(0, dtype=np.int64)
    vals = np.empty(0, dtype=np.float32)
    fill = 0

    vocab_size = len(key_to_index)

    def flush(keys, vals, fill):
        # reduce the buffer, then merge it into the running table (both sorted by key)
        k, v = _kernels.sort_reduce(buf_keys[:fill], buf_vals[:fill], vocab_size)
        if len(keys) == 0:
            return k, v
        return _kernels.sort_reduce(np.concatenate([keys, k]), np.concatenate([vals, v]),
                                    vocab_size)

    block = max(capacity // (2 * window), 1024)
    for tokens, starts, _ in encode_blocks(corpus, key_to_index, block_tokens=block):
        need = len(tokens) * window
        if fill + need > capacity:
            keys, vals = flush(keys, vals, fill)
            fill = 0
        if need > capacity:  # a single block larger than the buffer: grow the buffer once
            buf_keys = np.empty(need, dtype=np.int64)
            buf_vals = np.empty(need, dtype=np.float32)
            capacity = need
        fill += _kernels.cooccurrence_pairs(tokens, starts, window, buf_keys[fill:],
                                            buf_vals[fill:])
    if fill:
        keys, vals = flush(keys, vals, fill)
    rows = (keys >> 32).astype(np.int32)
    cols = (keys & 0xFFFFFFFF).astype(np.int32)
    return rows, cols, vals


class GloVe:
    """GloVe (Pennington et al. 2014): fit word and context vectors to log co-occurrence counts.

    Minimises sum f(X_ij) (w_i.c_j + b_i + b'_j - log X_ij)^2 with f(x) = min(1, (x/x_max)^alpha)
    by AdaGrad on ``workers`` Hogwild threads (numba), over a symmetric window with 1/distance
    weighting. The vectors in ``wv`` are w + c. ``cooccurrences_`` holds the count of distinct
    pairs; ``history_`` the loss per epoch; ``timings_`` counting and training seconds.

    Example
    -------
    >>> sentences = [["the", "cat", "sat"], ["the", "dog", "sat"]] * 50
    >>> GloVe(vector_size=8, min_count=1, epochs=3, workers=1).fit(sentences).wv["dog"].shape
    (8,)
    """

    def __init__(self, vector_size: int = 100, window: int = 10, min_count: int = 5,
                 max_vocab: int | None = None, x_max: float = 100.0, alpha: float = 0.75,
                 eta: float = 0.05, epochs: int = 25, workers: int | None = None, seed: int = 0,
                 memory_mb: int = 256):
        self.config = GloVeConfig(vector_size, window, min_count, max_vocab, x_max, alpha, eta,
                                  epochs, workers, seed, memory_mb)
        self.config.validate()

    def fit(self, corpus: str | Path | Iterable[list[str]],
            callback: Callable[[dict], None] | None = None) -> GloVe:
        """Count co-occurrences in ``corpus`` and train; ``callback(info)`` after each epoch
        gets ``epoch`` and ``loss``. Returns ``self``."""
        from dlcourse.embeddings import _kernels

        cfg = self.config
        stream = Corpus(corpus)
        start = time.perf_counter()
        words, counts, _ = build_vocab(stream, cfg.min_count, cfg.max_vocab)
        self.counts_ = counts
        key_to_index = {w: i for i, w in enumerate(words)}
        rows, cols, vals = count_cooccurrences(stream, key_to_index, cfg.window, cfg.memory_mb)
        # both directions: X is symmetric, but w and c are separate matrices
        off = rows != cols
        rows, cols = np.concatenate([rows, cols[off]]), np.concatenate([cols, rows[off]])
        vals = np.concatenate([vals, vals[off]])
        count_seconds = time.perf_counter() - start
        self.cooccurrences_ = len(vals)
        log.info("%d co-occurrence entries for %d words in %.1fs", len(vals), len(words),
                 count_seconds)

        rng = np.random.default_rng(cfg.seed)
        order = rng.permutation(len(vals))  # shuffled once, as Stanford's `shuffle` does
        rows, cols, vals = rows[order], cols[order], vals[order]
        logx = np.log(vals).astype(np.float32)  # (M,)
        weight = np.minimum(1.0, (vals / cfg.x_max) ** cfg.alpha).astype(np.float32)  # (M,)
        vocab_size, dim = len(words), cfg.vector_size
        # Stanford's initialisation: uniform in +-0.5/D, squared-gradient sums start at 1
        w = ((rng.random((vocab_size, dim), dtype=np.float32) - 0.5) / dim)  # (V, D)
        c = ((rng.random((vocab_size, dim), dtype=np.float32) - 0.5) / dim)  # (V, D)
        bw = np.zeros(vocab_size, dtype=np.float32)
        bc = np.zeros(vocab_size, dtype=np.float32)
        gw, gc = np.ones_like(w), np.ones_like(c)
        gbw, gbc = np.ones_like(bw), np.ones_like(bc)
        workers = max(1, min(cfg.workers or os.cpu_count() or 1, len(vals)))
        bounds = np.linspace(0, len(vals), workers + 1).astype(np.int64)
        self.history_: list[dict] = []
        train_start = time.perf_counter()
        for epoch in range(1, cfg.epochs + 1):
            t0 = time.perf_counter()
            losses = [0.0] * workers

            def run(p: int, losses: list[float] = losses) -> None:
                losses[p] = _kernels.train_glove_part(
                    rows, cols, logx, weight, int(bounds[p]), int(bounds[p + 1]), w, c, bw, bc,
                    gw, gc, gbw, gbc, np.float32(cfg.eta))

            threads = [threading.Thread(target=run, args=(p,)) for p in range(workers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            loss = sum(losses) / len(vals)
            self.history_.append({"epoch": epoch, "loss": loss,
                                  "seconds": time.perf_counter() - t0})
            log.info("glove epoch %d: loss %.5f", epoch, loss)
            if callback is not None:
                callback({"epoch": epoch, "loss": loss})
        self.timings_ = {"count_seconds": count_seconds,
                         "train_seconds": time.perf_counter() - train_start}
        self.wv = KeyedVectors(words, w + c)
        return self

    def save(self, path: str | Path) -> Path:
        """Save vectors (w + c), config and history as a checkpoint ``KeyedVectors.load`` reads."""
        if not hasattr(self, "wv"):
            raise ValueError("this GloVe is not trained yet; call fit(corpus) first")
        return self.wv.save(path, config=dict(asdict(self.config), trainer="glove"),
                            history=self.history_)
