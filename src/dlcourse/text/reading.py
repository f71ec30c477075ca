"""Reading text files, one policy for every text lesson: undecodable bytes are an error naming
the file, the line and the fix (``--encoding`` on the command line, ``encoding=`` in Python),
never silently replaced; binary files and unknown encodings are refused before any work.

>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "corpus.txt"
>>> _ = path.write_bytes("first line\\r\\n\\ncaf\\u00e9\\n".encode("utf-8"))
>>> list(read_text_lines(path))
['first line', '', 'café']
>>> _ = path.write_bytes("caf\\u00e9\\n".encode("latin-1"))
>>> list(read_text_lines(path))
Traceback (most recent call last):
...
dlcourse.errors.InputError: .../corpus.txt:1: byte 0xe9 is not valid utf-8; pass the file's ...
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator
from pathlib import Path

from dlcourse.errors import InputError, MissingFileError, check_choice
from dlcourse.text.formats import is_table

__all__ = [
    "ERRORS",
    "check_encoding",
    "check_text_file",
    "decode_text",
    "iter_lines",
    "read_text",
    "read_text_lines",
    "text_files",
]

ERRORS = ("strict", "replace")  # "replace" only when a caller asks for it, never by default
_CHUNK = 1 << 20  # bytes per read while scanning a file: large enough to run at C speed
_SNIFF = 8192  # bytes looked at for NUL bytes, as git and grep do to call a file binary

# the magic numbers of the compressed files a corpus arrives in, and the command that unpacks one
# (bzip2's "BZh" is followed by a block size digit and "1AY&SY": text may begin with "BZh")
_COMPRESSED = {"gzip": (b"\x1f\x8b", "gunzip -k"), "xz": (b"\xfd7zXZ\x00", "unxz -k"),
               "zip": (b"PK\x03\x04", "unzip"), "zstd": (b"\x28\xb5\x2f\xfd", "unzstd")}


def _compression(head: bytes) -> tuple[str, str] | None:
    """(format, unpack command) of a compressed file's first bytes, None for others."""
    if head[:3] == b"BZh" and head[4:10] == b"1AY&SY":
        return "bzip2", "bunzip2 -k"
    return next(((name, unpack) for name, (magic, unpack) in _COMPRESSED.items()
                 if head.startswith(magic)), None)


def check_encoding(encoding: str) -> str:
    """The codec's canonical name (``"UTF8"`` -> ``"utf-8"``); an unknown name is an error.

    Args:
        encoding: a Python codec name or alias, any case (``"latin-1"``, ``"UTF8"``).

    Raises:
        InputError: the name is not a Python text codec; the message suggests common ones.

    >>> check_encoding("Latin-1"), check_encoding("utf8")
    ('iso8859-1', 'utf-8')
    """
    try:
        info = codecs.lookup(encoding)
    except (LookupError, TypeError):
        raise InputError(f"unknown encoding {encoding!r}; use a text encoding name such as "
                         "utf-8, latin-1, cp1252 or utf-16") from None
    if not getattr(info, "_is_text_encoding", True):  # base64, zlib ... are codecs too
        raise InputError(f"encoding {encoding!r} is not a text encoding; use one such as "
                         "utf-8, latin-1, cp1252 or utf-16")
    return info.name


def _reading_codec(codec: str) -> str:
    # a UTF-8 byte-order mark (Windows editors write one) is not part of the first line
    return "utf-8-sig" if codec == "utf-8" else codec


def _fix_hint(encoding: str, codec: str) -> str:
    other = "latin-1" if codec == "utf-8" else "utf-8"
    return (f"pass the file's encoding (--encoding {other} on the command line, "
            f"encoding='{other}' in Python) or re-save it as UTF-8")


def _wide(codec: str) -> bool:
    """UTF-16/32 text is full of NUL bytes, so NUL does not mean binary there."""
    return codec.startswith(("utf-16", "utf-32"))


def wide_text_error(path: str | os.PathLike, head: bytes, what: str = "") -> InputError | None:
    """The error for a UTF-16/32 file read as a narrow encoding (Windows' "Unicode" text: a
    byte-order mark, then NUL bytes that looked binary), or None."""
    for bom, name in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                      (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if head.startswith(bom):
            return InputError(f"{what}{' ' * bool(what)}{path} is {name.upper()} text (it "
                              f"starts with a {name.upper()} byte-order mark); pass --encoding "
                              f"{name} (encoding='{name}' in Python) or re-save it as UTF-8")
    return None


def _decode_error(path: Path, encoding: str, codec: str, line: int, byte: int) -> InputError:
    return InputError(f"{path}:{line}: byte 0x{byte:02x} is not valid {encoding}; "
                      f"{_fix_hint(encoding, codec)}")


def _scan(path: Path, encoding: str, codec: str) -> None:
    """Decode the whole file in chunks; raise at the first undecodable byte, naming its line."""
    decoder = codecs.getincrementaldecoder(_reading_codec(codec))("strict")
    line = 1
    with open(path, "rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as e:
                if line == 1 and e.start == 0:
                    raise wide_text_error(path, e.object) or _decode_error(
                        path, encoding, codec, 1, e.object[0]) from None
                # e.object is what the decoder held plus this chunk; before e.start all is valid
                before = e.object[: e.start].decode(codec, errors="replace")
                raise _decode_error(path, encoding, codec, line + before.count("\n"),
                                    e.object[e.start]) from None
            except UnicodeError as e:  # e.g. UTF-16 without its byte-order mark
                raise InputError(f"{path} does not read as {encoding}: {e}") from None
            line += text.count("\n")
            if not chunk:
                return


def check_text_file(path: str | os.PathLike, encoding: str = "utf-8",
                    what: str = "file", decode: bool = True, holds: str | None = None) -> Path:
    """Refuse, before any work, a text file that cannot be read to the end.

    Checks that ``path`` exists, is a readable file, is not empty, is not binary (a NUL byte in
    its first 8 KB) and, with ``decode``, that every byte decodes as ``encoding`` (one fast pass
    at C speed; table readers that decode the whole file anyway pass ``decode=False``).

    Args:
        path: the file.
        encoding: its text encoding.
        what: how the message names the file, e.g. ``"INPUT"`` or ``"DATA"``.
        decode: also decode the whole file.
        holds: what the file should hold, for the message of an empty one (default: one text
            a line, or a table).

    Returns:
        the path, as a ``Path``.

    Raises:
        InputError: one line naming the file (and line) and the fix.
    """
    if not str(path).strip():  # Path("") is ".", the working folder
        raise InputError(f"{what} is empty; give a text file")
    path = Path(path)
    codec = check_encoding(encoding)
    if not path.exists():
        raise MissingFileError(f"{what} {path} does not exist")
    if path.is_dir():
        raise InputError(f"{what} {path} is a directory; give a text file")
    try:
        with open(path, "rb") as f:
            head = f.read(_SNIFF)
    except PermissionError:
        raise InputError(f"{what} {path} is not readable (permission denied)") from None
    if not head.strip():
        give = holds or ("a table with a header row, then one text a row" if is_table(path)
                         else "a file with one text a line")
        raise InputError(f"{what} {path} is empty; give {give}")
    if (packed := _compression(head)) is not None:  # was "looks binary (a NUL byte at ...)"
        raise InputError(f"{what} {path} is {packed[0]}-compressed; decompress it first "
                         f"({packed[1]} {path}) and give the text file")
    if not _wide(codec) and (wide := wide_text_error(path, head, what)) is not None:
        raise wide
    nul = -1 if _wide(codec) else head.find(b"\x00")
    if nul >= 0:
        raise InputError(f"{what} {path} looks binary (a NUL byte at offset {nul}), not "
                         "text; give a text file")
    if decode:
        _scan(path, encoding, codec)
    return path


def decode_text(raw: bytes, path: str | os.PathLike, encoding: str = "utf-8",
                errors: str = "strict") -> str:
    """Bytes of ``path`` as text, a UTF-8 byte-order mark dropped; errors name the line.

    Raises:
        InputError: an unknown encoding, or a byte that does not decode (with ``strict``).
    """
    codec = check_encoding(encoding)
    _check_errors(errors)
    try:
        return raw.decode(_reading_codec(codec), errors=errors)
    except UnicodeDecodeError as e:
        if e.start == 0 and (wide := wide_text_error(Path(path), raw)) is not None:
            raise wide from None
        before = raw[: e.start].decode(codec, errors="replace")
        raise _decode_error(Path(path), encoding, codec, before.count("\n") + 1,
                            raw[e.start]) from None
    except UnicodeError as e:  # e.g. UTF-16 without its byte-order mark
        raise InputError(f"{path} does not read as {encoding}: {e}") from None


def _check_errors(errors: str) -> None:
    check_choice("errors", errors, ERRORS)


def _open_text(path: Path, codec: str, errors: str):
    try:
        # newline="\n": split on LF only, as a byte-wise reader would (a lone CR is text)
        return open(path, encoding=_reading_codec(codec), errors=errors, newline="\n")
    except FileNotFoundError:
        raise MissingFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory; give a text file") from None


def read_text(path: str | os.PathLike, encoding: str = "utf-8", errors: str = "strict") -> str:
    """The whole file as one string (a UTF-8 byte-order mark dropped).

    Args:
        path: the file.
        encoding: its text encoding (``--encoding`` on the command line).
        errors: ``"strict"`` (default): an undecodable byte is an error naming the file and
            line; ``"replace"``: it becomes U+FFFD (only when a caller really wants that).

    Raises:
        InputError: missing file, a directory, an unknown encoding or an undecodable byte.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MissingFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory; give a text file") from None
    return decode_text(raw, path, encoding, errors)


def text_files(path: str | os.PathLike, what: str = "DATA") -> list[Path]:
    """The files a corpus path stands for: the file itself, or a folder's files in name order
    (gensim's ``PathLineSentences``: every file directly in it, hidden ones left out).

    Raises:
        MissingFileError: nothing at ``path``.
        InputError: a folder with no file in it.
    """
    path = Path(path)
    if not path.is_dir():
        if not path.exists():
            raise MissingFileError(f"{what} {path} does not exist")
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise InputError(f"{what} {path} is a folder without files; give a text file, or a "
                         "folder of text files (one sentence a line)")
    return files


def read_text_lines(path: str | os.PathLike, encoding: str = "utf-8", errors: str = "strict",
                    skip_blank: bool = False) -> Iterator[str]:
    """Stream a text file's lines without their line ends (LF or CRLF), one document a line.

    Only one buffer is held in memory, so a corpus of any size can be streamed. Every text
    lesson reads files through this function, so they all treat bad bytes the same way.

    Args:
        path: the file.
        encoding: its text encoding (``--encoding`` on the command line).
        errors: ``"strict"`` (default) or ``"replace"``, as in :func:`read_text`.
        skip_blank: leave out lines that are empty or only whitespace.

    Yields:
        the lines, in order.

    Raises:
        InputError: missing file, a directory, an unknown encoding, or an undecodable byte
            (``corpus.txt:17: byte 0xe9 is not valid utf-8; pass the file's encoding ...``).
    """
    path = Path(path)
    codec = check_encoding(encoding)
    _check_errors(errors)
    f = _open_text(path, codec, errors)
    with f:
        try:
            for line in f:  # the io layer decodes whole buffers in C: no per-line decode call
                line = line.rstrip("\r\n")
                if skip_blank and not line.strip():
                    continue
                yield line
        except UnicodeDecodeError:
            # the buffered reader cannot say where the bad byte is; a second pass can
            _scan(path, encoding, codec)
            raise  # not reached: the scan finds the same byte


def iter_lines(path: str | os.PathLike, encoding: str = "utf-8", skip_blank: bool = True):
    """The non-blank lines of a text file: ``read_text_lines(path, encoding, skip_blank=True)``.

    Args:
        path: the file.
        encoding: its text encoding; undecodable bytes are an error, as in
            :func:`read_text_lines`.
        skip_blank: leave out lines that are empty or only whitespace; False keeps them.

    >>> sum(1 for _ in iter_lines(path))  # doctest: +SKIP
    """
    return read_text_lines(path, encoding, skip_blank=skip_blank)
