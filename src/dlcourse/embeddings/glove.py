"""GloVe: co-occurrence counting and AdaGrad weighted least squares (numba; threads, torchrun)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from dlcourse.embeddings.corpus import (
    Corpus,
    encode_blocks,
    process_group,
    scan_corpus,
    shard_sentences,
)
from dlcourse.embeddings.vectors import KeyedVectors

log = logging.getLogger(__name__)
CACHE_TOKENS = 50_000_000  # keep the encoded corpus in memory below this (200 MB)


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
    blocks: int | None = None

    def validate(self) -> None:
        for name in ("vector_size", "window", "min_count", "epochs", "memory_mb", "blocks"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
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
    length. The weights are summed as integers in units of 2**-30 (each 1/d within 2**-31), so
    the table does not depend on the order of the sums: the same bits for any ``memory_mb``.

    Under torchrun (the process group joined with ``init_distributed``) every rank passes the
    whole corpus and counts every N-th sentence; the ranks' tables are all-gathered and merged,
    so every rank returns exactly the single-process table (about N times the table's memory
    during the merge).

    Returns ``(rows, cols, values)``: int32, int32, float32 arrays with rows <= cols, sorted.
    """
    from dlcourse.embeddings import _kernels

    rank, world = process_group()
    blocks = encode_blocks(shard_sentences(corpus, rank, world), key_to_index,
                           block_tokens=_block_tokens(window, memory_mb))
    keys, units = _count_units(blocks, len(key_to_index), window, memory_mb)
    if world > 1:  # integer sums: the merged table is the single-process one, bit for bit
        keys, units = _kernels.sort_reduce(np.concatenate(_all_gather(keys)),
                                           np.concatenate(_all_gather(units)), len(key_to_index))
    return _table(keys, units)


def _table(keys: np.ndarray, units: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted keys and fixed-point sums to ``(rows, cols, values)``."""
    from dlcourse.embeddings import _kernels

    rows = (keys >> 32).astype(np.int32)
    cols = (keys & 0xFFFFFFFF).astype(np.int32)
    return rows, cols, (units / _kernels.WEIGHT_UNITS).astype(np.float32)


def _block_tokens(window: int, memory_mb: int) -> int:
    """Words per block such that a block's entries fill at most half the counting buffer."""
    return max(_capacity(memory_mb) // (2 * window), 1024)


def _capacity(memory_mb: int) -> int:
    return max(memory_mb * 2**20 // 12, 1 << 16)  # int64 key + int32 weight per entry


def _count_units(blocks: Iterable[tuple[np.ndarray, np.ndarray, int]], vocab_size: int,
                 window: int, memory_mb: int) -> tuple[np.ndarray, np.ndarray]:
    """The table of encoded ``blocks`` (see ``encode_blocks``): sorted int64 keys
    ``row << 32 | col`` and int64 summed weights."""
    from dlcourse.embeddings import _kernels

    capacity = _capacity(memory_mb)
    buf_keys = np.empty(capacity, dtype=np.int64)
    buf_vals = np.empty(capacity, dtype=np.int32)
    keys = np.empty(0, dtype=np.int64)
    vals = np.empty(0, dtype=np.int64)
    fill = 0

    def flush(keys, vals, fill):
        # reduce the buffer, then merge it into the running table (both sorted by key)
        k, v = _kernels.sort_reduce(buf_keys[:fill], buf_vals[:fill], vocab_size)
        if len(keys) == 0:
            return k, v
        return _kernels.sort_reduce(np.concatenate([keys, k]), np.concatenate([vals, v]),
                                    vocab_size)

    for tokens, starts, _ in blocks:
        need = len(tokens) * window
        if fill + need > capacity:
            keys, vals = flush(keys, vals, fill)
            fill = 0
        if need > capacity:  # a single block larger than the buffer: grow the buffer once
            buf_keys = np.empty(need, dtype=np.int64)
            buf_vals = np.empty(need, dtype=np.int32)
            capacity = need
        fill += _kernels.cooccurrence_pairs(tokens, starts, window, buf_keys[fill:],
                                            buf_vals[fill:])
    if fill:
        keys, vals = flush(keys, vals, fill)
    return keys, vals


def _split(blocks: list, max_tokens: int) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """``blocks`` cut at sentence boundaries into blocks of at most about ``max_tokens`` words
    (views; the raw counts are not split)."""
    for tokens, starts, raw in blocks:
        cuts = np.searchsorted(starts, np.arange(0, starts[-1], max_tokens))
        bounds = [*dict.fromkeys([*(int(c) for c in cuts), len(starts) - 1])]
        for a, b in zip(bounds[:-1], bounds[1:]):
            yield tokens[starts[a]:starts[b]], starts[a:b + 1] - starts[a], raw


def _all_gather(array: np.ndarray) -> list[np.ndarray]:
    """Every rank's ``array`` (same dtype and trailing shape, any length), in rank order."""
    import torch
    import torch.distributed as dist

    on_gpu = dist.get_backend() == "nccl"  # nccl moves device tensors only
    device = torch.device("cuda", torch.cuda.current_device()) if on_gpu else torch.device("cpu")
    local = torch.from_numpy(np.ascontiguousarray(array)).to(device)
    sizes = [torch.zeros(1, dtype=torch.int64, device=device)
             for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, torch.tensor([len(array)], dtype=torch.int64, device=device))
    sizes = [int(n) for n in sizes]
    padded = local.new_zeros((max(sizes), *local.shape[1:]))  # all_gather needs equal shapes
    padded[:len(local)] = local
    parts = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(parts, padded)
    return [part[:n].cpu().numpy() for part, n in zip(parts, sizes)]


def _share_rows(arrays: list[np.ndarray], owned: list[np.ndarray], rank: int) -> None:
    """Copy the rows ``owned[k]`` of ``arrays`` (each (V, ...)) from rank k to every rank."""
    views = [a.reshape(len(a), -1) for a in arrays]  # (V, width) views of contiguous arrays
    mine = np.hstack([v[owned[rank]] for v in views])
    for k, part in enumerate(_all_gather(mine)):
        if k == rank:
            continue
        col = 0
        for v in views:
            v[owned[k]] = part[:, col:col + v.shape[1]]
            col += v.shape[1]


class GloVe:
    """GloVe (Pennington et al. 2014): fit word and context vectors to log co-occurrence counts.

    Minimises sum f(X_ij) (w_i.c_j + b_i + b'_j - log X_ij)^2 with f(x) = min(1, (x/x_max)^alpha)
    by AdaGrad (numba), over a symmetric window with 1/distance weighting. The vectors in ``wv``
    are w + c. ``cooccurrences_`` holds the count of distinct pairs; ``history_`` the loss per
    epoch; ``timings_`` counting, training and communication seconds.

    Schedule (DSGD, Gemulla et al. 2011): the vocabulary is cut into ``blocks`` = P interleaved
    parts (word i in part i % P), so the co-occurrence matrix falls into P x P blocks, each
    shuffled once. An epoch runs P rounds; round s trains the P blocks (p, (p + s) % P), which
    share no row of w and no row of c, so they run at the same time without locks or races,
    each by plain sequential AdaGrad. The result depends on ``seed`` and P only, not on the
    number of threads or processes: same seed, same P, same vectors.

    Under torchrun (``init_distributed`` first; every rank passes the whole corpus) each rank
    reads the whole corpus for the vocabulary, counts co-occurrences in every N-th sentence
    (the tables are merged exactly, see :func:`count_cooccurrences`), then trains the row parts
    p with p % N == its rank on its ``workers`` threads. After each round the ranks all-gather
    the rows of c (and their AdaGrad sums) they updated; the rows of w stay with their rank
    until the end of training, when they are all-gathered once. So N processes produce exactly
    the vectors and losses of one process with the same P (tested bit for bit with 2 gloo
    processes); P defaults to N x ``workers`` (``workers`` defaults to the cores / processes
    per machine).

    Example
    -------
    >>> sentences = [["the", "cat", "sat"], ["the", "dog", "sat"]] * 50
    >>> GloVe(vector_size=8, min_count=1, epochs=3, workers=1).fit(sentences).wv["dog"].shape
    (8,)
    """

    def __init__(self, vector_size: int = 100, window: int = 10, min_count: int = 5,
                 max_vocab: int | None = None, x_max: float = 100.0, alpha: float = 0.75,
                 eta: float = 0.05, epochs: int = 25, workers: int | None = None, seed: int = 0,
                 memory_mb: int = 256, blocks: int | None = None):
        self.config = GloVeConfig(vector_size, window, min_count, max_vocab, x_max, alpha, eta,
                                  epochs, workers, seed, memory_mb, blocks)
        self.config.validate()

    def fit(self, corpus: str | Path | Iterable[list[str]],
            callback: Callable[[dict], None] | None = None) -> GloVe:
        """Count co-occurrences in ``corpus`` and train; ``callback(info)`` after each epoch
        gets ``epoch`` and ``loss``. Returns ``self``."""
        from dlcourse.embeddings import _kernels

        cfg = self.config
        stream = Corpus(corpus)
        start = time.perf_counter()
        rank, world = process_group()
        # one pass: counts, and (one process, corpus up to CACHE_TOKENS) the encoded corpus
        scan = scan_corpus(stream, max_tokens=CACHE_TOKENS if world == 1 else 0)
        words, counts = scan.vocabulary(cfg.min_count, cfg.max_vocab)
        self.counts_ = counts
        key_to_index = {w: i for i, w in enumerate(words)}
        if scan.ids is not None:
            blocks = _split(scan.blocks(cfg.min_count, cfg.max_vocab),
                            _block_tokens(cfg.window, cfg.memory_mb))
            keys, units = _count_units(blocks, len(words), cfg.window, cfg.memory_mb)
            rows, cols, vals = _table(keys, units)
        else:  # every rank counts every N-th sentence of the stream
            rows, cols, vals = count_cooccurrences(stream, key_to_index, cfg.window,
                                                   cfg.memory_mb)
        del scan
        # both directions: X is symmetric, but w and c are separate matrices
        off = rows != cols
        rows, cols = np.concatenate([rows, cols[off]]), np.concatenate([cols, rows[off]])
        vals = np.concatenate([vals, vals[off]])
        count_seconds = time.perf_counter() - start
        self.cooccurrences_ = len(vals)
        log.info("%d co-occurrence entries for %d words in %.1fs", len(vals), len(words),
                 count_seconds)

        threads = cfg.workers or max(1, (os.cpu_count() or 1)
                                     // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
        parts = cfg.blocks or world * threads  # P
        rng = np.random.default_rng(cfg.seed)
        # shuffled once, as Stanford's `shuffle` does, then grouped by block (stable: each block
        # keeps the shuffled order); block b = (row part) * P + (column part)
        order = rng.permutation(len(vals))
        block = (rows[order] % parts).astype(np.int64) * parts + cols[order] % parts  # (M,)
        by_block = np.argsort(block, kind="stable")
        order, block = order[by_block], block[by_block]
        rows, cols, vals = rows[order], cols[order], vals[order]
        bounds = np.searchsorted(block, np.arange(parts * parts + 1))  # (P*P+1,) block offsets
        logx = np.log(vals).astype(np.float32)  # (M,)
        weight = np.minimum(1.0, (vals / cfg.x_max) ** cfg.alpha).astype(np.float32)  # (M,)
        vocab_size, dim = len(words), cfg.vector_size
        kernel = _kernels.glove_kernel(dim)
        # training layout: part q's words in rows q*stride ... (q+1)*stride - 1, so that threads
        # write disjoint stretches of memory (no shared cache lines) and ranks swap slices
        stride = -(-vocab_size // parts)

        def layout(ids: np.ndarray) -> np.ndarray:
            return (ids % parts) * stride + ids // parts

        rows, cols = layout(rows), layout(cols)
        where = layout(np.arange(vocab_size))  # (V,) word id -> row
        # Stanford's initialisation: uniform in +-0.5/D, squared-gradient sums start at 1
        w = np.zeros((parts * stride, dim), dtype=np.float32)  # (V', D), V' = P * stride >= V
        c = np.zeros_like(w)
        w[where] = (rng.random((vocab_size, dim), dtype=np.float32) - 0.5) / dim
        c[where] = (rng.random((vocab_size, dim), dtype=np.float32) - 0.5) / dim
        bw = np.zeros(len(w), dtype=np.float32)
        bc = np.zeros(len(w), dtype=np.float32)
        gw, gc = np.ones_like(w), np.ones_like(c)
        gbw, gbc = np.ones_like(bw), np.ones_like(bc)

        mine = list(range(rank, parts, world))  # this rank's row parts
        block_loss = np.zeros(parts * parts)  # (P*P,) each block's loss sum, set by its owner

        def run(p: int, s: int) -> None:
            b = p * parts + (p + s) % parts
            block_loss[b] = kernel(
                rows, cols, logx, weight, int(bounds[b]), int(bounds[b + 1]), w, c, bw, bc,
                gw, gc, gbw, gbc, np.float32(cfg.eta))

        def part_rows(k: int, s: int) -> np.ndarray:
            # rank k's rows of c in round s (its rows of w with s = 0)
            return np.concatenate([np.arange(q * stride, (q + 1) * stride)
                                   for q in ((p + s) % parts for p in range(k, parts, world))]
                                  or [np.arange(0)])

        self.history_: list[dict] = []
        comm = 0.0
        train_start = time.perf_counter()
        with ThreadPoolExecutor(max(1, min(threads, len(mine)))) as pool:
            for epoch in range(1, cfg.epochs + 1):
                t0 = time.perf_counter()
                block_loss[:] = 0.0  # the other ranks' blocks too, before the sum below
                for s in range(parts):
                    list(pool.map(run, mine, [s] * len(mine)))  # re-raises a thread's error
                    if world > 1:
                        t1 = time.perf_counter()
                        _share_rows([c, gc, bc, gbc], [part_rows(k, s) for k in range(world)],
                                    rank)
                        comm += time.perf_counter() - t1
                if world > 1:  # one owner per block: the sum is exact, as in one process
                    block_loss[:] = np.sum(_all_gather(block_loss), axis=0)
                loss = float(block_loss.sum()) / len(vals)
                self.history_.append({"epoch": epoch, "loss": loss,
                                      "seconds": time.perf_counter() - t0})
                log.info("glove epoch %d: loss %.5f", epoch, loss)
                if callback is not None:
                    callback({"epoch": epoch, "loss": loss})
        if world > 1:  # each rank trained its own rows of w: gather them once
            t1 = time.perf_counter()
            _share_rows([w], [part_rows(k, 0) for k in range(world)], rank)
            comm += time.perf_counter() - t1
        self.timings_ = {"count_seconds": count_seconds,
                         "train_seconds": time.perf_counter() - train_start,
                         "comm_seconds": comm}
        self.wv = KeyedVectors(words, (w + c)[where])
        return self

    def save(self, path: str | Path) -> Path:
        """Save vectors (w + c), config and history as a checkpoint ``KeyedVectors.load`` reads."""
        if not hasattr(self, "wv"):
            raise ValueError("this GloVe is not trained yet; call fit(corpus) first")
        return self.wv.save(path, config=dict(asdict(self.config), trainer="glove"),
                            history=self.history_)
