"""Corpora and vocabularies for the embedding trainers: text in, blocks of int32 word ids out.

The trainers read a corpus once (:func:`scan_corpus`): words are counted and every token is
written down as an int32 index in the same pass, so the vocabulary, the encoding and every
epoch after the first cost numpy operations, not another pass of Python over the text. Corpora
of more than ``max_tokens`` tokens are not kept: they are encoded again each epoch
(:func:`encode_blocks`). Both routes cut the same blocks, so they train the same model.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import count, repeat
from pathlib import Path

import numpy as np

from dlcourse.errors import ConfigError, InputError, MissingFileError
from dlcourse.text.labels import refuse_table
from dlcourse.text.reading import text_files

_WORD = re.compile(r"\w+(?:[-']\w+)*")
_WORD_OR_LINE_END = re.compile(r"\w+(?:[-']\w+)*|\n")  # "\n" can never be a word: a safe marker
MAX_SENTENCE = 10000  # longer sentences are cut into pieces of this size (as gensim does)
BLOCK_TOKENS = 1 << 20  # words per encoded block
_SCAN_TOKENS = 1 << 18  # words per piece of a token-list corpus while scanning


def tokenize(text: str) -> list[str]:
    """Lower-case ``text`` and split it into words (letters/digits, inner hyphens/apostrophes).

    Args:
        text: one string (a line, a sentence or a whole document).

    >>> tokenize("A dog's life -- well-known!")
    ['a', "dog's", 'life', 'well-known']
    """
    return _WORD.findall(text.lower())


class Corpus:
    """A re-iterable stream of token lists from a text file (one sentence per line) or an iterable.

    Args:
        source: a path to a text file with one sentence or document per line (tokenized with
            :func:`tokenize`) or to a folder of such files (read in name order), or a
            re-iterable of token lists or of strings (tokenized too), or another Corpus. A
            file is streamed on every pass, never loaded whole; a very long line (text8 is one
            100M-character line) is cut at blanks into pieces of about ``max_line_chars``
            characters.
        encoding: the file's text encoding. Files are read through
            :func:`dlcourse.text.read_text_lines`, the one reading policy of the text lessons:
            an undecodable byte is an error naming the file and line, never replaced.

    Raises:
        MissingFileError: ``source`` names no file (an InputError and a FileNotFoundError).
        ValueError: ``source`` is a one-shot iterator (it must be read once per epoch).
        DlcourseError: an unknown encoding.
    """

    max_line_chars = 1 << 20  # longer lines (text8 is one 100M-character line) come in pieces

    def __init__(self, source: str | Path | Iterable[list[str]] | Iterable[str] | Corpus,
                 encoding: str = "utf-8"):
        from dlcourse.text.reading import check_encoding

        if isinstance(source, Corpus):
            source, encoding = source.source, source.encoding
        refuse_table(source, "the corpus", "texts or token lists")  # it iterates its columns
        if not isinstance(source, str | os.PathLike) and not hasattr(source, "__iter__"):
            raise InputError(f"the corpus must be a file path or a list of sentences, got "
                             f"{type(source).__name__}")
        self.encoding = check_encoding(encoding)
        if isinstance(source, (str, Path)):
            path = Path(source)
            if not path.exists():
                text = (" (to train on this text itself, pass a list: [text])"
                        if isinstance(source, str) and len(source.split()) > 1 else "")
                raise MissingFileError(f"corpus file {path} does not exist; give a text file "
                                       f"(or a folder of them) with one sentence per line{text}")
            text_files(path, "corpus")  # a folder without files is refused now, not in fit
            self.source: Path | Iterable = path
        elif iter(source) is source:
            raise InputError("the corpus is a one-shot iterator (a generator); pass a list, a file "
                             "path or a re-iterable object so it can be read once per epoch")
        else:
            self.source = source

    def __iter__(self) -> Iterator[list[str]]:
        if isinstance(self.source, Path):
            for text in self._file_pieces():
                for line in text.split("\n")[:-1]:
                    yield tokenize(line)
        else:
            for item in self.source:
                yield tokenize(item) if isinstance(item, str) else list(item)

    def token_blocks(self) -> Iterator[tuple[list, object]]:
        """Flat token lists, every sentence followed by an end marker: yields (tokens, marker).

        The sentences of ``iter(corpus)`` without a Python list per sentence: each piece of a
        file goes through one regular expression, which also matches the line ends.
        """
        if isinstance(self.source, Path):
            for text in self._file_pieces():
                text = text.lower()
                if _split_is_tokenize(text):  # already tokenized text: str.split is faster
                    flat: list[str] = []
                    for line in text.split("\n")[:-1]:
                        flat += line.split()
                        flat.append("\n")
                    yield flat, "\n"
                else:
                    yield _WORD_OR_LINE_END.findall(text), "\n"
        else:
            yield from _list_blocks(self.source, tokenize_strings=True)

    def _file_pieces(self) -> Iterator[str]:
        """The file's lines joined into pieces of about max_line_chars characters, each ending
        in "\\n"; a longer line is cut at blanks (a single longer word stays whole)."""
        from dlcourse.text.reading import read_text_lines

        limit = self.max_line_chars
        lines: list[str] = []
        size = 0
        for line in (line for file in text_files(self.source, "corpus")
                     for line in read_text_lines(file, self.encoding)):
            if len(line) >= limit:
                if lines:
                    yield "\n".join(lines) + "\n"
                    lines, size = [], 0
                yield from _cut_at_blanks(line, limit)
                continue
            lines.append(line)
            size += len(line) + 1
            if size >= limit:
                yield "\n".join(lines) + "\n"
                lines, size = [], 0
        if lines:
            yield "\n".join(lines) + "\n"


def _cut_at_blanks(line: str, limit: int) -> Iterator[str]:
    """``line`` in pieces of about ``limit`` characters cut at blanks, each ending in "\\n"."""
    start = 0
    while len(line) - start > limit:
        cut = max(line.rfind(" ", start, start + limit), line.rfind("\t", start, start + limit))
        if cut <= start:  # a single huge word: cut at the next blank after it
            blanks = [i for i in (line.find(" ", start + limit), line.find("\t", start + limit))
                      if i >= 0]
            if not blanks:
                break
            cut = min(blanks)
        yield line[start:cut] + "\n"
        start = cut
    yield line[start:] + "\n"


_WORD_BYTES = np.zeros(256, dtype=bool)  # ASCII \w
for _chars in (b"abcdefghijklmnopqrstuvwxyz", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"0123456789_"):
    _WORD_BYTES[list(_chars)] = True
_PLAIN_BYTES = _WORD_BYTES.copy()  # \w, blanks, and - ' (allowed between word characters)
_PLAIN_BYTES[list(b" \t\n\r\f\v-'")] = True


def _split_is_tokenize(text: str) -> bool:
    """True when ``text.split()`` finds exactly :func:`tokenize`'s words in lower-case ``text``:
    ASCII with only word characters and blanks, hyphens and apostrophes between word characters.
    """
    if not text.isascii():
        return False
    chars = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    if not _PLAIN_BYTES[chars].all():
        return False
    inner = np.flatnonzero((chars == ord("-")) | (chars == ord("'")))
    if not len(inner):
        return True
    if inner[0] == 0 or inner[-1] == len(chars) - 1:
        return False
    return bool(_WORD_BYTES[chars[inner - 1]].all() and _WORD_BYTES[chars[inner + 1]].all())


#: ends each sentence of a token-list corpus: an object no token can be (a None token is then
#: a word, which the scan refuses, not a sentence end)
_SENTENCE_END = object()


def _list_blocks(sentences: Iterable, tokenize_strings: bool = False
                 ) -> Iterator[tuple[list, object]]:
    """``token_blocks`` of an iterable of token lists (or strings), each sentence ended by
    :data:`_SENTENCE_END`."""
    flat: list = []
    for i, item in enumerate(sentences):
        if not isinstance(item, str) and not hasattr(item, "__iter__"):  # None, NaN, a number
            raise InputError(f"sentence {i} of the corpus is {type(item).__name__} {item!r}, "
                             "not a text or a list of tokens; drop or fill the missing texts")
        # extend, not +=: a numpy array of tokens would take `list += array` as numpy addition
        flat.extend(tokenize(item) if tokenize_strings and isinstance(item, str) else item)
        flat.append(_SENTENCE_END)
        if len(flat) >= _SCAN_TOKENS:
            yield flat, _SENTENCE_END
            flat = []
    if flat:
        yield flat, _SENTENCE_END


def _token_blocks(corpus: Iterable) -> Iterator[tuple[list, object]]:
    return corpus.token_blocks() if isinstance(corpus, Corpus) else _list_blocks(corpus)


@dataclass
class CorpusScan:
    """One pass over a corpus (see :func:`scan_corpus`).

    ``words``: every distinct word in order of first appearance; ``counts`` (W,) int64 their
    counts; ``ids`` (N + S,) int32: each token's index into ``words``, and -1 after every
    sentence, or None when the corpus had more than ``max_tokens`` tokens.
    """

    words: list[str]
    counts: np.ndarray
    ids: np.ndarray | None

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def vocabulary(self, min_count: int = 5, max_vocab: int | None = None
                   ) -> tuple[list[str], np.ndarray]:
        """Words seen ``min_count`` times, at most ``max_vocab`` most frequent, by descending
        count (ties by first appearance), and their counts."""
        order = self._order(min_count, max_vocab)
        return [self.words[i] for i in order], self.counts[order]

    def _order(self, min_count: int, max_vocab: int | None) -> np.ndarray:
        if min_count < 1:
            raise InputError(f"min_count must be >= 1, got {min_count}")
        seen = np.flatnonzero(self.counts >= min_count)
        order = seen[np.argsort(-self.counts[seen], kind="stable")]  # (V,) stable: first seen
        if not self.total:
            raise InputError("the corpus holds no words once tokenized (punctuation and "
                             "symbols are dropped); give text with words")
        if not len(order):
            top = int(self.counts.max())
            times, below = "s" * (top != 1), " or less" * (top > 1)
            raise ConfigError(f"no word occurs min_count={min_count} times in a corpus of "
                              f"{self.total} tokens (the most frequent occurs {top} "
                              f"time{times}); lower it to {top}{below}, or give a larger "
                              "corpus", "min_count")
        return order[:max_vocab]

    def blocks(self, min_count: int = 5, max_vocab: int | None = None,
               block_tokens: int = BLOCK_TOKENS) -> list[tuple[np.ndarray, np.ndarray, int]]:
        """The kept corpus encoded with :meth:`vocabulary`'s word ids, as :func:`encode_blocks`
        would give it."""
        if self.ids is None:
            raise InputError("this scan kept no token ids (the corpus exceeded max_tokens)")
        order = self._order(min_count, max_vocab)
        lookup = np.full(len(self.words) + 1, -1, dtype=np.int32)  # (W + 1,) -> id, -1 OOV
        lookup[order] = np.arange(len(order), dtype=np.int32)
        lookup[-1] = -2  # ids' sentence ends (-1) index the last entry
        return _cut_blocks(*_sentences(lookup[self.ids]), block_tokens, last=True)[0]


def scan_corpus(corpus: Iterable, max_tokens: int | None = None) -> CorpusScan:
    """Count the words of ``corpus`` and keep its tokens as int32 ids, in one pass.

    ``corpus``: a :class:`Corpus` (a file is tokenized by one regular expression per piece) or
    any iterable of token lists. Ids stop being kept (``ids`` None) once the corpus passes
    ``max_tokens`` tokens (None: no limit), so memory stays that of the counts.
    """
    # word -> 1 + index of first appearance, the sentence end marker -> 0: a missing word gets
    # the next number inside the one C-level lookup per token
    table: defaultdict = defaultdict(count().__next__)
    counts = np.zeros(0, dtype=np.int64)
    parts: list[np.ndarray] | None = [] if max_tokens is None or max_tokens > 0 else None
    kept = 0
    for flat, marker in _token_blocks(corpus):
        _ = table[marker]  # the sentence end marker takes number 0
        ids = np.fromiter(map(table.__getitem__, flat), dtype=np.int32, count=len(flat))
        counts = np.pad(counts, (0, len(table) - len(counts)))
        counts += np.bincount(ids, minlength=len(table))
        if parts is not None:
            parts.append(ids)
            kept += len(ids)
            if max_tokens is not None and kept - counts[0] > max_tokens:
                parts = None  # too large to keep: the trainers encode it again each epoch
    if not table:
        counts = np.zeros(1, dtype=np.int64)
    words = list(table)[1:]
    bad = [w for w in words if not isinstance(w, str)]  # distinct words: cheap
    if bad:
        raise InputError(f"tokens must be strings, got {type(bad[0]).__name__} {bad[0]!r}; pass "
                         "sentences as lists of words (or texts), e.g. [str(t) for t in ids]")
    all_ids = None
    if parts is not None:
        all_ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        all_ids -= 1  # word i -> i, sentence end -> -1
    return CorpusScan(words, counts[1:], all_ids)


def _sentences(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encoded tokens (ids >= 0, -1 out of vocabulary, -2 ending each sentence) to
    ``(tokens, kept, raw)``: the in-vocabulary ids, and per sentence their count and the count
    of all its tokens."""
    ends = np.flatnonzero(ids == -2)  # (S,)
    known = ids >= 0
    # per-sentence sums over [previous end + 1, end]: never empty (the end marker is in it)
    kept = (np.add.reduceat(known, np.concatenate([[0], ends[:-1] + 1]), dtype=np.int64)
            if len(ends) else np.zeros(0, dtype=np.int64))  # (S,)
    raw = np.diff(ends, prepend=-1) - 1  # (S,)
    return ids[known], kept, raw


def _starts(kept: np.ndarray) -> np.ndarray:
    """Sentence offsets (S'+1,) int64 for sentence lengths ``kept``: empty sentences dropped,
    sentences over MAX_SENTENCE words cut into pieces."""
    kept = kept[kept > 0]
    if len(kept) and kept.max() > MAX_SENTENCE:
        pieces = -(-kept // MAX_SENTENCE)  # (S,)
        lengths = np.full(pieces.sum(), MAX_SENTENCE, dtype=np.int64)
        lengths[np.cumsum(pieces) - 1] = kept - MAX_SENTENCE * (pieces - 1)
        kept = lengths
    starts = np.zeros(len(kept) + 1, dtype=np.int64)
    np.cumsum(kept, out=starts[1:])
    return starts


def _cut_blocks(tokens: np.ndarray, kept: np.ndarray, raw: np.ndarray, block_tokens: int,
                last: bool) -> tuple[list, tuple]:
    """Cut sentences into blocks: each ends with the sentence that brings it to block_tokens
    in-vocabulary words. Returns ``(blocks, rest)``: blocks ``(tokens, starts, raw words)`` and
    the ``(tokens, kept, raw)`` after the last whole block (with ``last``, that too is a block).
    """
    done = np.cumsum(kept)  # (S,) words up to and including each sentence
    blocks = []
    first, offset = 0, 0
    while first < len(kept):
        end = int(np.searchsorted(done, offset + block_tokens)) + 1  # one past the block
        if end > len(kept):
            if not last:
                break
            end = len(kept)
        stop = int(done[end - 1])
        blocks.append((tokens[offset:stop], _starts(kept[first:end]),
                       int(raw[first:end].sum())))
        first, offset = end, stop
    if last and blocks and len(blocks[-1][1]) == 1 and not blocks[-1][2]:
        blocks.pop()  # only empty lines
    return blocks, (tokens[offset:], kept[first:], raw[first:])


def encode_blocks(corpus: Iterable, key_to_index: dict[str, int],
                  block_tokens: int = BLOCK_TOKENS) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """Encode sentences to word ids, dropping out-of-vocabulary words, in blocks.

    Yields ``(tokens, starts, raw)``: int32 ids (N,), int64 sentence offsets (S+1,) into
    ``tokens`` (sentence s is ``tokens[starts[s]:starts[s+1]]``), and the raw token count
    (including dropped words) of the block. Sentences over 10,000 words are cut; sentences
    with no word in the vocabulary are dropped.
    """
    lookups: dict = {}
    rest = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64), np.zeros(0, np.int64))
    for flat, marker in _token_blocks(corpus):
        if marker not in lookups:
            lookups[marker] = {**key_to_index, marker: -2}.get
        ids = np.fromiter(map(lookups[marker], flat, repeat(-1)), dtype=np.int32,
                          count=len(flat))
        parts = zip(rest, _sentences(ids))
        blocks, rest = _cut_blocks(*(np.concatenate(p) for p in parts), block_tokens,
                                   last=False)
        yield from blocks
    yield from _cut_blocks(*rest, block_tokens, last=True)[0]


def build_vocab(corpus: Iterable[list[str]], min_count: int = 5,
                max_vocab: int | None = None) -> tuple[list[str], np.ndarray, int]:
    """Count words; keep those seen ``min_count`` times, at most ``max_vocab`` most frequent.

    Returns ``(words, counts, total_tokens)``: words sorted by descending count (ties by first
    appearance), their int64 counts, and the number of tokens in the whole corpus.
    """
    if min_count < 1:
        raise InputError(f"min_count must be >= 1, got {min_count}")
    scan = scan_corpus(corpus, max_tokens=0)
    return (*scan.vocabulary(min_count, max_vocab), scan.total)
