"""`dlcourse text tokenize | vocab | inspect`, in-process, as a user types them (relative paths
in a fresh working directory)."""

import json
import subprocess
import sys
from pathlib import Path

from dlcourse.text import Vocab


def out_of(cli_run, *args) -> str:
    result = cli_run("text", *args)
    assert result.code == 0, result.err
    return result.out


def test_tokenize_texts_file_table_and_ids(cli_run, workdir):
    assert out_of(cli_run, "tokenize", "Hello, World!", "It's <br />fine").splitlines() == \
        ["hello , world !", "it ' s fine"]
    assert out_of(cli_run, "tokenize", "--tokenizer", "wordpiece", "--ids", "Hi!").strip() == \
        "101 7632 999 102"
    assert out_of(cli_run, "tokenize", "--tokenizer", "regex", "--pattern", "[a-z]+", "--json",
                  "ab1cd").strip() == '["ab", "cd"]'
    Path("in.txt").write_text("One two.\n\nThree!\n", encoding="utf-8")
    assert out_of(cli_run, "tokenize", "--file", "in.txt").splitlines() == \
        ["one two .", "", "three !"]  # blank lines kept: output lines match input lines
    assert out_of(cli_run, "tokenize", "--file", "in.txt", "--limit", "1").splitlines() == \
        ["one two ."]
    Path("r.csv").write_text('review,label\n"Fine, really",pos\nDull,neg\n', encoding="utf-8")
    assert out_of(cli_run, "tokenize", "--file", "r.csv", "--text-col", "review").splitlines() \
        == ["fine , really", "dull"]
    Path("latin.txt").write_bytes("Caf\u00e9 cr\u00e8me\n".encode("latin-1"))
    assert out_of(cli_run, "tokenize", "--file", "latin.txt", "--encoding", "latin-1").strip() \
        == "café crème"
    assert workdir() == {"in.txt", "r.csv", "latin.txt"}  # tokenize writes nothing


def test_tokenize_with_a_spacy_language(cli_run):
    # German rules keep "gehen's" and "z.B." whole; the English default splits both
    text = "Wir gehen's an, z.B. morgen!"
    assert out_of(cli_run, "tokenize", "--tokenizer", "spacy", "--language", "de", text).strip() \
        == "Wir gehen's an , z.B. morgen !"
    assert out_of(cli_run, "tokenize", "--tokenizer", "spacy", text).strip() == \
        "Wir gehen 's an , z. B. morgen !"


def test_old_spellings_still_work(cli_run, workdir):
    """`-t NAME` and `vocab --dataset NAME` (with a note) from scripts written before."""
    assert out_of(cli_run, "tokenize", "-t", "whitespace", "A b").strip() == "A b"
    result = cli_run("text", "vocab", "--dataset", "pang-lee-sample", "--max-size", "50",
                     "--top", "3")
    assert result.code == 0 and "200 texts" in result.out and "vocabulary of 52" in result.out
    assert "note: '--dataset pang-lee-sample' is deprecated" in result.err
    cli_run("text", "tokenize", "-t", "regex", "--tokenizer", "spacy", "x") \
        .assert_user_error("-t regex and --tokenizer spacy disagree")


def test_vocab_builds_prints_and_saves(cli_run, workdir):
    Path("c.txt").write_text("the cat the dog\nthe end\n", encoding="utf-8")
    out = out_of(cli_run, "vocab", "c.txt", "--top", "2", "--out", "v.json",
                 "--specials", "<pad>,<unk>,<bos>")
    assert "2 texts, 6 tokens -> vocabulary of 7 (3 specials)" in out
    assert "the" in out and "3" in out
    v = Vocab.load("v.json")
    assert v.itos[:4] == ["<pad>", "<unk>", "<bos>", "the"] and v.freqs[3] == 3
    ids = out_of(cli_run, "tokenize", "--vocab", "v.json", "--ids", "the bird")
    assert ids.strip() == "3 1"
    out = out_of(cli_run, "vocab", "pang-lee-sample", "--max-size", "50", "--top", "3")
    assert "200 texts" in out and "vocabulary of 52" in out
    out_of(cli_run, "vocab", "c.txt", "--specials", "[UNK],<eos>", "--out", "w.json")
    w = Vocab.load("w.json")
    assert (w.unk_id, w.pad_id, w.itos[1]) == (0, None, "<eos>")
    # --out DIR writes DIR/vocab.json (DIR created); several DATA are counted together
    Path("t.jsonl").write_text('{"text": "the cat sat"}\n', encoding="utf-8")
    out = out_of(cli_run, "vocab", "c.txt", "t.jsonl", "--out", "runs/v", "--top", "1")
    assert "3 texts, 9 tokens" in out and Vocab.load("runs/v/vocab.json")["the"] == 2
    # ... and that folder is what tokenize --vocab takes too
    assert out_of(cli_run, "tokenize", "--vocab", "runs/v", "--ids", "the sat").strip() == "2 6"
    out = out_of(cli_run, "vocab", "c.txt", "--limit", "1", "--specials", "")
    assert "1 text, 4 tokens -> vocabulary of 3 (0 specials)" in out
    # none, as every option spells nothing (it made a token "none")
    out = out_of(cli_run, "vocab", "c.txt", "--limit", "1", "--specials", "none")
    assert "1 text, 4 tokens -> vocabulary of 3 (0 specials)" in out


def test_other_lessons_spellings_and_help_that_fits_each_verb(cli_run, workdir):
    """--max-vocab/--min-count (as `embed train` and `classify train` say) are the same options
    as --max-size/--min-freq; the help speaks of what each verb reads."""
    new = out_of(cli_run, "vocab", "pang-lee-sample", "--max-vocab", "50", "--min-count", "2",
                 "--top", "3", "--out", "v.json")
    old = out_of(cli_run, "vocab", "pang-lee-sample", "--max-size", "50", "--min-freq", "2",
                 "--top", "3")
    assert "vocabulary of 52" in new and new.splitlines()[:-1] == old.splitlines()
    assert min(Vocab.load("v.json").freqs[2:]) >= 2
    vocab_help = " ".join(out_of(cli_run, "vocab", "--help").split())
    assert "--max-vocab, --max-size INT" in vocab_help
    assert "--min-freq, --min-count INT" in vocab_help
    assert "first N texts of each DATA" in vocab_help
    tokenize_help = " ".join(out_of(cli_run, "tokenize", "--help").split())
    assert "DATA" not in tokenize_help and "first N texts [default: all]" in tokenize_help
    for text in (vocab_help, tokenize_help):  # no label column on these verbs
        on_missing = text.split("--on-missing")[1].split("--limit")[0]
        assert "empty text" in on_missing and "label" not in on_missing
    inspect_help = " ".join(out_of(cli_run, "inspect", "--help").split())
    assert "empty text or label" in inspect_help  # inspect reads labels


def test_empty_stdin_is_an_error(cli_run, workdir, monkeypatch):
    """`--file -` with nothing piped in says so (exit 2) instead of printing nothing."""
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    result = cli_run("text", "tokenize", "--file", "-")
    result.assert_user_error(r"--file -: standard input is empty; pipe text in")
    assert result.out == ""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\n")))  # one blank text
    assert out_of(cli_run, "tokenize", "--file", "-") == "\n"


def test_utf16_stdin_says_to_pass_its_encoding(cli_run, workdir, monkeypatch):
    # Windows' "Unicode" text piped in: "byte 0xff is not valid utf-8; pass the right
    # --encoding (e.g. latin-1)", the wrong advice
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("the cat\n".encode("utf-16"))))
    cli_run("text", "vocab", "-").assert_user_error(
        r"<stdin> is UTF-16 text \(it starts with a UTF-16 byte-order mark\); pass --encoding "
        r"utf-16")


def test_vocab_out_leaves_a_models_vocabulary_alone(cli_run, workdir):
    # --out runs/clf wrote runs/clf/vocab.json over the classify model's own vocabulary
    import numpy as np

    from dlcourse.engine.persist import write_state

    write_state(Path("clf/model.safetensors"), {"lesson": "classify", "config": {}},
                {"weights": np.zeros((3, 2), np.float32)})
    Path("clf/vocab.json").write_text('{"model": "vocabulary"}', encoding="utf-8")
    Path("c.txt").write_text("the cat\n", encoding="utf-8")
    for out, says in (("clf", "holds"), ("clf/vocab.json", "is in a folder holding")):
        result = cli_run("text", "vocab", "c.txt", "--out", out)
        assert (result.code, result.out) == (2, "") and result.err == (
            f"error: --out {out} {says} a 'classify' model; save the vocabulary elsewhere\n")
    assert Path("clf/vocab.json").read_text(encoding="utf-8") == '{"model": "vocabulary"}'
    out_of(cli_run, "vocab", "c.txt", "--out", "clf/words.json")  # a new file of its own name
    assert Vocab.load("clf/words.json")["cat"] >= 0


def test_vocab_reads_stdin_as_dash(cli_run, workdir, monkeypatch):
    """`text vocab -` counts standard input's lines (beside files), as `tokenize --file -`."""
    import io

    Path("c.txt").write_text("the end\n", encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"the cat\nthe dog\n")))
    out = out_of(cli_run, "vocab", "-", "c.txt", "--out", "v.json")
    assert "3 texts, 6 tokens -> vocabulary of 6 (2 specials)" in out
    assert Vocab.load("v.json")["the"] == 2
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"a\n")))
    assert "1 text, 1 token ->" in out_of(cli_run, "vocab", "-")
    cli_run("text", "vocab", "-", "-").assert_user_error("standard input\\) more than once")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    cli_run("text", "vocab", "-").assert_user_error("DATA - holds no tokens")


def test_vocab_reads_stdin_as_it_reads_the_same_file(cli_run, workdir, monkeypatch):
    """A blank line is no text in a file, so none on stdin either (stdin counted it, and it
    used up one of --limit's texts)."""
    import io

    data = b"one line\n\n  \nthird line\nfourth\n"
    Path("lines.txt").write_bytes(data)
    for extra, said in (((), "3 texts, 5 tokens"), (("--limit", "2"), "2 texts, 4 tokens")):
        assert said in out_of(cli_run, "vocab", "lines.txt", "--top", "0", *extra)
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        assert said in out_of(cli_run, "vocab", "-", "--top", "0", *extra)
    # tokenize keeps them: its output lines match the input lines
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert out_of(cli_run, "tokenize", "--file", "-").splitlines() == \
        ["one line", "", "", "third line", "fourth"]


def test_inspect_table(cli_run, workdir):
    rows = [{"review": "good film", "label": 1}] * 3 + [{"review": "bad , very bad", "label": 0}]
    Path("train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows),
                                   encoding="utf-8")
    out = out_of(cli_run, "inspect", "train.jsonl", "--text-col", "review")
    assert "4 rows; columns: review, label" in out and "2 classes" in out
    assert "p50" in out and "max" in out
    out = out_of(cli_run, "inspect", "train.jsonl", "--text-col", "review", "--label-col", "none",
                 "--limit", "2")
    assert "2 rows" in out and "classes" not in out
    assert "classes" not in out_of(cli_run, "inspect", "train.jsonl", "--text-col", "review",
                                   "--label-col", "")  # the old spelling of "none"
    # a ';'-separated CSV (spreadsheets in many locales) and a one-column CSV
    Path("semi.csv").write_text("text;label\nbon film;pos\n\"a;b\";neg\n", encoding="utf-8")
    assert "2 rows; columns: text, label" in out_of(cli_run, "inspect", "semi.csv")
    Path("one.csv").write_text("height\n1.7\n1.8\n", encoding="utf-8")
    assert "2 rows; columns: height" in out_of(cli_run, "inspect", "one.csv", "--text-col",
                                               "height", "--label-col", "none")


def test_missing_values_can_be_dropped(cli_run, workdir):
    Path("d.csv").write_text("review,label\nfine,pos\n,neg\nok,\n", encoding="utf-8")
    cli_run("text", "inspect", "d.csv", "--text-col", "review").assert_user_error(
        r"d\.csv:3: missing text .*--on-missing drop")
    out = out_of(cli_run, "inspect", "d.csv", "--text-col", "review", "--on-missing", "drop")
    assert "1 row;" in out
    assert out_of(cli_run, "tokenize", "--file", "d.csv", "--text-col", "review",
                  "--on-missing", "drop").splitlines() == ["fine", "ok"]


def test_stdin_and_help_in_a_subprocess(tmp_path):
    """`--file -` reads standard input; `text --help` imports neither torch nor numpy."""
    cmd = [sys.executable, "-m", "dlcourse", "text", "tokenize", "--file", "-"]
    done = subprocess.run(cmd, input="Hello, World!\n\nBye.\n", capture_output=True, text=True,
                          cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.splitlines() == ["hello , world !", "", "bye ."]
    done = subprocess.run(cmd, input=b"ok\ncaf\xe9\n", capture_output=True, cwd=tmp_path)
    # named by its line, as in a file (it said "a byte after line 0")
    assert done.returncode == 2 and done.stderr.decode().startswith(
        "error: <stdin>:2: byte 0xe9 is not valid utf-8") and not done.stdout
    code = ("import sys; from dlcourse.cli.main import main\n"
            "try: main(['text', '--help'])\n"
            "except SystemExit: pass\n"
            "print('torch' in sys.modules, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "tokenize" in out.stdout and out.stdout.strip().endswith("False False"), out.stdout


def test_vocab_says_its_summary_once(cli_run, workdir):
    # the library's "vocabulary: 2 token lists, ..." came on stderr beside the same summary
    Path("c.txt").write_text("the cat the dog\nthe end\n", encoding="utf-8")
    result = cli_run("text", "vocab", "c.txt")
    assert result.code == 0, result.err
    assert "2 texts, 6 tokens -> vocabulary of" in result.out
    assert "token lists" not in result.err + result.out
