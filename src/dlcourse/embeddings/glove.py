"""GloVe: co-occurrence counting and AdaGrad weighted least squares (numba; threads, torchrun)."""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from dlcourse.embeddings.base import VectorEstimator, with_progress
from dlcourse.embeddings.checkpoint import (
    RunCheckpoint,
    check_resumable,
    data_fingerprint,
    interrupted_message,
)
from dlcourse.embeddings.config import GloVeConfig
from dlcourse.embeddings.cooccurrence import count_cooccurrences, symmetric_table
from dlcourse.embeddings.corpus import Corpus, scan_corpus
from dlcourse.embeddings.glove_training import PARAMS, BlockTable, Rounds
from dlcourse.embeddings.ranks import any_rank, process_group
from dlcourse.embeddings.vectors import KeyedVectors
from dlcourse.engine.distributed import barrier
from dlcourse.engine.interrupt import StopGuard, say_resuming, stopped_at_once
from dlcourse.engine.threads import thread_budget
from dlcourse.errors import (
    DlcourseError,
    IncompatibleModelError,
    InputError,
    TrainingInterrupted,
)

log = logging.getLogger(__name__)
CACHE_TOKENS = 50_000_000  # keep the encoded corpus in memory below this (200 MB)

__all__ = ["GloVe", "count_cooccurrences"]


class GloVe(VectorEstimator):
    """GloVe (Pennington et al. 2014): fit word and context vectors to log co-occurrence counts.

    Minimises sum f(X_ij) (w_i.c_j + b_i + b'_j - log X_ij)^2 with f(x) = min(1, (x/x_max)^alpha)
    by AdaGrad (numba), over a symmetric window with 1/distance weighting. ``GloVe(...)`` only
    stores the settings (:class:`~dlcourse.embeddings.config.GloVeConfig`); :meth:`fit` trains
    and returns ``self``. Learned attributes end in ``_``: ``wv_`` (the vectors w + c, a
    :class:`KeyedVectors`; ``wv`` is gensim's read-only alias, the one exception to the rule),
    ``counts_``, ``cooccurrences_`` (distinct pairs), ``history_`` (loss per epoch) and
    ``timings_`` (counting, training and communication seconds). Training never imports torch.

    Schedule (DSGD, see :mod:`dlcourse.embeddings.glove_training`): the vocabulary is cut into
    ``blocks`` = P parts, the table into P x P blocks trained P at a time without locks. The
    result depends on ``seed`` and P only, not on the number of threads or processes: same
    seed, same P, same vectors; a run stopped (between two rounds) and resumed gives them too.

    Under torchrun (``init_distributed`` first; every rank passes the whole corpus) each rank
    reads the whole corpus for the vocabulary, counts co-occurrences in every N-th sentence
    (the tables are merged exactly, see :func:`count_cooccurrences`), then trains its row parts
    on its ``workers`` threads. So N processes produce exactly the vectors and losses of one
    process with the same P (tested bit for bit with 2 gloo processes); P defaults to N x
    ``workers`` (``workers`` defaults to the cores / processes per machine).

    Example:
        >>> sentences = [["the", "cat", "sat"], ["the", "dog", "sat"]] * 50
        >>> GloVe(vector_size=8, min_count=1, epochs=3, workers=1).fit(sentences).wv["dog"].shape
        (8,)
    """

    config_class = GloVeConfig

    def fit(self, corpus: str | Path | Iterable[list[str]] | Corpus,
            callback: Callable[[dict], None] | None = None, *,
            out_dir: str | os.PathLike | None = None, resume: bool = False) -> GloVe:
        """Count co-occurrences in ``corpus`` and train; returns ``self``.

        Args:
            corpus: a text file (one sentence a line; ``Corpus(path, encoding=...)`` for
                another encoding) or a re-iterable of token lists.
            callback: called after each epoch with ``epoch`` and ``loss``.
            out_dir: write ``out_dir/last.safetensors`` (the working arrays and where the run
                stands) after an epoch (at most every 10 s), at the end and on Ctrl-C, which
                stops between two rounds of an epoch; and ``out_dir/model.safetensors`` at
                the end.
            resume: continue the run in ``out_dir``; the result is the one a run never stopped
                gives, bit for bit.

        Raises:
            ConfigError: a setting out of range.
            DlcourseError: an undecodable file; nothing (or another run) to resume.
            TrainingInterrupted: Ctrl-C (or ``DLCOURSE_INTERRUPT_AFTER=N``: after step N, a
                step being one round, P per epoch).
        """
        with with_progress(callback, self.config.progress is True, "glove", "epoch") as report:
            return self._fit(corpus, report, out_dir, resume)

    def _fit(self, corpus: str | Path | Iterable[list[str]] | Corpus,
             callback: Callable[[dict], None] | None, out_dir: str | os.PathLike | None,
             resume: bool) -> GloVe:
        """:meth:`fit`, ``callback`` checked (and behind the progress bar)."""
        cfg = self.validated_config(out_dir, resume, later_notes=True)
        stream = Corpus(corpus)
        start = time.perf_counter()
        rank, world = process_group()
        saved_parts = None
        if resume:  # a wrong folder is refused before the corpus is read
            saved_parts = (check_resumable(out_dir, "GloVe").get("settings") or {}).get("blocks")
        # one pass: counts, and (one process, corpus up to CACHE_TOKENS) the encoded corpus
        scan = scan_corpus(stream, max_tokens=CACHE_TOKENS if world == 1 else 0)
        words, counts = scan.vocabulary(cfg.min_count, cfg.max_vocab)
        self.say_folder_notes()  # after the corpus passed its checks (min_count keeps a word)
        threads = cfg.workers or thread_budget()
        # P; a resumed run left at the default keeps the P its first run worked out (the
        # vectors depend on it), whatever the processes and threads now
        parts = cfg.blocks or saved_parts or world * threads
        settings = {**cfg.resume_values(), "blocks": parts,
                    "data": data_fingerprint(words, counts)}
        if resume:  # other data or settings: refused before the co-occurrences are counted
            check_resumable(out_dir, "GloVe", settings)
        kept, total = int(counts.sum()), scan.total
        key_to_index = {w: i for i, w in enumerate(words)}
        rows, cols, vals = symmetric_table(scan, stream, key_to_index, cfg.window, cfg.memory_mb,
                                           cfg.min_count, cfg.max_vocab)
        del scan
        if not len(vals):  # every rank counts the whole corpus: all refuse alike
            raise InputError(f"no two of the {len(words)} vocabulary words occur in one text "
                             f"within {cfg.window} words of each other, so GloVe has no "
                             "co-occurrence to fit; give longer texts, a lower min_count or a "
                             "wider window")
        count_seconds = time.perf_counter() - start
        log.info("vocabulary: %d words (min_count=%d), %d of the %d tokens", len(words),
                 cfg.min_count, kept, total)
        log.info("%d co-occurrence entries for %d words in %.1fs", len(vals), len(words),
                 count_seconds)

        rng = np.random.default_rng(cfg.seed)
        table = BlockTable.build(rows, cols, vals, parts, len(words), cfg.x_max, cfg.alpha, rng)
        del rows, cols
        params = table.start_params(cfg.vector_size, rng)
        checkpoint = None
        if out_dir is not None:
            checkpoint = RunCheckpoint(out_dir, "GloVe", settings, cfg.to_dict())
        state: dict[str, Any] = {"epoch": 0, "history": [], "position": None}
        rounds = Rounds(table, params, cfg.eta, rank, world)
        if resume:
            arrays, state = checkpoint.read()
            for name in PARAMS:
                params[name][...] = arrays[name]
            if state["position"] is not None:
                rounds.restore_losses(arrays["block_loss"])
            done = (state["position"] or {}).get("round", 0)
            say_resuming(state["epoch"], cfg.epochs, f", round {done + 1}" if done else "")
        # the learned attributes are set together at the end: a refit stopped midway leaves
        # the previous fit's whole state, not half of each
        history = list(state["history"])
        position = state["position"] or {"round": 0, "seconds": 0.0}

        def save(epoch: int, position: dict | None) -> None:
            rounds.gather_own_rows()  # rank 0 writes every rank's rows of w
            arrays = dict(params)
            if position is not None:
                arrays["block_loss"] = rounds.losses_for_checkpoint()
            checkpoint.write(arrays, {"epoch": epoch, "history": history,
                                      "position": position})

        train_start = time.perf_counter()
        with StopGuard() as guard, ThreadPoolExecutor(max(1, min(threads, len(rounds.mine)))) \
                as pool:
            for epoch in range(state["epoch"] + 1, cfg.epochs + 1):
                t0 = time.perf_counter() - position["seconds"]
                if position["round"] == 0:
                    rounds.block_loss[:] = 0.0  # the other ranks' blocks too, before the sum
                for s in range(position["round"], parts):
                    try:
                        rounds.run(s, pool)
                    except KeyboardInterrupt:
                        raise stopped_at_once(
                            None if checkpoint is None else checkpoint.path) from None
                    guard.step()
                    if s + 1 < parts and any_rank([guard.should_stop()], world)[0]:
                        where = f"in epoch {epoch} after {s + 1} of {parts} rounds"
                        if checkpoint is not None:
                            save(epoch - 1, {"round": s + 1,
                                             "seconds": time.perf_counter() - t0})
                        barrier()  # no rank leaves before rank 0's checkpoint is on disk
                        raise TrainingInterrupted(interrupted_message(where, checkpoint))
                position = {"round": 0, "seconds": 0.0}
                loss = rounds.epoch_loss(len(vals))
                if not math.isfinite(loss):  # the same sum on every rank: all stop here
                    raise DlcourseError(f"GloVe diverged: the loss became {loss} in epoch "
                                        f"{epoch}; lower the learning rate (--lr, now "
                                        f"{cfg.eta:g})")
                history.append({"epoch": epoch, "loss": loss,
                                      "seconds": time.perf_counter() - t0})
                log.info("glove epoch %d: loss %.5f", epoch, loss)
                if callback is not None:
                    callback({"epoch": epoch, "loss": loss})
                last = epoch == cfg.epochs  # a stop after the last epoch: the run is done
                stop, due = any_rank([guard.should_stop() and not last, checkpoint is not None
                                      and not last and checkpoint.due()], world)
                if stop or due:
                    if checkpoint is not None:
                        save(epoch, None)
                if stop:
                    barrier()  # no rank leaves before rank 0's checkpoint is on disk
                    raise TrainingInterrupted(interrupted_message(f"after epoch {epoch}",
                                                                  checkpoint))
        with StopGuard(at_end=True):  # a Ctrl-C now waits: the run is done, its files due
            if checkpoint is not None:
                save(cfg.epochs, None)  # what --resume with more epochs continues from
            else:
                rounds.gather_own_rows(("w",))  # each rank trained its own rows of w
            self.timings_ = {"count_seconds": count_seconds,
                             "train_seconds": time.perf_counter() - train_start,
                             "comm_seconds": rounds.comm_seconds}
            self.wv_ = KeyedVectors(words, (params["w"] + params["c"])[table.where], counts)
            self.counts_, self.cooccurrences_, self.history_ = counts, len(vals), history
            if out_dir is not None:
                self.save(out_dir)  # rank 0 only
        return self

    # ------------------------------------------------------------------- state
    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The vectors and counts as arrays; vocabulary, history and timings as JSON."""
        arrays = {"vectors": self.wv_.vectors, "counts": self.counts_}
        return arrays, {"words": self.wv_.index_to_key, "history": self.history_,
                        "cooccurrences": self.cooccurrences_, "timings": self.timings_}

    def _set_state(self, arrays: dict[str, np.ndarray], values: dict[str, Any]) -> None:
        vectors, words = arrays["vectors"], list(values["words"])
        if vectors.shape != (len(words), self.config.vector_size) \
                or arrays["counts"].shape != (len(words),):
            raise IncompatibleModelError(
                f"the GloVe vectors {vectors.shape} do not fit {len(words)} words of "
                f"{self.config.vector_size} dims; the file was edited or written by another "
                "version: train it again")
        self.wv_ = KeyedVectors(words, vectors, arrays["counts"])
        self.counts_ = arrays["counts"]
        self.history_ = list(values.get("history") or [])
        self.cooccurrences_ = int(values.get("cooccurrences", 0))
        self.timings_ = dict(values.get("timings") or {})
