"""GloVe's lock-free schedule: the shuffled table cut into P x P blocks, trained round by round.

The vocabulary is cut into P interleaved parts (word i in part i % P), so the co-occurrence
matrix falls into P x P blocks (DSGD, Gemulla et al. 2011). An epoch runs P rounds; round s
trains the P blocks (p, (p + s) % P), which share no row of w and no row of c, so they run at
the same time without locks or races, each by plain sequential AdaGrad. The result depends on
the seed and P only, not on the number of threads or processes, and a run stopped between two
rounds and resumed there ends with the bits of a run never stopped.

Under torchrun each rank trains the row parts p with p % N == its rank. After each round the
ranks all-gather the rows of c (and their AdaGrad sums) they updated; the rows of w stay with
their rank until they are needed whole (a checkpoint, the end of training).
"""

from __future__ import annotations

import time
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from dlcourse.embeddings.ranks import all_gather, share_rows

PARAMS = ("w", "c", "bw", "bc", "gw", "gc", "gbw", "gbc")  # the arrays AdaGrad updates
OWN_ROWS = ("w", "bw", "gw", "gbw")  # kept by the rank that trains them until gathered


@dataclass
class BlockTable:
    """The co-occurrence entries, shuffled once and grouped by block, in the training layout.

    Part q's words sit in rows ``q * stride ... (q + 1) * stride - 1`` of every parameter, so
    threads write disjoint stretches of memory (no shared cache lines) and ranks swap slices.

    Attributes:
        rows, cols: (M,) int32 entry rows and columns in that layout.
        logx, weight: (M,) float32 log X_ij and f(X_ij).
        bounds: (P*P + 1,) offsets of block b = (row part) * P + (column part).
        parts: P.
        stride: rows per part.
        where: (V,) a word id's row in the layout.
    """

    rows: np.ndarray
    cols: np.ndarray
    logx: np.ndarray
    weight: np.ndarray
    bounds: np.ndarray
    parts: int
    stride: int
    where: np.ndarray

    @classmethod
    def build(cls, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, parts: int,
              vocab_size: int, x_max: float, alpha: float,
              rng: np.random.Generator) -> BlockTable:
        """Shuffle the table ``(rows, cols, vals)`` (M,) with ``rng`` and group it by block."""
        # shuffled once, as Stanford's `shuffle` does, then grouped by block (stable: each block
        # keeps the shuffled order)
        order = rng.permutation(len(vals))
        block = (rows[order] % parts).astype(np.int64) * parts + cols[order] % parts  # (M,)
        by_block = np.argsort(block, kind="stable")
        order, block = order[by_block], block[by_block]
        rows, cols, vals = rows[order], cols[order], vals[order]
        bounds = np.searchsorted(block, np.arange(parts * parts + 1))  # (P*P+1,)
        stride = -(-vocab_size // parts)

        def layout(ids: np.ndarray) -> np.ndarray:
            return (ids % parts) * stride + ids // parts

        return cls(rows=layout(rows).astype(np.int32), cols=layout(cols).astype(np.int32),
                   logx=np.log(vals).astype(np.float32),
                   weight=np.minimum(1.0, (vals / x_max) ** alpha).astype(np.float32),
                   bounds=bounds, parts=parts, stride=stride,
                   where=layout(np.arange(vocab_size)))

    def start_params(self, dim: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Stanford's start: vectors uniform in +-0.5/D, biases 0, squared-gradient sums 1."""
        n = self.parts * self.stride  # V' >= V rows: the layout's padding rows stay 0
        w = np.zeros((n, dim), dtype=np.float32)  # (V', D)
        c = np.zeros_like(w)
        w[self.where] = (rng.random((len(self.where), dim), dtype=np.float32) - 0.5) / dim
        c[self.where] = (rng.random((len(self.where), dim), dtype=np.float32) - 0.5) / dim
        bw = np.zeros(n, dtype=np.float32)
        return {"w": w, "c": c, "bw": bw, "bc": np.zeros_like(bw), "gw": np.ones_like(w),
                "gc": np.ones_like(c), "gbw": np.ones_like(bw), "gbc": np.ones_like(bw)}


class Rounds:
    """Runs the rounds of an epoch on a thread pool; under torchrun shares rows after each.

    Args:
        table: the blocks.
        params: the arrays of :data:`PARAMS`, updated in place.
        eta: AdaGrad's learning rate.
        rank, world: this process and the number of processes.
    """

    def __init__(self, table: BlockTable, params: dict[str, np.ndarray], eta: float,
                 rank: int, world: int) -> None:
        from dlcourse.embeddings._kernels import glove_kernel

        self.table, self.params, self.eta = table, params, np.float32(eta)
        self.rank, self.world = rank, world
        self.kernel = glove_kernel(params["w"].shape[1])
        self.mine = list(range(rank, table.parts, world))  # this rank's row parts
        self.block_loss = np.zeros(table.parts ** 2)  # (P*P,) each block's loss, set by its owner
        self.comm_seconds = 0.0  # in collectives

    def run(self, s: int, pool: Executor) -> None:
        """Train this rank's blocks of round ``s`` (one thread each), then share the rows of c."""
        list(pool.map(self._block, self.mine, [s] * len(self.mine)))  # re-raises an error
        if self.world > 1:
            p, t0 = self.params, time.perf_counter()
            share_rows([p["c"], p["gc"], p["bc"], p["gbc"]], self._owned(s), self.rank)
            self.comm_seconds += time.perf_counter() - t0

    def _block(self, p: int, s: int) -> None:
        t, q, parts = self.table, self.params, self.table.parts
        b = p * parts + (p + s) % parts
        self.block_loss[b] = self.kernel(
            t.rows, t.cols, t.logx, t.weight, int(t.bounds[b]), int(t.bounds[b + 1]), q["w"],
            q["c"], q["bw"], q["bc"], q["gw"], q["gc"], q["gbw"], q["gbc"], self.eta)

    def _owned(self, s: int) -> list[np.ndarray]:
        """Each rank's rows of c in round s (its rows of w with s = 0)."""
        parts, stride = self.table.parts, self.table.stride
        return [np.concatenate([np.arange(q * stride, (q + 1) * stride)
                                for q in ((p + s) % parts for p in range(k, parts, self.world))]
                               or [np.arange(0)]) for k in range(self.world)]

    def gather_own_rows(self, names: tuple[str, ...] = OWN_ROWS) -> None:
        """Copy every rank's rows of w (and its sums) to every rank (collective)."""
        if self.world > 1:
            t0 = time.perf_counter()
            share_rows([self.params[n] for n in names], self._owned(0), self.rank)
            self.comm_seconds += time.perf_counter() - t0

    def epoch_loss(self, entries: int) -> float:
        """The epoch's loss per entry (one owner per block: the sum over ranks is exact)."""
        loss = self.block_loss
        if self.world > 1:
            loss = np.sum(all_gather(loss), axis=0)
        return float(loss.sum()) / entries

    def losses_for_checkpoint(self) -> np.ndarray:
        """Every block's loss so far this epoch, all ranks' blocks (collective)."""
        return np.sum(all_gather(self.block_loss), axis=0) if self.world > 1 else self.block_loss

    def restore_losses(self, saved: np.ndarray) -> None:
        """Continue an epoch: rank 0 holds the blocks trained before the stop (so that the sum
        over ranks counts each once); the others start from zero."""
        self.block_loss[:] = saved if self.rank == 0 else 0.0
