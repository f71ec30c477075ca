"""`dlcourse text tokenize | vocab | inspect`, in-process."""

import json

import pytest

from dlcourse.cli.main import main
from dlcourse.text import Vocab


def run(args, capsys):
    main(["text", *args])
    return capsys.readouterr().out


def test_tokenize_texts_file_and_ids(tmp_path, capsys):
    assert run(["tokenize", "Hello, World!", "It's <br />fine"], capsys).splitlines() == \
        ["hello , world !", "it ' s fine"]
    assert run(["tokenize", "-t", "wordpiece", "--ids", "Hi!"], capsys).strip() == \
        "101 7632 999 102"
    assert run(["tokenize", "-t", "regex", "--pattern", "[a-z]+", "--json", "ab1cd"],
               capsys).strip() == '["ab", "cd"]'
    f = tmp_path / "in.txt"
    f.write_text("One two.\n\nThree!\n", encoding="utf-8")
    assert run(["tokenize", "--file", str(f)], capsys).splitlines() == \
        ["one two .", "", "three !"]


def test_vocab_builds_prints_and_saves(tmp_path, capsys):
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat the dog\nthe end\n", encoding="utf-8")
    out = run(["vocab", str(corpus), "--top", "2", "-o", str(tmp_path / "v.json"),
               "--specials", "<pad>,<unk>,<bos>"], capsys)
    assert "2 texts, 6 tokens -> vocabulary of 7 (3 specials)" in out
    assert "the" in out and "3" in out
    v = Vocab.load(tmp_path / "v.json")
    assert v.itos[:4] == ["<pad>", "<unk>", "<bos>", "the"] and v.freqs[3] == 3
    ids = run(["tokenize", "--vocab", str(tmp_path / "v.json"), "--ids", "the bird"], capsys)
    assert ids.strip() == "3 1"
    out = run(["vocab", "--dataset", "pang-lee-sample", "--max-size", "50", "--top", "3"], capsys)
    assert "200 texts" in out and "vocabulary of 52" in out
    run(["vocab", str(corpus), "--specials", "[UNK],<eos>", "-o", str(tmp_path / "w.json")],
        capsys)
    w = Vocab.load(tmp_path / "w.json")
    assert (w.unk_id, w.pad_id, w.itos[1]) == (0, None, "<eos>")


def test_inspect_table(tmp_path, capsys):
    p = tmp_path / "train.jsonl"
    rows = [{"review": "good film", "label": 1}] * 3 + [{"review": "bad , very bad", "label": 0}]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = run(["inspect", str(p), "--text-col", "review"], capsys)
    assert "4 rows; columns: review, label" in out and "2 classes" in out
    assert "p50" in out and "max" in out


def test_errors_are_one_line(tmp_path, capsys):
    p = tmp_path / "d.csv"
    p.write_text("review,label\nfine,pos\n,neg\n", encoding="utf-8")
    with pytest.raises(SystemExit) as info:
        main(["text", "inspect", str(p), "--text-col", "review"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "d.csv:3: missing text" in err
    with pytest.raises(SystemExit):
        main(["text", "tokenize", "--ids", "x"])
    assert "--ids needs --vocab" in capsys.readouterr().err


def test_text_help_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys; from dlcourse.cli.main import main\n"
            "try: main(['text', '--help'])\n"
            "except SystemExit: pass\n"
            "print('torch' in sys.modules, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "tokenize" in out.stdout and out.stdout.strip().endswith("False False"), out.stdout
