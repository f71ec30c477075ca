"""Word2Vec's CPU trainer: the compiled kernel on ``workers`` threads, chunk by chunk (no torch).

An epoch is cut into chunks of about :data:`CHUNK_TOKENS` words at sentence boundaries; threads
take them in corpus order and update the shared vectors without locks (Hogwild, as word2vec.c
and gensim do). A chunk's random numbers are seeded by its position in the run, so one thread
gives the same bits every time, and a run stopped after chunk k and resumed at chunk k + 1
gives the bits of a run never stopped. Ctrl-C (through
:class:`~dlcourse.engine.interrupt.StopGuard`) is honoured between chunks: no thread takes a
new chunk, the chunks in flight finish, and the epoch reports how many chunks it completed
(always the first k, since chunks are handed out in order).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from itertools import islice
from typing import Any

import numpy as np

from dlcourse.embeddings.sampling import alias_table
from dlcourse.engine.threads import thread_budget

CHUNK_TOKENS = 50_000  # words per kernel call; threads take chunks in turn


@dataclass
class EpochProgress:
    """Where an epoch stands: units finished (chunks here, blocks on the torch path), the running
    sums of its history entry, the seconds it took before a resume, and whether it stopped early.
    """

    done: int = 0
    loss: float = 0.0
    outputs: int = 0
    words: int = 0
    seconds: float = 0.0
    stopped: bool = False

    def to_values(self) -> dict[str, Any]:
        """Plain JSON values (for the checkpoint)."""
        return asdict(self)

    @classmethod
    def from_values(cls, values: dict[str, Any] | None) -> EpochProgress:
        return cls(**(values or {}))


class NumbaTrainer:
    """Trains ``w_in``/``w_out`` (updated in place) with the kernel of ``method`` and ``dim``.

    Args:
        cfg: the run's Word2VecConfig.
        w_in, w_out: (V, D) float32 input and output vectors to start from (new random ones, a
            checkpoint's, or a trained model's copies for a continued ``train``: they are
            updated in place).
        keep: (V,) subsampling keep probabilities.
        noise: (V,) noise weights (counts ** ns_exponent).
    """

    def __init__(self, cfg: Any, w_in: np.ndarray, w_out: np.ndarray, keep: np.ndarray,
                 noise: np.ndarray) -> None:
        from dlcourse.embeddings._kernels import word2vec_kernel

        self.kernel = word2vec_kernel(cfg.method, w_in.shape[1])
        self.cfg = cfg
        self.w_in, self.w_out, self.keep = w_in, w_out, keep
        self.prob, self.alias = alias_table(noise)
        self.workers = max(1, cfg.workers or thread_budget())

    def train_epoch(self, blocks: Iterable, seed: int, done_before: int, total: float,
                    start: EpochProgress, guard: Any,
                    report: Callable[[float, int, int], None] | None) -> EpochProgress:
        """Train one pass over ``blocks`` from chunk ``start.done`` on.

        Args:
            blocks: the encoded corpus (``encode_blocks``' triples).
            seed: the epoch's seed (each chunk's is derived from it and the chunk's index).
            done_before: words trained in the run before this epoch (the learning rate).
            total: words of the whole run.
            start: the epoch's progress so far (zero, or where a stopped run left it).
            guard: a StopGuard: ``step()`` after each chunk, ``should_stop()`` before the next.
            report: called in this thread with the epoch's (loss sum, outputs, words) so far
                after each chunk, whichever thread trained it, for progress: the last call
                has the epoch's totals.

        Returns:
            the epoch's progress; ``stopped`` when the guard stopped it before the end.
        """
        cfg = self.cfg
        # the chunks a stopped run finished are skipped: the same cut, indices and seeds
        chunks = islice(_chunks(blocks, done_before), start.done, None)
        lock = threading.Lock()
        totals = [start.loss, start.outputs, start.words, start.done]
        stopping: list[bool] = []
        failed: list[BaseException] = []
        # the totals after every chunk, whichever thread finished it (None: a thread ended),
        # for this thread to report: one report a chunk, as it ends, the last one the epoch's
        events: queue.SimpleQueue = queue.SimpleQueue()

        def run() -> None:
            done = None
            try:
                while not failed:
                    with lock:
                        if done is not None:
                            for k, value in enumerate((*done, 1)):
                                totals[k] += value
                            guard.step()
                            events.put(tuple(totals[:3]))  # in the lock: in the order of the sums
                        chunk = None if stopping else next(chunks, None)  # may encode a block
                        if chunk is not None and guard.should_stop():  # work is left: stop here
                            stopping.append(True)
                            chunk = None
                    if chunk is None:
                        return
                    c, tokens, starts, s_begin, s_end, done_chunk, raw = chunk
                    loss, outputs, _, _ = self.kernel(
                        tokens, starts, s_begin, s_end, self.w_in, self.w_out, self.keep,
                        self.prob, self.alias, cfg.window, cfg.negative, cfg.cbow_mean,
                        cfg.alpha, cfg.min_alpha, float(done_chunk), total,
                        (seed * 1009 + c) % 2**63)
                    done = (loss, outputs, raw)
            except BaseException as exc:  # re-raised in the calling thread below
                failed.append(exc)
            finally:
                events.put(None)

        # this thread only reports (and takes a second Ctrl-C at once): the kernel runs on
        # ``workers`` threads of its own
        threads = [threading.Thread(target=run, daemon=True) for _ in range(self.workers)]
        for t in threads:
            t.start()
        try:
            running = len(threads)
            while running:
                progress = events.get()
                if progress is None:
                    running -= 1
                elif report is not None:
                    report(*progress)
        except BaseException as exc:  # the callback's error, or a second Ctrl-C: the threads
            failed.append(exc)  # stop after their chunk
            raise
        finally:
            for t in threads:
                t.join()
        if failed:
            raise failed[0]
        return EpochProgress(done=totals[3], loss=totals[0], outputs=totals[1], words=totals[2],
                             seconds=start.seconds, stopped=bool(stopping))

    def arrays(self) -> dict[str, np.ndarray]:
        """The working arrays a checkpoint holds."""
        return {"w_in": self.w_in, "w_out": self.w_out}

    def extra(self) -> dict[str, Any]:
        """Plain values a checkpoint holds: none (each chunk seeds its own generator)."""
        return {}

    def restore(self, arrays: dict[str, np.ndarray], extra: dict[str, Any]) -> None:
        """Nothing beyond the weights, which came in the constructor."""

    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        """(input vectors, output vectors), each (V, D)."""
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
