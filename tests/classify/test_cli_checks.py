"""`dlcourse classify` refuses what it can tell from the options and a table's header before
its heavy imports, and what depends on the training texts before any progress line: a
mistyped --text-col/--label-col costs no torch start-up, an impossible --min-freq prints no
"training ..." line first, and --augment has a bound."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dlcourse.text.tabular import check_columns, load_table, table_columns

ROWS = [("a fine film", "pos"), ("a dull film", "neg")] * 20


@pytest.fixture
def tables(workdir):
    """good.csv (review,label), the same rows as TSV, JSONL and parquet (with a named index),
    and clf/, a classify model folder whose manifest says it was trained on column review."""
    import numpy as np
    import pandas as pd

    from dlcourse.engine.persist import write_state

    Path("good.csv").write_text("review,label\n" + "".join(f"{t},{y}\n" for t, y in ROWS))
    Path("good.tsv").write_text("review\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in ROWS))
    Path("good.jsonl").write_text("".join(json.dumps({"review": t, "label": y}) + "\n"
                                          for t, y in ROWS))
    frame = pd.DataFrame(ROWS, columns=["review", "label"])
    frame.index = pd.Index(range(100, 140), name="rid")
    frame.to_parquet("good.parquet")
    write_state(Path("clf/model.safetensors"),
                {"lesson": "classify", "estimator": "TextClassifier", "config": {},
                 "metadata": {"text_col": "review", "label_col": "label"}},
                {"weights": np.zeros((3, 2), np.float32)})
    return workdir


# each is refused from the table's header, in a process where torch cannot be imported: before
# the fix these read the header after `import torch` (a traceback here, 3.5 s for a user)
NO_TORCH = [
    (("evaluate", "clf", "good.csv", "--text-col", "nope"),
     r"^error: good.csv:1: no column 'nope' \(columns: review, label\); name the right one "
     r"with --text-col \(or text_col= in Python\)$"),
    (("evaluate", "clf", "good.csv", "--label-col", "stars"),
     r"^error: good.csv:1: no column 'stars' \(columns: review, label\); name the right one "
     r"with --label-col"),
    (("evaluate", "clf", "good.tsv", "--text-col", "text"), r"^error: good.tsv:1: no column "
     r"'text' \(columns: review, label\)"),
    (("evaluate", "clf", "good.jsonl", "--text-col", "body"), r"^error: good.jsonl:1: no column "
     r"'body' \(columns: review, label\)"),
    (("evaluate", "clf", "good.parquet", "--text-col", "rid"), r"^error: good.parquet: no "
     r"column 'rid' \(columns: review, label\)"),  # the index is no column of the table
    (("evaluate", "clf", "good.csv", "--encoding", "latin-1", "--text-col", "nope"),
     r"^error: good.csv:1: no column 'nope'"),
    (("train", "good.csv", "--out", "out"), r"^error: good.csv:1: no column 'text' \(columns: "
     r"review, label\); name the right one with --text-col"),
    (("train", "good.csv", "--text-col", "review", "--label-col", "y", "--out", "out"),
     r"^error: good.csv:1: no column 'y' \(columns: review, label\); name the right one with "
     r"--label-col"),
    (("train", "pang-lee-sample", "--valid", "good.csv", "--out", "out"),
     r"^error: good.csv:1: no column 'text'"),
    (("predict", "clf", "--file", "good.csv", "--text-col", "nope"),
     r"^error: good.csv:1: no column 'nope'"),
    (("train", "good.csv", "--text-col", "review", "--teacher", "clf", "--augment", "101",
      "--out", "out"), r"^error: --augment must be <= 100, got 101$"),
]


@pytest.mark.parametrize("args, match", NO_TORCH, ids=[" ".join(a) for a, _ in NO_TORCH])
def test_column_refusals_need_no_torch(tables, run_without_torch, args, match):
    import re

    before = tables()
    done = run_without_torch("classify", *args)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and re.search(match, lines[0]), done.stderr
    assert not done.stdout.strip()
    assert tables() == before


@pytest.mark.parametrize("name", ["good.csv", "good.tsv", "good.jsonl", "good.parquet",
                                  "semi.csv", "bom.csv", "latin1.csv"])
def test_check_columns_reads_the_header_load_table_reads(workdir, name):
    import pandas as pd

    frame = pd.DataFrame(ROWS, columns=["review", "label"])
    frame.index = pd.Index(range(40), name="rid")
    frame.to_parquet("good.parquet")
    Path("good.csv").write_text("review,label\n" + "".join(f"{t},{y}\n" for t, y in ROWS))
    Path("good.tsv").write_text("review\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in ROWS))
    Path("good.jsonl").write_text("".join(json.dumps({"review": t, "label": y}) + "\n"
                                          for t, y in ROWS))
    Path("semi.csv").write_text("review;label\n" + "".join(f"{t};{y}\n" for t, y in ROWS))
    Path("bom.csv").write_bytes(b"\xef\xbb\xbfreview,label\na fine film,pos\n")
    Path("latin1.csv").write_bytes("revue,étiquette\nun café,pos\n".encode("latin-1"))
    encoding = "latin-1" if name == "latin1.csv" else "utf-8"
    full = load_table(name, text_col=table_columns(name, encoding=encoding)[0], label_col=None,
                      encoding=encoding)
    assert table_columns(name, encoding=encoding) == full.columns
    assert check_columns(name, *full.columns[:2], encoding=encoding) == full.columns
    for text_col, label_col in (("nope", full.columns[1]), (full.columns[0], "nope")):
        with pytest.raises(Exception) as early:
            check_columns(name, text_col, label_col, encoding=encoding)
        with pytest.raises(Exception) as late:
            load_table(name, text_col=text_col, label_col=label_col, encoding=encoding)
        assert str(early.value) == str(late.value) and "no column 'nope'" in str(early.value)


def test_check_columns_refuses_bad_files_as_load_table_does(workdir):
    from dlcourse.errors import DlcourseError

    Path("latin1.csv").write_bytes("review,label\nun café,pos\n".encode("latin-1"))
    Path("broken.parquet").write_bytes(b"PAR1 not really")
    Path("dup.csv").write_text("review,review\na,b\n")
    for name, match in (("latin1.csv", r"latin1.csv:2: byte 0xe9 is not valid utf-8"),
                        ("broken.parquet", r"broken.parquet: not a readable parquet file"),
                        ("dup.csv", r"dup.csv:1: column 'review' appears twice"),
                        ("missing.csv", r"missing.csv: no such file")):
        with pytest.raises(DlcourseError, match=match):
            check_columns(name, "review", None)


def test_min_freq_is_refused_before_any_progress_line(refused, workdir):
    """An impossible --min-freq used to print "training cnn on 36 texts, ..." (and the
    vocabulary's line) before its error: the texts are counted first now."""
    Path("good.csv").write_text("review,label\n" + "".join(f"{t},{y}\n" for t, y in ROWS))
    result = refused(workdir, "--threads", "1", "classify", "train", "good.csv", "--text-col",
                     "review", "--pretrained", "none", "--epochs", "1", "--min-freq",
                     "1000000000000", "--out", "out",
                     match=r"^error: min_freq=1000000000000 leaves no word in the vocabulary "
                           r"\(the most frequent of the 4 training words, 'a', is seen 36 "
                           r"times\); lower min_freq or give more texts$")
    assert result.err.splitlines() == [result.err.strip()]  # no "training cnn on ..." line


def test_textless_training_set_is_refused_before_any_progress_line(refused, workdir):
    # the vocabulary's own tokens are no words of the texts
    Path("marks.csv").write_text("review,label\n" + "<unk>,pos\n<pad>,neg\n" * 10)
    result = refused(workdir, "--threads", "1", "classify", "train", "marks.csv", "--text-col",
                     "review", "--tokenizer", "whitespace", "--pretrained", "none", "--epochs",
                     "1", "--out", "out", match=r"no training text has a word \(18 texts, all "
                     r"empty or only what the whitespace tokenizer drops\)")
    assert result.err.splitlines() == [result.err.strip()]  # no "training cnn on ..." line


def test_own_tables_labels_and_limit_are_judged_in_the_files_terms(refused, workdir, cli_run):
    """From a user's own tables: --limit below the classes blamed "a label with a single row";
    mixed label kinds were named by their positions after the split; "1" and "1.0" became
    two classes without a word; a .tsv --out held commas."""
    three = ROWS + [("a so-so film", "meh")] * 20
    Path("three.csv").write_text("review,label\n" + "".join(f"{t},{y}\n" for t, y in three))
    train = ("--threads", "1", "classify", "train", "--text-col", "review", "--pretrained",
             "none", "--epochs", "1", "--embed-dim", "8")
    refused(workdir, *train, "three.csv", "--limit", "2", "--out", "out",
            match=r"^error: --limit 2 is below the 3 classes of three.csv: give every class a "
                  r"training text \(--limit at least the number of classes\)$")
    Path("mixed.jsonl").write_text("".join(json.dumps({"review": t, "label": y}) + "\n" for t, y
                                           in [("good fun", 1), ("dull", 0), ("fine", "1")] * 8))
    refused(workdir, *train, "mixed.jsonl", "--out", "out",
            match=r"the labels of mixed.jsonl mix numbers and strings \(labelled row 1 has 1, "
                  r"row 3 '1'\); give one kind")
    Path("alike.csv").write_text("review,label\n" + "".join(
        f"{t},{y}\n" for t, y in [("good fun", "1"), ("dull", "0"), ("fine", "1.0")] * 8))
    trained = cli_run(*train, "alike.csv", "--out", "alike")
    assert trained.code == 0, trained.err
    assert "note: the labels '1' and '1.0' of alike.csv are the same number written two ways, " \
           "and two classes here" in trained.err
    done = cli_run("classify", "predict", "alike", "good fun", "dull", "--out", "p.tsv")
    assert done.code == 0, done.err
    assert Path("p.tsv").read_text().splitlines()[0] == "text\tlabel\tp_0\tp_1\tp_1.0"


def test_check_words_agrees_with_fit_and_stops_early(monkeypatch):
    from dlcourse.classify import TextClassifier
    from dlcourse.classify.config import ClassifierConfig
    from dlcourse.classify.no_words import check_words
    from dlcourse.errors import InputError
    from dlcourse.text import tokenizers

    texts, labels = [t for t, _ in ROWS] * 50, [y for _, y in ROWS] * 50
    config = ClassifierConfig(model="gru", pretrained=None, epochs=1, min_freq=5000)
    with pytest.raises(InputError) as early:
        check_words(texts, config)
    with pytest.raises(InputError) as late:
        TextClassifier(config).fit(texts, labels)
    assert str(early.value) == str(late.value)
    assert "'a', is seen 2000 times" in str(early.value)
    # a usual setting is settled by the first texts, not by tokenizing all of them
    seen = []
    batch = tokenizers.BasicEnglishTokenizer.batch
    monkeypatch.setattr(tokenizers.BasicEnglishTokenizer, "batch",
                        lambda self, chunk: seen.extend(chunk) or batch(self, chunk))
    check_words(texts, config.replace(min_freq=3))
    assert 0 < len(seen) < len(texts)
