"""Every `dlcourse classify` verb with bad input: one line ``error: ...``, exit 2, no traceback,
and nothing written. Run from a fresh working directory with relative paths, as a user types
them."""

from __future__ import annotations

from pathlib import Path

import pytest

GOOD = ("pang-lee-sample", "--dry-run", "--device", "cpu")  # a training run that would work

TRAIN = [
    # values out of range, of the wrong type or not among the choices
    (("--epochs", "0"), r"--epochs must be >= 1, got 0"),
    (("--epochs", "abc"), r"--epochs must be a whole number, got 'abc'"),
    (("--epochs", "1.5"), r"--epochs must be a whole number, got '1.5'"),
    (("--epochs", "none"), r"--epochs must be a whole number, got 'none'"),
    (("--lr", "0"), r"--lr must be > 0"),
    (("--lr", "nan"), r"--lr must be a finite number"),
    (("--lr", "fast"), r"--lr must be a number, got 'fast'"),
    (("--dropout", "1"), r"--dropout must be <= 0.95"),
    (("--word-dropout", "-0.1"), r"--word-dropout must be >= 0"),
    (("--word-dropout", "1"), r"--word-dropout must be <= 0.95"),
    (("--adversarial", "-1"), r"--adversarial must be >= 0"),
    (("--batch-size", "0"), r"--batch-size must be >= 1"),
    (("--layers", "0"), r"--layers must be >= 1"),
    (("--heads", "0"), r"--heads must be >= 1"),
    (("--embed-dim", "0"), r"--embed-dim must be >= 1, got 0"),  # checked before --dry-run
    (("--seed", "-1"), r"--seed must be >= 0"),
    (("--seed", "99999999999999999999"), r"--seed must be <= 4294967295"),  # numpy/torch range
    (("--max-vocab", "0"), r"--max-vocab must be >= 1"),
    (("--min-freq", "0"), r"--min-freq must be >= 1"),
    (("--max-len", "0"), r"--max-len must be >= 1"),
    (("--patience", "-1"), r"--patience must be >= 0"),
    (("--grad-clip", "0"), r"--grad-clip must be > 0"),
    (("--pretrained-vocab", "-5"), r"--pretrained-vocab must be >= 0"),
    (("--ngrams", "-1"), r"--ngrams must be >= 0, got -1"),
    (("--ngrams", "6"), r"--ngrams must be <= 5, got 6"),
    (("--ngrams", "two"), r"--ngrams must be a whole number or none, got 'two'"),
    (("--model", "bert"), r"unknown --model 'bert'; choose one of cnn, transformer, rnn"),
    (("--pooling", "sum"), r"unknown --pooling 'sum'; choose one of max, mean, last, cls"),
    (("--pooling", "cls"), r"--pooling cls is for the transformer, not cnn"),
    (("--model", "gru", "--pooling", "last"), None),  # the lesson's RNN: accepted
    (("--tokenizer", "nosuch"), r"unknown --tokenizer 'nosuch'; choose one of basic_english"),
    (("--monitor", "auc"), r"unknown --monitor 'auc'; choose one of accuracy, f1, loss"),
    (("--class-weight", "inverse"), r"unknown --class-weight 'inverse'; choose one of balanced"),
    (("--schedule", "step"), r"unknown --schedule 'step'; choose one of linear, cosine"),
    (("--positions", "rotary"), r"unknown --positions 'rotary'"),
    (("--kernel-sizes", "3,x"), r"'3,x' is not a comma-separated list"),
    (("--kernel-sizes", "3,0"), r"--kernel-sizes must be widths 1-100 words, got \(3, 0\)"),
    (("--model", "gru", "--multichannel"), r"--multichannel applies to the cnn and transformer"),
    (("--model", "transformer", "--heads", "3"), r"--heads 3 must divide the transformer's"),
    # the Python hint (start from ClassifierConfig.minilm()) is dropped: --model minilm does it
    (("--model", "minilm", "--tokenizer", "basic_english"),
     r"minilm reads its own WordPiece vocabulary, not --tokenizer basic_english; use wordpiece$"),
    (("--pretrained", "no/such.txt"), r"pretrained vectors 'no/such.txt' not found"),
    (("--pretrained", "glove-test+nosuch"), r"pretrained vectors 'nosuch' not found"),
    # a path is checked for what it holds, before the data is read (a header or 64 KB)
    (("--pretrained", "som"), r"pretrained vectors som holds a 'som' model, not word vectors;"),
    (("--pretrained", "lm"), r"holds an 'lm' model, not word vectors \(`dlcourse lm export`"),
    (("--pretrained", "clf"), r"pretrained vectors clf holds a 'classify' model"),
    (("--pretrained", "nomodel"), r"pretrained vectors nomodel holds no model.safetensors"),
    (("--pretrained", "header"), r"pretrained vectors header: .* is not a dlcourse model file"),
    (("--pretrained", "notes.txt"),
     r"notes.txt is not a word-vector file: its first line 'the cat sat on the mat' is not a"),
    (("--pretrained", "glove-test+notes.txt"), r"notes.txt is not a word-vector file"),
    (("--pretrained", "empty.txt"), r"pretrained vectors empty.txt is empty; pass a GloVe"),
    (("--pretrained", "binary.bin"), r"binary.bin is binary data without a 'V D' header"),
    (("--pretrained", "short.bin"), r"short.bin: its header announces 3 vectors of 4 numbers"),
    (("--pretrained", "vectors.txt"), None),  # a GloVe file: accepted
    (("--device", "gpu"), r"unknown --device 'gpu'; use auto, cpu, cuda"),
    (("--encoding", "nosuch"), r"unknown --encoding 'nosuch'; use a text encoding name"),
    (("--on-missing", "skip"), r"unknown --on-missing 'skip'; choose one of error, drop"),
    (("--label-col", "none"), r"--label-col none: training needs labels"),
    (("--text-col", "x", "--label-col", "x"), r"--label-col 'x' is also the text column"),
    (("--bogus",), r"No such option '--bogus'"),
    # the pretrained MiniLM brings its own vectors, vocabulary, pooling and shape
    (("--model", "minilm", "--pretrained", "glove-6b-50d"),
     r"--pretrained 'glove-6b-50d' does not apply to minilm \(it brings its own weights\)"),
    (("--model", "minilm", "--freeze"), r"--freeze applies to word-vector models, not minilm"),
    (("--model", "minilm", "--multichannel"), r"--multichannel applies to word-vector models"),
    (("--model", "minilm", "--ngrams", "2"), r"--ngrams applies to word-vector models, not"),
    (("--model", "minilm", "--ngrams", "0"), None),  # none asked for: accepted
    (("--model", "minilm", "--pooling", "max"), r"minilm pools by mean, not max"),
    (("--model", "minilm", "--tokenizer", "basic_english"), r"minilm reads its own WordPiece"),
    (("--model", "minilm", "--hidden-size", "128"), r"of minilm comes from its pretrained"),
    (("--model", "minilm", "--heads", "4"), r"minilm has 12 attention heads, got"),
    (("--model", "minilm", "--max-len", "1000"), r"for minilm counts \[CLS\] and \[SEP\]"),
    # knowledge distillation: the teacher is a classifier folder that knows the same labels
    (("--teacher", "nosuch"), r"teacher nosuch does not exist; train one with 'dlcourse classify"),
    (("--teacher", "nomodel"), r"teacher nomodel holds no model.safetensors"),
    (("--teacher", "som"), r"teacher som holds a 'som' model, not a 'classify' one"),
    (("--teacher", "header"), r"is not a dlcourse model file"),
    (("--teacher", ""), r"--teacher must be a trained classifier's folder \(or none\), got ''"),
    (("--augment", "2"), r"--augment makes copies for a teacher to label; give a teacher"),
    (("--teacher", "clf", "--augment", "-1"), r"--augment must be >= 0"),
    (("--teacher", "clf", "--augment", "1"), None),  # a dry run distilled from clf: accepted
]


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    """A dry-run classifier (a model.safetensors to copy into each working dir)."""
    from dlcourse.cli.main import main

    out = tmp_path_factory.mktemp("classify_model") / "run"
    main(["--threads", "1", "classify", "train", *GOOD, "--model", "gru", "--pretrained", "none",
          "--out", str(out)])
    return out


@pytest.fixture
def files(workdir, model_inputs, trained_dir):
    """The working directory's inputs: good and broken models, tables and text files."""
    from dlcourse.engine.checkpoint import save_checkpoint

    model_inputs(trained_dir / "model.safetensors", "clf", others=("som", "lm"))
    Path("good.csv").write_text("review,label\na fine film,pos\na dull film,neg\n" * 20)
    Path("stars.csv").write_text("review,label\n" + "a fine film,5\na dull film,1\n" * 20)
    Path("header.csv").write_text("review,label\n")
    Path("gap.csv").write_text("review,label\na fine film,pos\na dull film,\n")
    Path("latin1.csv").write_bytes("review,label\nle café est bon,pos\n".encode("latin-1") * 9)
    Path("empty.csv").write_text("")
    Path("ids.csv").write_text("review,label\n" + "".join(f"film {i},pos\n" for i in range(40)))
    Path("single.csv").write_text("review,label\n" + "a fine film,a\na dull film,b\n" * 3 +
                                  "an odd film,c\na weird film,d\n")
    Path("four.csv").write_text("review,label\n" + "a fine film,pos\na dull film,neg\n" * 2)
    Path("one.csv").write_text("review,label\n" + "a fine film,x\n" * 3)
    Path("thirty.csv").write_text("review,label\n" + "a fine film,x\n" * 30)
    Path("gaps.txt").write_text("a fine film\n\na dull film\n")
    Path("vectors.txt").write_text("film 0.1 0.2\nfine 0.3 -0.1\n")
    Path("short.bin").write_bytes(b"3 4\nfilm ")
    save_checkpoint(Path("lm_run/last.pt"), {"lesson": "lm", "config": {}})
    return workdir


@pytest.mark.parametrize("options, match", TRAIN, ids=[" ".join(o) for o, _ in TRAIN])
def test_train_option_values(refused, files, options, match):
    refused(files, "--threads", "1", "classify", "train", *GOOD, *options, "--out", "out",
            match=match)


TABLE = ("--text-col", "review")
CASES = [
    # train DATA --out DIR
    (("train", "--out", "out"), r"Missing argument 'DATA'"),
    (("train", "pang-lee-sample"), r"Missing option '--out'"),
    (("train", "nosuch.csv", "--out", "out"), r"DATA 'nosuch.csv' is neither a data set"),
    (("train", "lee", "--out", "out"), r"DATA 'lee' is neither a data set \(rt-sentences"),
    (("train", "nomodel", "--out", "out"), r"DATA nomodel is a directory; pass a table file"),
    (("train", "notes.txt", "--out", "out"), r"DATA notes.txt is not a table file"),
    (("train", "empty.csv", "--out", "out"), r"DATA empty.csv is empty"),
    (("train", "header.csv", *TABLE, "--out", "out"), r"header.csv: no rows with a text"),
    (("train", "good.csv", "--out", "out"), r"column 'text'.*review"),
    (("train", "good.csv", *TABLE, "--label-col", "y", "--out", "out"), r"column 'y'"),
    (("train", "gap.csv", *TABLE, "--out", "out"), r"gap.csv:3: .*label"),
    (("train", "latin1.csv", *TABLE, "--out", "out"), r"latin1.csv.*--encoding"),
    (("train", *GOOD, "--valid", "nosuch.csv", "--out", "out"), r"--valid 'nosuch.csv' is "),
    (("train", *GOOD, "--valid", "nomodel", "--out", "out"), r"--valid nomodel is a directory"),
    (("train", *GOOD, "--valid", "rt-sentences", "--out", "out"), r"--valid rt-sentences: pass"),
    # labels: the text column given for them, or validation labels training never saw
    (("train", "ids.csv", "--text-col", "label", "--label-col", "review", "--out", "out"),
     r"--label-col 'review': each of the 40 rows of ids.csv has its own label \('film 0', "
     r"'film 1', 'film 2', 'film 3', 'film 4' and 35 more\), so there are no classes"),
    (("train", *GOOD, "--valid", "stars.csv", *TABLE, "--out", "out"),
     r"--valid stars.csv: 2 labels not seen in training \(1, 5; the 2 classes: 'neg', 'pos'\)"
     r"; give --valid only labels that pang-lee-sample has"),
    # two rows a label: the 10% split rounded to none; it trained, then failed to evaluate
    (("train", "four.csv", *TABLE, "--out", "out"),
     r"the validation split \(10% of four.csv, by label\) holds no row: four.csv has 4 "
     r"labelled rows; give it more rows \(3 or more of each label\), or pass --valid FILE"),
    # one label: it asked for "more rows (3 or more of each label)" of the one it had, and
    # with 30 rows it printed the training line first
    (("train", "one.csv", *TABLE, "--out", "out"),
     r"^error: only one class \('x'\) in the labels of one.csv; a classifier needs at least two"),
    (("train", "thirty.csv", *TABLE, "--out", "out"), r"^error: only one class \('x'\)"),
    (("train", "single.csv", *TABLE, "--out", "out"),
     r"the validation split \(10% of single.csv\): 1 label not seen in training \('d'; the 3 "
     r"classes: 'a', 'b', 'c'\); a label with a single row can land there alone"),
    # a bad --valid is refused before DATA's read logs its row count
    (("train", "good.csv", *TABLE, "--valid", "gap.csv", "--out", "out"), r"gap.csv:3: .*label"),
    (("train", *GOOD, "--out", "notes.txt"), r"--out notes.txt exists and is not a directory"),
    (("train", *GOOD, "--out", "notes.txt/run"), r"notes.txt is a file"),
    (("train", "stars.csv", *TABLE, "--teacher", "clf", "--out", "out"),
     r"teacher clf knows the labels \['neg', 'pos'\], the training texts have \[1, 5\]"),
    (("train", *GOOD, "--out", "out", "--resume"), r"nothing to resume: out/last.pt"),
    (("train", *GOOD, "--out", "lm_run", "--resume"),
     r"--out lm_run holds an interrupted 'lm' run's checkpoint \(last.pt\), not a 'classify' "
     r"one; use another folder"),
    # evaluate MODEL_DIR DATA
    (("evaluate",), r"Missing argument 'MODEL_DIR'"),
    (("evaluate", "clf"), r"Missing argument 'DATA'"),
    (("evaluate", "nosuch", "good.csv"), r"MODEL_DIR nosuch does not exist"),
    (("evaluate", "nomodel", "good.csv"), r"MODEL_DIR nomodel holds no model.safetensors"),
    (("evaluate", "som", "good.csv"), r"MODEL_DIR som holds a 'som' model, not a 'classify'"),
    (("evaluate", "header", "good.csv"), r"is not a dlcourse model file"),
    (("evaluate", "truncated", "good.csv", *TABLE), r"cannot read truncated/model.safetensors"),
    (("evaluate", "notes.txt", "good.csv"), r"notes.txt is a file, not a model folder"),
    (("evaluate", "clf", "nosuch.csv"), r"DATA 'nosuch.csv' is neither a data set"),
    (("evaluate", "clf", "nomodel"), r"DATA nomodel is a directory"),
    (("evaluate", "clf", "empty.csv"), r"DATA empty.csv is empty"),
    (("evaluate", "clf", "good.csv"), r"column 'text'"),  # the model's columns by default
    (("evaluate", "clf", "good.csv", *TABLE, "--label-col", "none"), r"evaluating needs labels"),
    (("evaluate", "clf", "good.csv", *TABLE, "--out", "notes.txt"), r"--out notes.txt exists"),
    (("evaluate", "clf", "good.csv", *TABLE, "--batch-size", "0"),
     r"--batch-size must be >= 1, got 0"),
    (("evaluate", "clf", "good.csv", *TABLE, "--device", "gpu"), r"unknown --device 'gpu'"),
    (("evaluate", "clf", "good.csv", *TABLE, "--encoding", "nosuch"), r"unknown --encoding 'no"),
    (("evaluate", "clf", "pang-lee-sample", "--data", "pang-lee-sample"),
     r"DATA given twice: as an argument and as --data pang-lee-sample"),
    (("evaluate", "clf", "stars.csv", *TABLE), r"stars.csv \(--label-col 'label'\): 2 labels "
     r"not seen in training \(1, 5; the 2 classes: 'neg', 'pos'\); evaluate on data with"),
    (("evaluate", "clf", "ids.csv", "--text-col", "label", "--label-col", "review"),
     r"ids.csv \(--label-col 'review'\): 40 labels not seen in training \('film 0', 'film 1',"
     r" 'film 10', 'film 11', 'film 12' and 35 more; the 2 classes"),
    # predict MODEL_DIR TEXT...
    (("predict", "clf"), r"give texts to classify, or --file FILE"),
    (("predict", "som", "a film"), r"holds a 'som' model"),
    (("predict", "truncated", "a film"), r"cannot read truncated/model.safetensors"),
    (("predict", "header", "a film"), r"is not a dlcourse model file"),
    (("predict", "clf", "a film", "--file", "gaps.txt"),
     r"give TEXT arguments or --file FILE \(not both\)"),  # they were labelled as one list
    (("predict", "clf", "--file", "nosuch.txt"), r"--file nosuch.txt does not exist"),
    (("predict", "clf", "--file", "nomodel"), r"--file nomodel is a directory"),
    (("predict", "clf", "--file", "empty.txt"), r"--file empty.txt is empty"),
    (("predict", "clf", "--file", "binary.bin"), r"binary.bin looks binary"),
    (("predict", "clf", "--file", "latin1.txt"), r"latin1.txt.*--encoding"),
    (("predict", "clf", "--file", "good.csv"), r"column 'text'"),
    (("predict", "clf", "--file", "gaps.txt"), r"^error: gaps.txt:2: blank line \(no text "
     r"to classify\); fill or remove it, or skip blank lines with --on-missing drop$"),
    (("predict", "clf", "a film", "--out", "nomodel"), r"--out nomodel is a directory"),
    (("predict", "clf", "a film", "--out", "notes.txt/p.csv"), r"notes.txt is a file"),
    (("predict", "clf", "a film", "--batch-size", "0"), r"--batch-size must be >= 1, got 0"),
    (("predict", "clf", "a film", "--device", "gpu"), r"unknown --device 'gpu'"),
    (("nosuchverb",), r"No such command 'nosuchverb'"),
]


@pytest.mark.parametrize("args, match", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_invocations_are_one_line_and_write_nothing(refused, files, args, match):
    assert match is not None
    refused(files, "--threads", "1", "classify", *args, match=match)
