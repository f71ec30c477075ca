"""Word-vector files other tools read and write: word2vec text and binary, GloVe text (no torch),
and :func:`load_vectors`, which reads any of them or a model folder, found by what it is.

The word2vec text format is a ``V D`` header line, then one ``word x1 ... xD`` line per word;
GloVe's is the same without the header; the binary format (word2vec.c, gensim) follows the
header with ``word<space>`` and D little-endian float32 values per word. Text files are read
through :func:`dlcourse.text.read_text_lines` (an undecodable byte is an error naming the file
and line); every damaged file is one :class:`~dlcourse.errors.InputError` naming the fix.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dlcourse.engine.config import whole_number
from dlcourse.errors import DlcourseError, InputError, MissingFileError, check_choice

if TYPE_CHECKING:
    from dlcourse.embeddings.vectors import KeyedVectors

FORMATS = ("word2vec", "word2vec-binary", "glove")
_HEADER = re.compile(rb"^\s*(\d+)\s+(\d+)\s*\r?\n")
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # in no text file's lines


def write_vectors(words: list[str], vectors: np.ndarray, path: str | Path, fmt: str) -> Path:
    """Write ``words`` and their (V, D) ``vectors`` to ``path`` in ``fmt``, atomically.

    Args:
        fmt: "word2vec" (text with a "V D" header), "word2vec-binary" or "glove" (text, no
            header).

    Raises:
        InputError: an unknown format; a word the format cannot hold (an empty one, a line
            break, or in the word2vec formats a space or tab: their readers end a word there).
    """
    from dlcourse.engine.files import atomic_write

    check_choice("format", fmt, FORMATS)
    _check_words(words, fmt)
    path = Path(path)
    dim = vectors.shape[1]
    with atomic_write(path, "wb") as f:
        if fmt != "glove":
            f.write(f"{len(words)} {dim}\n".encode())
        if fmt == "word2vec-binary":
            for word, row in zip(words, vectors):
                f.write(word.encode("utf-8") + b" " + row.astype("<f4").tobytes() + b"\n")
        else:
            line = " ".join(["%.9g"] * dim)
            for word, row in zip(words, vectors):
                f.write(f"{word} {line % tuple(row.tolist())}\n".encode())
    return path


def _check_words(words: list[str], fmt: str) -> None:
    """Refuse words that would come back as other words (or misalign the file) when read."""
    breaks = "\n\r" if fmt == "glove" else "\n\r \t"
    bad = [w for w in words if not w or any(c in w for c in breaks)]
    if bad:
        where = ("a line break" if fmt == "glove"
                 else "a space, tab or line break (word2vec readers end a word at a space)")
        hint = "; the glove format (--format glove) keeps spaces" if fmt != "glove" else ""
        raise InputError(f"{len(bad)} of the {len(words)} words are empty or hold {where}, "
                         f"e.g. {bad[0]!r}: the {fmt} format cannot hold them{hint}")


def sniff_format(path: str | Path) -> str:
    """"word2vec-binary", "word2vec" or "glove", from the first bytes: no "V D" header line
    means GloVe; after the header, a line of a word and D numbers means word2vec text, anything
    else (raw float bytes) word2vec binary. Text in any encoding passes: only the numbers are
    looked at.

    Raises:
        InputError: binary data without a header (no vectors file of any kind).
    """
    with open(path, "rb") as f:
        head = f.read(1 << 16).removeprefix(codecs.BOM_UTF8)  # an editor's UTF-8 mark
    match = _HEADER.match(head)
    if not match:
        if head.startswith(b"\x80"):  # gensim's KeyedVectors.save: a pickle
            from dlcourse.embeddings.vector_store import GENSIM_PICKLE

            raise InputError(GENSIM_PICKLE.format(path=path))
        if b"\x00" in head:  # binary data with no header: no vectors file of any kind
            raise InputError(f"{path} is binary data without a 'V D' header line, not a "
                             "word2vec or GloVe vectors file")
        return "glove"
    dim = int(match.group(2))
    line = head[match.end():].split(b"\n", 1)[0].rstrip(b"\r ")
    fields = line.split(b" ")
    if b"\x00" in line:
        return "word2vec-binary"
    if dim and len(fields) >= dim + 1:  # raw float bytes hold a space 1 time in 256, not D times
        return "word2vec"  # text, numbers or not (the reader names a bad value's line)
    try:  # a text line of a word and too few numbers (the reader says so)
        if len(fields) > 1:
            [float(x) for x in fields[1:]]
            return "word2vec"
    except ValueError:
        pass
    return "word2vec-binary"


def looks_binary(path: str | Path) -> bool:
    """True when ``path`` starts as a word2vec binary file: a "V D" header line, then no line
    of a word and D numbers (:func:`sniff_format`) but bytes no text holds (control bytes, or
    bytes that are not UTF-8). A damaged text file is not taken for one."""
    with open(path, "rb") as f:
        head = f.read(1 << 16).removeprefix(codecs.BOM_UTF8)
    match = _HEADER.match(head)
    if not match or sniff_format(path) != "word2vec-binary":
        return False
    body = head[match.end():]
    try:  # final=False: the first 64 KiB may end inside a character
        codecs.getincrementaldecoder("utf-8")().decode(body, final=False)
    except UnicodeDecodeError:
        return True
    return _CONTROL.search(body) is not None


def read_text_vectors(path: str | Path, header: bool, encoding: str = "utf-8",
                      errors: str = "strict", limit: int | None = None
                      ) -> tuple[list[str], np.ndarray]:
    """Words and (V, D) float32 vectors of a word2vec text (``header``) or GloVe file.

    The word is everything before the last D fields (GloVe 840B has words with spaces).

    Raises:
        InputError: no header where one is expected, a short or non-numeric line (naming
            the file and line), an undecodable byte, or no vectors at all.
    """
    from dlcourse.text.reading import read_text_lines

    path = Path(path)
    words: list[str] = []
    rows: list[np.ndarray] = []
    dim = None
    lines: Iterator[str] = read_text_lines(path, encoding, errors)
    first = 1
    if header:
        top = next(lines, "").split()
        try:
            n, dim = int(top[0]), int(top[1])
        except (ValueError, IndexError):
            raise InputError(f"{path} has no 'V D' header line; for a GloVe file use "
                             "no_header=True (CLI: export --format glove)") from None
        limit = n if limit is None else min(limit, n)
        first = 2
    for lineno, line in enumerate(lines, start=first):
        if limit is not None and len(words) >= limit:
            break
        parts = line.rstrip(" ").split(" ")
        if len(parts) < 2:
            continue
        if dim is None:
            dim = len(parts) - 1
        if len(parts) < dim + 1:
            said = " (the header's D)" if header else ""
            raise InputError(f"{path}:{lineno}: expected a word and {dim} numbers{said}, got "
                             f"{len(parts)} fields; is the file truncated?")
        words.append(" ".join(parts[:-dim]))
        try:
            rows.append(np.asarray(parts[-dim:], dtype=np.float32))
        except ValueError:
            raise InputError(f"{path}:{lineno}: the {dim} values after the word are not all "
                             "numbers; is this a word-vector file?") from None
    if not rows:
        raise InputError(f"{path} holds no vectors; give a word2vec or GloVe file")
    if header and len(words) < limit:
        raise InputError(f"{path}: its header announces {limit} vectors but it holds "
                         f"{len(words)}; is the file truncated?")
    return words, np.stack(rows)


def read_binary_vectors(path: str | Path, encoding: str = "utf-8", errors: str = "strict",
                        limit: int | None = None) -> tuple[list[str], np.ndarray]:
    """Words and (V, D) float32 vectors of a word2vec binary file.

    Raises:
        InputError: no header, a file that ends inside a vector, or an undecodable word.
    """
    path = Path(path)
    data = path.read_bytes().removeprefix(codecs.BOM_UTF8)
    match = _HEADER.match(data)
    if not match:
        raise InputError(f"{path} has no 'V D' header line, so it is no word2vec binary file")
    n, dim = int(match.group(1)), int(match.group(2))
    n = n if limit is None else min(n, limit)
    pos = match.end()
    words: list[str] = []
    vectors = np.empty((n, dim), dtype=np.float32)
    nbytes = 4 * dim
    for i in range(n):
        space = data.find(b" ", pos)
        if space < 0 or space + 1 + nbytes > len(data):
            raise InputError(f"{path} ends inside vector {i + 1} of {n}; the file is "
                             "truncated: write or download it again")
        try:
            words.append(data[pos:space].lstrip(b"\n").decode(encoding, errors=errors))
        except UnicodeDecodeError:
            raise InputError(f"{path}: word {i + 1} (byte offset {pos}) is not valid "
                             f"{encoding}; pass the file's encoding, or a word before it "
                             "holds a space (binary files end each word at one)") from None
        vectors[i] = np.frombuffer(data, dtype="<f4", count=dim, offset=space + 1)
        pos = space + 1 + nbytes
    return words, vectors


def read_word2vec(path: Path, binary: bool, no_header: bool, encoding: str, errors: str,
                  limit: int | None) -> tuple[list[str], np.ndarray]:
    """Words and (V, D) float32 vectors of the file :meth:`KeyedVectors.load_word2vec_format`
    reads (its arguments; ``errors`` is its ``unicode_errors``).

    Raises:
        MissingFileError: no such file, or a directory.
        DlcourseError: as :meth:`KeyedVectors.load_word2vec_format`.
    """
    if limit is not None:  # 0 read all of a text file and none of a binary one
        limit = whole_number("limit", limit, 1, None, "a whole number >= 1 or None (every vector)")
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise MissingFileError(f"vectors file {path} {what}; give the path of a word2vec or "
                               "GloVe file")
    if binary:
        if no_header:
            raise InputError("binary word2vec files always have a header; drop no_header")
        if sniff_format(path) == "word2vec":  # read as bytes, its numbers made "duplicate
            # word ''" the complaint
            raise InputError(f"{path} is a word2vec text file (lines of a word and its "
                             "numbers), not a binary one; pass binary=False")
        return read_binary_vectors(path, encoding, errors, limit)
    try:
        return read_text_vectors(path, not no_header, encoding, errors, limit)
    except DlcourseError:  # the text reader's complaint would be about the bytes
        if looks_binary(path):
            raise DlcourseError(
                f"{path} looks like a word2vec binary file (a 'V D' header line, then raw "
                f"float bytes); pass binary=True{' without no_header' * no_header}, or read "
                "it with dlcourse.embeddings.load_vectors, which tells the formats apart"
            ) from None
        raise

def load_vectors(path: str | os.PathLike, encoding: str = "utf-8") -> KeyedVectors:
    """Vectors from any supported place, found by what it is:

    - a registered set of vectors (``dlcourse data list``): ``"glove-test"`` (gensim's 76
      GloVe vectors), ``"glove-6b-50d"`` (Stanford's 400,000, needs pyarrow);
    - a model directory (``dlcourse embed train``, ``Word2Vec``/``GloVe``/``KeyedVectors.save``)
      or its ``model.safetensors``;
    - a word2vec binary file (a "V D" header, then bytes that are not text);
    - a word2vec text file (a "V D" header) or a GloVe file (no header).

    Args:
        path: a registered name, a model directory or ``model.safetensors``, or a vectors file.
        encoding: the text encoding of a word2vec or GloVe file's words.

    Raises:
        MissingFileError: nothing at ``path`` (a FileNotFoundError too).
        InputError: the name of an evaluation set.
        InputError: a damaged file, an older dlcourse's ``model.pt``, an undecodable byte.
    """
    from dlcourse.embeddings import named_sets
    from dlcourse.embeddings.vectors import KeyedVectors  # no cycle at import time

    name = named_sets.named(path, "vectors")
    if name == "glove-6b-50d":  # no vectors file: a numpy array and a parquet word index
        from dlcourse.data.readers import read_glove_6b_50d

        return KeyedVectors(*read_glove_6b_50d())
    path = Path(path) if name is None else named_sets.set_file(name)
    if path.is_dir() or path.suffix == ".safetensors":
        return KeyedVectors.load(path)
    if not path.is_file():
        raise MissingFileError(f"no vectors at {path}; give a directory from `dlcourse embed "
                                "train`, a word2vec/GloVe file or a registered set ("
                                f"{', '.join(named_sets.names('vectors'))})")
    if path.suffix == ".pt":
        raise InputError(f"{path} is a torch checkpoint (an lm run's best.pt, or an older "
                         "dlcourse's model), not word vectors: export an lm run's with "
                         "`dlcourse lm export RUN --to vectors.txt`, or give a folder from "
                         "`dlcourse embed train`")
    fmt = sniff_format(path)
    if fmt == "word2vec-binary":
        return KeyedVectors.load_word2vec_format(path, binary=True, encoding=encoding)
    return KeyedVectors.load_word2vec_format(path, no_header=fmt == "glove", encoding=encoding)
