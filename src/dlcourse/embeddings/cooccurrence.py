"""Co-occurrence counting for GloVe: a symmetric window weighted 1/distance, as a sparse table.

Counting runs block by block into a fixed buffer that is sorted, summed and merged into the
running table whenever it fills, so memory grows with the number of distinct pairs, never with
V*V or the corpus length; the sums are exact integers, so the table has the same bits for any
buffer size, order of flushes or number of torchrun ranks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from dlcourse.embeddings.corpus import encode_blocks
from dlcourse.embeddings.ranks import all_gather, process_group, shard_sentences
from dlcourse.engine.config import whole_number


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

    Args:
        corpus: the sentences, as token lists or a :class:`~dlcourse.embeddings.Corpus`; read
            once. Words outside ``key_to_index`` are dropped before the windows are taken.
        key_to_index: the vocabulary, word -> row in ``[0, V)`` (V = its length).
        window: words counted on each side of a word (>= 1), never across sentences.
        memory_mb: size of the counting buffer in MiB (the table is the same for any size).

    Raises:
        InputError: ``window`` below 1 (0 divided by zero, a negative one counted nothing).
    """
    from dlcourse.embeddings import _kernels

    window = whole_number("window", window, 1, None, "an integer >= 1")
    rank, world = process_group()
    blocks = encode_blocks(shard_sentences(corpus, rank, world), key_to_index,
                           block_tokens=block_tokens(window, memory_mb))
    keys, units = count_units(blocks, len(key_to_index), window, memory_mb)
    if world > 1:  # integer sums: the merged table is the single-process one, bit for bit
        keys, units = _kernels.sort_reduce(np.concatenate(all_gather(keys)),
                                           np.concatenate(all_gather(units)), len(key_to_index))
    return table_from_units(keys, units)


def table_from_units(keys: np.ndarray, units: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted keys and fixed-point sums to ``(rows, cols, values)``."""
    from dlcourse.embeddings import _kernels

    rows = (keys >> 32).astype(np.int32)
    cols = (keys & 0xFFFFFFFF).astype(np.int32)
    return rows, cols, (units / _kernels.WEIGHT_UNITS).astype(np.float32)


def block_tokens(window: int, memory_mb: int) -> int:
    """Words per block such that a block's entries fill at most half the counting buffer."""
    return max(_capacity(memory_mb) // (2 * window), 1024)


def _capacity(memory_mb: int) -> int:
    return max(memory_mb * 2**20 // 12, 1 << 16)  # int64 key + int32 weight per entry


def count_units(blocks: Iterable[tuple[np.ndarray, np.ndarray, int]], vocab_size: int,
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


def split_blocks(blocks: list, max_tokens: int) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """``blocks`` cut at sentence boundaries into blocks of at most about ``max_tokens`` words
    (views; the raw counts are not split)."""
    for tokens, starts, raw in blocks:
        cuts = np.searchsorted(starts, np.arange(0, starts[-1], max_tokens))
        bounds = [*dict.fromkeys([*(int(c) for c in cuts), len(starts) - 1])]
        for a, b in zip(bounds[:-1], bounds[1:]):
            yield tokens[starts[a]:starts[b]], starts[a:b + 1] - starts[a], raw


def symmetric_table(scan: Any, corpus: Iterable, key_to_index: dict[str, int], window: int,
                    memory_mb: int, min_count: int, max_vocab: int | None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both directions of the table of ``corpus`` (GloVe's w and c are separate matrices).

    Args:
        scan: the corpus's :class:`~dlcourse.embeddings.corpus.CorpusScan`; when it kept the
            token ids, they are counted from memory, else ``corpus`` is read again (under
            torchrun each rank counts every N-th sentence, see :func:`count_cooccurrences`).
        corpus: the corpus (a Corpus or token lists).
        key_to_index: the vocabulary.
        window, memory_mb: see :func:`count_cooccurrences`.
        min_count, max_vocab: the vocabulary's settings (to encode ``scan``'s ids).

    Returns:
        ``(rows, cols, values)``: int32, int32, float32; every off-diagonal entry twice.
    """
    if scan.ids is not None:
        blocks = split_blocks(scan.blocks(min_count, max_vocab), block_tokens(window, memory_mb))
        rows, cols, vals = table_from_units(*count_units(blocks, len(key_to_index), window,
                                                         memory_mb))
    else:
        rows, cols, vals = count_cooccurrences(corpus, key_to_index, window, memory_mb)
    off = rows != cols
    return (np.concatenate([rows, cols[off]]), np.concatenate([cols, rows[off]]),
            np.concatenate([vals, vals[off]]))
