"""Every bad invocation of `dlcourse text tokenize | vocab | inspect` ends with one line
``error: ...``, exit 2, no traceback, nothing printed on stdout and no file written.

Inputs are made in a fresh working directory and named by relative paths, as a user types them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FILES = {
    "ok.txt": b"one two\nthree four\n",
    "punct.txt": b";;;\n:::\n",  # basic_english drops ; and :, leaving no tokens
    "empty.txt": b"",
    "empty.csv": b"",
    "blank.txt": b"\n  \n\n",
    "bin.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "bin.csv": b"text,label\n\x00\x01\x02,1\n",
    "latin.txt": "ok\ncaf\u00e9\n".encode("latin-1"),
    "latin.csv": "review,label\nfine,pos\ncaf\u00e9,neg\n".encode("latin-1"),
    "r.csv": b'review,label\n"fine, really",pos\ndull,neg\n',
    "holes.csv": b"review,label\nfine,pos\n,neg\n",
    "ragged.csv": b"review,label\nfine,pos\nhello, world,neg\n",
    "unclosed.csv": b'review,label\nfine,pos\n"it opens,neg\nand runs,pos\n',
    "dup.csv": b"text,label,text\na,pos,b\n",  # the last 'text' column was read silently
    "bad.jsonl": b'{"text": "a", "label": 1}\n{"text": "b", "label": \n',
    "bad.parquet": b"PAR1 this is not a parquet file",
    "vocab.json": b'{"itos": ["<pad>", "<unk>", "one"], "unk_token": "<unk>"}',
    "notvocab.json": b"[[[",
    "existing.txt": b"do not overwrite\n",
    # Windows' "Unicode text" (Notepad, Excel): a byte-order mark, then NUL bytes everywhere
    "u16.txt": "one two\nthree\n".encode("utf-16"),
    "u16.csv": "text,label\nfine,pos\n".encode("utf-16"),
}
DIRS = ("dir", "dir.csv")


def _make_inputs(args: tuple[str, ...]) -> None:
    for name, data in FILES.items():
        Path(name).write_bytes(data)
    for name in DIRS:
        Path(name).mkdir()


CASES = [
    # -- tokenize: values and combinations
    (("tokenize", "--tokenizer", "nosuch", "x"),
     r"unknown --tokenizer 'nosuch'; choose one of basic_english, whitespace, regex, spacy, "
     r"wordpiece"),
    (("tokenize", "-t", "nosuch", "x"), "unknown --tokenizer 'nosuch'; choose one of"),
    (("tokenize",), "give INPUT texts or --file FILE"),
    (("tokenize", "x", "--file", "ok.txt"), r"\(not both\)"),
    (("tokenize", "--pattern", "x", "abc"), "--pattern is for the regex tokenizer, not "
                                            "basic_english"),
    (("tokenize", "--tokenizer", "regex", "--pattern", "(", "x"),
     "--pattern '\\(' is not a valid regular expression"),
    (("tokenize", "--vocab-file", "ok.txt", "x"), "--vocab-file is for the wordpiece tokenizer"),
    (("tokenize", "--language", "de", "x"), "--language is for the spacy tokenizer, not "
                                             "basic_english"),
    (("tokenize", "--tokenizer", "wordpiece", "--vocab-file", "missing.txt", "x"),
     "--vocab-file missing.txt does not exist"),
    (("tokenize", "--tokenizer", "wordpiece", "--vocab-file", "ok.txt", "x"), r"no \[UNK\] token"),
    (("tokenize", "--tokenizer", "wordpiece", "--vocab-file", "dir", "x"), "is a directory"),
    (("tokenize", "--ids", "x"), "--ids needs --vocab VOCAB_JSON or --tokenizer wordpiece"),
    (("tokenize", "--vocab", "vocab.json", "x"), "--vocab gives ids: add --ids"),
    (("tokenize", "--ids", "--vocab", "missing.json", "x"), "--vocab missing.json does not exist"),
    (("tokenize", "--ids", "--vocab", "dir", "x"), "--vocab dir is a directory without vocab.json"),
    (("tokenize", "--ids", "--vocab", "notvocab.json", "x"), "not a vocabulary JSON file"),
    (("tokenize", "--limit", "0", "x"), "--limit"),
    (("tokenize", "--limit", "abc", "x"), "--limit"),
    (("tokenize", "--on-missing", "skip", "x"), "unknown --on-missing 'skip'; choose one of "
                                                "error, drop"),
    (("tokenize", "--encoding", "utf9", "x"), "unknown --encoding 'utf9'; use a text encoding"),
    (("tokenize", "--lowercase=maybe", "x"), "--lowercase"),
    (("tokenize", "--nosuch", "x"), "No such option"),
    # -- tokenize --file: files
    (("tokenize", "--file", "missing.txt"), "--file missing.txt does not exist"),
    (("tokenize", "--file", "dir"), "--file dir is a directory"),
    (("tokenize", "--file", "empty.txt"), "--file empty.txt is empty"),
    (("tokenize", "--file", "blank.txt"), "--file blank.txt is empty"),
    (("tokenize", "--file", "bin.txt"), r"--file bin.txt looks binary \(a NUL byte"),
    (("tokenize", "--file", "latin.txt"),
     r"latin.txt:2: byte 0xe9 is not valid utf-8; pass the file's encoding \(--encoding "
     r"latin-1 on the command line, encoding='latin-1' in Python\)"),
    (("tokenize", "--file", "latin.txt", "--encoding", "base64"),
     "--encoding 'base64' is not a text encoding"),
    (("tokenize", "--file", "ok.txt", "--encoding", "utf-16"),  # the file was not named
     "ok.txt does not read as utf-16: UTF-16 stream does not start with BOM"),
    (("tokenize", "--file", "r.csv"), r"r.csv:1: no column 'text' \(columns: review, label\); "
                                      r"name the right one with --text-col"),
    (("tokenize", "--file", "holes.csv", "--text-col", "review"),
     r"holes.csv:3: missing text in column 'review'; .*\(--on-missing drop on the command "
     r"line, on_missing='drop' in Python\)"),
    (("tokenize", "--file", "unclosed.csv", "--text-col", "review"),
     "unclosed.csv:3: a quote opened on this line is never closed"),
    (("tokenize", "--file", "bad.parquet"), "parquet"),
    # -- vocab
    (("vocab",), "Missing argument 'DATA...'"),
    (("vocab", "nosuch"), "DATA 'nosuch' is neither a file nor a named corpus; give a file or "
                          "one of lee, wordnet"),
    (("vocab", "--dataset", "nosuch"), "DATA 'nosuch' is neither a file"),
    (("vocab", "missing.txt"), "DATA missing.txt does not exist"),
    (("vocab", "dir"), "DATA dir is a directory"),
    (("vocab", "empty.txt"), "DATA empty.txt is empty"),
    (("vocab", "bin.txt"), "DATA bin.txt looks binary"),
    (("vocab", "u16.txt"), r"DATA u16.txt is UTF-16 text \(it starts with a UTF-16 byte-order "
                           r"mark\); pass --encoding utf-16"),
    (("vocab", "ok.txt", "latin.txt"), r"latin.txt:2: byte 0xe9 is not valid utf-8"),
    (("vocab", "punct.txt"), "holds no tokens"),
    (("vocab", "ok.txt", "--min-freq", "0"), "--min-freq must be >= 1, got 0"),
    (("vocab", "ok.txt", "--max-size", "-1"), "--max-size must be >= 1, or none to keep every "
                                              "token, got -1"),
    (("vocab", "ok.txt", "--max-size", "ten"),
     "--max-size must be a whole number or all, got 'ten'"),
    (("vocab", "ok.txt", "--max-vocab", "0"), "--max-vocab 0 keeps no token"),
    (("vocab", "ok.txt", "--min-freq", "2", "--out", "v.json"),
     "no token of DATA occurs --min-freq 2 times; lower it"),
    (("vocab", "ok.txt", "--specials", "<pad>,<pad>"), "--specials repeat a token"),
    (("vocab", "ok.txt", "--top", "-1"), "--top"),
    (("vocab", "ok.txt", "--limit", "0"), "--limit"),
    (("vocab", "ok.txt", "--tokenizer", "nosuch"), "unknown --tokenizer 'nosuch'"),
    (("vocab", "ok.txt", "--out", "existing.txt"),
     "--out existing.txt exists and is neither a folder nor a .json file"),
    # a new name with a suffix reads as a file: refused rather than made a folder x.txt/
    (("vocab", "ok.txt", "--out", "x.txt"),
     r"--out x.txt: a vocabulary is saved as JSON; give x.json or a folder name without a "
     r"suffix"),
    (("vocab", "ok.txt", "--out", "runs/x.txt"), r"give runs/x.json or a folder"),
    (("vocab", "ok.txt", "--min-count", "0"), "--min-count must be >= 1, got 0"),  # as typed
    (("vocab", "ok.txt", "--out", "existing.txt/v.json"), "existing.txt"),
    (("vocab", "ok.txt", "--out", "existing.txt/sub"), "existing.txt"),
    (("vocab", "r.csv", "--text-col", "nosuch"), "no column 'nosuch'"),
    (("vocab", "r.csv", "--label-col", "label"), "No such option"),
    (("vocab", "unclosed.csv", "--text-col", "review"), "unclosed.csv:3: a quote opened"),
    (("inspect", "dup.csv"), "dup.csv:1: column 'text' appears twice in the header"),
    (("vocab", "latin.csv", "--text-col", "review"), r"latin.csv:3: byte 0xe9"),
    # -- inspect
    (("inspect",), "Missing argument 'TABLE'"),
    (("inspect", "missing.csv"), "TABLE missing.csv does not exist"),
    (("inspect", "ok.txt"), r"TABLE ok.txt is not a table; give a .csv, .tsv, .tab, .jsonl, "
                            r".ndjson, .parquet file"),
    (("inspect", "dir.csv"), "TABLE dir.csv is a directory"),
    (("inspect", "empty.csv"),
     "TABLE empty.csv is empty; give a table with a header row, then one text a row"),
    (("inspect", "bin.csv"), "TABLE bin.csv looks binary"),
    (("inspect", "u16.csv"), "TABLE u16.csv is UTF-16 text .*; pass --encoding utf-16"),
    (("inspect", "latin.csv", "--text-col", "review"),
     r"latin.csv:3: byte 0xe9 is not valid utf-8; .*--encoding latin-1"),
    (("inspect", "r.csv"), r"r.csv:1: no column 'text' \(columns: review, label\)"),
    (("inspect", "r.csv", "--text-col", "review", "--label-col", "nosuch"),
     r"no column 'nosuch' .* with --label-col \(or label_col= in Python\)"),
    (("inspect", "r.csv", "--text-col", "review", "--label-col", "review"),
     "--label-col 'review' is also the text column"),
    (("inspect", "holes.csv", "--text-col", "review"), "holes.csv:3: missing text"),
    (("inspect", "ragged.csv", "--text-col", "review"),
     "ragged.csv:3: 3 fields where the header has 2; quote fields that contain ','"),
    (("inspect", "unclosed.csv", "--text-col", "review"), "unclosed.csv:3: a quote opened"),
    (("inspect", "bad.jsonl"), r"bad.jsonl:2: not valid JSON"),
    (("inspect", "bad.parquet"), "parquet"),
    (("inspect", "r.csv", "--text-col", "review", "--tokenizer", "nosuch"), "--tokenizer"),
    (("inspect", "r.csv", "--text-col", "review", "--encoding", "utf9"), "--encoding 'utf9'"),
    (("inspect", "r.csv", "--text-col", "review", "--on-missing", "ignore"), "--on-missing"),
    (("inspect", "r.csv", "--limit", "-3"), "--limit"),
]


@pytest.mark.parametrize("args, match", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_invocation_is_one_line_and_writes_nothing(cli_run, workdir, args, match):
    _make_inputs(args)
    before = workdir()
    result = cli_run("text", *args)
    result.assert_user_error(match)
    assert result.out == ""  # refused before any work: nothing half-printed
    assert workdir() == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes anything")
def test_unreadable_input_and_unwritable_out(cli_run, workdir):
    Path("ok.txt").write_text("one\n", encoding="utf-8")
    Path("locked.txt").write_text("one\n", encoding="utf-8")
    Path("locked.txt").chmod(0o000)
    Path("ro").mkdir(mode=0o500)
    before = workdir()
    cli_run("text", "vocab", "locked.txt").assert_user_error("not readable")
    cli_run("text", "vocab", "ok.txt", "--out", "ro/v.json").assert_user_error("not writable")
    assert workdir() == before
