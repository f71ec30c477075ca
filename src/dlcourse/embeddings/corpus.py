"""Streaming corpora and vocabularies for the embedding trainers: tokens in, int32 blocks out."""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
_WORD = re.compile(r"\w+(?:[-']\w+)*")
MAX_SENTENCE = 10000  # longer sentences are cut into pieces of this size (as gensim does)


def tokenize(text: str) -> list[str]:
    """Lower-case ``text`` and split it into words (letters/digits, inner hyphens/apostrophes).

    >>> tokenize("A dog's life -- well-known!")
    ['a', "dog's", 'life', 'well-known']
    """
    return _WORD.findall(text.lower())


class Corpus:
    """A re-iterable stream of token lists from a text file (one sentence per line) or an iterable.

    Parameters
    ----------
    source:
        A path to a UTF-8 text file with one sentence or document per line (tokenized with
        :func:`tokenize`), or a re-iterable of token lists or of strings (tokenized too). The file
        is read line by line on every pass, never loaded whole; a very long line (text8) is
        read in pieces of about ``max_line_chars`` characters, each a sentence of its own.
    """

    def __init__(self, source: str | Path | Iterable[list[str]] | Iterable[str]):
        if isinstance(source, (str, Path)):
            path = Path(source)
            if not path.is_file():
                raise FileNotFoundError(f"no corpus file at {path}; give a text file with one "
                                        "sentence per line")
            self.source: Path | Iterable = path
        elif iter(source) is source:
            raise ValueError("the corpus is a one-shot iterator (a generator); pass a list, a file "
                             "path or a re-iterable object so it can be read once per epoch")
        else:
            self.source = source

    max_line_chars = 1 << 20  # longer lines (text8 is one 100M-character line) come in pieces

    def __iter__(self) -> Iterator[list[str]]:
        if isinstance(self.source, Path):
            yield from self._file_sentences(self.source)
        else:
            for item in self.source:
                yield tokenize(item) if isinstance(item, str) else list(item)


    def _file_sentences(self, path: Path) -> Iterator[list[str]]:
        """One token list per line; a line longer than max_line_chars is cut at whitespace."""
        with open(path, encoding="utf-8", errors="replace") as f:
            carry = ""
            while chunk := f.readline(self.max_line_chars):
                if chunk.endswith("\n") or len(chunk) < self.max_line_chars:  # a whole line
                    yield tokenize(carry + chunk)
                    carry = ""
                    continue
                cut = max(chunk.rfind(" "), chunk.rfind("\t"))
                if cut < 0:  # no whitespace in this piece: keep reading the same word
                    carry += chunk
                    continue
                yield tokenize(carry + chunk[:cut])
                carry = chunk[cut:]
            if carry:
                yield tokenize(carry)


def process_group() -> tuple[int, int]:
    """``(rank, world size)`` of the torchrun process group; ``(0, 1)`` without one.

    Reads ``WORLD_SIZE`` first so that one process never imports torch (the numba trainers do
    not need it). Under torchrun without ``init_distributed`` it warns that every process will
    train alone, and returns ``(0, 1)``.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    from dlcourse.engine.distributed import is_distributed, rank

    if not is_distributed():
        log.warning("WORLD_SIZE=%d but no process group: call dlcourse.engine.distributed."
                    "init_distributed() first; this process trains alone on all the data", world)
        return 0, 1
    return rank(), world


def shard_sentences(corpus: Iterable[list[str]], rank: int, world: int
                    ) -> Iterable[list[str]]:
    """Every ``world``-th sentence of ``corpus`` from ``rank`` (the corpus itself for one process).

    >>> list(shard_sentences([["a"], ["b"], ["c"]], 1, 2))
    [['b']]
    """
    if world == 1:
        return corpus
    return (sentence for i, sentence in enumerate(corpus) if i % world == rank)


def build_vocab(corpus: Iterable[list[str]], min_count: int = 5,
                max_vocab: int | None = None) -> tuple[list[str], np.ndarray, int]:
    """Count words; keep those seen ``min_count`` times, at most ``max_vocab`` most frequent.

    Returns ``(words, counts, total_tokens)``: words sorted by descending count (ties by first
    appearance), their int64 counts, and the number of tokens in the whole corpus.
    """
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    counter: Counter[str] = Counter()
    total = 0
    for sentence in corpus:
        counter.update(sentence)
        total += len(sentence)
    items = [(w, c) for w, c in counter.items() if c >= min_count]
    items.sort(key=lambda wc: -wc[1])  # stable: ties keep first-seen order
    if max_vocab is not None:
        items = items[:max_vocab]
    if not items:
        raise ValueError(f"no word occurs min_count={min_count} times in a corpus of {total} "
                         "tokens; lower min_count or give a larger corpus")
    words = [w for w, _ in items]
    return words, np.array([c for _, c in items], dtype=np.int64), total


def encode_blocks(corpus: Iterable[list[str]], key_to_index: dict[str, int],
                  block_tokens: int = 1 << 20) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """Encode sentences to word ids, dropping out-of-vocabulary words, in blocks.

    Yields ``(tokens, starts, raw)``: int32 ids (N,), int64 sentence offsets (S+1,) into
    ``tokens`` (sentence s is ``tokens[starts[s]:starts[s+1]]``), and the raw token count
    (including dropped words) of the block. Sentences over 10,000 words are cut.
    """
    ids: list[int] = []
    starts = [0]
    raw = 0
    get = key_to_index.get
    for sentence in corpus:
        raw += len(sentence)
        encoded = [i for i in map(get, sentence) if i is not None]
        for piece in range(0, len(encoded), MAX_SENTENCE):
            ids.extend(encoded[piece:piece + MAX_SENTENCE])
            starts.append(len(ids))
        if len(ids) >= block_tokens:
            yield np.array(ids, dtype=np.int32), np.array(starts, dtype=np.int64), raw
            ids, starts, raw = [], [0], 0
    if len(starts) > 1 or raw:
        yield np.array(ids, dtype=np.int32), np.array(starts, dtype=np.int64), raw


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """Frequent-word subsampling: probability of keeping each word (word2vec's formula).

    keep = (sqrt(c / t) + 1) * t / c with t = sample * total count, capped at 1; ``sample=0``
    keeps everything.
    """
    if sample <= 0:
        return np.ones(len(counts), dtype=np.float32)
    threshold = sample * counts.sum()
    keep = (np.sqrt(counts / threshold) + 1) * threshold / counts
    return np.minimum(keep, 1.0).astype(np.float32)


def alias_table(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table for O(1) sampling from ``weights`` (V,).

    Returns ``(prob, alias)``: draw i uniformly, keep it with probability prob[i], else alias[i].
    """
    n = len(weights)
    scaled = weights / weights.sum() * n  # (V,) mean 1
    prob = np.ones(n, dtype=np.float64)
    alias = np.arange(n, dtype=np.int32)
    small = [i for i in range(n) if scaled[i] < 1.0]
    large = [i for i in range(n) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        prob[s] = scaled[s]
        alias[s] = g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    return prob.astype(np.float32), alias
