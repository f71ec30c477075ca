"""One reading policy for text files: line ends, byte-order marks, and undecodable bytes that
are an error naming the file, the line and the --encoding fix (never silently replaced)."""

import pytest

from dlcourse.errors import DlcourseError
from dlcourse.text import (
    check_encoding,
    check_text_file,
    iter_lines,
    read_text,
    read_text_lines,
)
from dlcourse.text.reading import decode_text


def test_lines_line_ends_bom_and_blank_lines(tmp_path):
    p = tmp_path / "c.txt"
    p.write_bytes(b"\xef\xbb\xbfone\r\n\n  \ntwo\rstill two\nlast")
    assert list(read_text_lines(p)) == ["one", "", "  ", "two\rstill two", "last"]
    assert list(read_text_lines(p, skip_blank=True)) == ["one", "two\rstill two", "last"]
    assert list(iter_lines(p)) == ["one", "two\rstill two", "last"]
    assert read_text(p) == "one\r\n\n  \ntwo\rstill two\nlast"
    latin = tmp_path / "l.txt"
    latin.write_bytes("caf\u00e9\n".encode("latin-1"))
    assert list(read_text_lines(latin, encoding="latin-1")) == ["café"]
    wide = tmp_path / "w.txt"
    wide.write_bytes("déjà vu\nzwei\n".encode("utf-16"))  # NUL bytes, but text
    assert check_text_file(wide, "utf-16") == wide
    assert list(read_text_lines(wide, encoding="utf-16")) == ["déjà vu", "zwei"]


def test_decode_error_names_file_and_line_beyond_the_first_buffer(tmp_path):
    """The bad byte sits on line 200,001, past the first 1 MB read: the line is still exact,
    in the streaming reader, the up-front check and the whole-file reader alike."""
    p = tmp_path / "big.txt"
    p.write_bytes(b"word word\n" * 200_000 + "caf\u00e9 ok\n".encode("latin-1") + b"end\n")
    expected = (r"big\.txt:200001: byte 0xe9 is not valid utf-8; pass the file's encoding "
                r"\(--encoding latin-1 on the command line, encoding='latin-1' in Python\)")
    lines = read_text_lines(p)
    assert next(lines) == "word word"  # streaming: the error comes where the byte is
    with pytest.raises(DlcourseError, match=expected):
        list(lines)
    with pytest.raises(DlcourseError, match=expected):
        check_text_file(p)
    with pytest.raises(DlcourseError, match=expected):
        read_text(p)
    assert list(read_text_lines(p, errors="replace"))[200_000] == "caf\ufffd ok"  # opt-in only
    cp = tmp_path / "cp.txt"
    cp.write_bytes(b"ok\n\x81\n")  # 0x81 is undefined in cp1252
    with pytest.raises(DlcourseError, match=r"cp\.txt:2: byte 0x81 is not valid cp1252; .*"
                                            r"--encoding utf-8"):
        list(read_text_lines(cp, encoding="cp1252"))


def test_check_text_file_refuses_before_any_work(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_bytes(b"\n \n")
    (tmp_path / "bin.dat").write_bytes(b"MZ\x90\x03\x00\x00binary")
    (tmp_path / "zipped.dat").write_bytes(b"PK\x03\x04\x00\x00binary")
    (tmp_path / "bzh.txt").write_bytes(b"BZh is no bzip2 header without its magic\n")
    (tmp_path / "d").mkdir()
    cases = {"missing.txt": "DATA .*missing.txt does not exist",
             "empty.txt": "empty.txt is empty", "blank.txt": "blank.txt is empty",
             "bin.dat": r"bin.dat looks binary \(a NUL byte at offset 4\)",
             "zipped.dat": r"zipped.dat is zip-compressed; decompress it first \(unzip ",
             "d": "d is a directory; give a text file"}
    for name, match in cases.items():
        with pytest.raises(DlcourseError, match=match):
            check_text_file(tmp_path / name, what="DATA")
    assert check_text_file(tmp_path / "bzh.txt") == tmp_path / "bzh.txt"  # text, not bzip2
    with pytest.raises(DlcourseError, match="no such file"):
        list(read_text_lines(tmp_path / "missing.txt"))
    with pytest.raises(DlcourseError, match="is a directory"):
        list(read_text_lines(tmp_path / "d"))


def test_encodings_are_checked_by_name():
    assert check_encoding("UTF8") == "utf-8" and check_encoding("latin_1") == "iso8859-1"
    with pytest.raises(DlcourseError, match="unknown encoding 'utf9'; use a text encoding"):
        check_encoding("utf9")
    with pytest.raises(DlcourseError, match="encoding 'base64' is not a text encoding"):
        check_encoding("base64")
    with pytest.raises(ValueError, match="unknown errors 'ignore'; choose one of strict, replace"):
        decode_text(b"x", "f.txt", errors="ignore")
    assert decode_text("\ufeffa\nb".encode(), "f.txt") == "a\nb"
    with pytest.raises(DlcourseError, match=r"f\.txt:2: byte 0xff"):
        decode_text(b"a\n\xff", "f.txt")
