"""Every `dlcourse lm` verb with bad input: one line ``error: ...``, exit 2, no traceback, and
nothing written. Run from a fresh working directory with relative paths, as a user types them."""

from __future__ import annotations

from pathlib import Path

import pytest

GOOD = ("lee", "--dry-run", "--device", "cpu")  # a training run that would work

TRAIN = [
    # values out of range, of the wrong type or not among the choices
    (("--epochs", "0"), r"--epochs must be >= 1, got 0"),
    (("--epochs", "abc"), r"--epochs must be a whole number, got 'abc'"),
    (("--epochs", "1.5"), r"--epochs must be a whole number, got '1.5'"),
    (("--lr", "0"), r"--lr must be > 0"),
    (("--lr", "-1e-3"), r"--lr must be > 0"),
    (("--lr", "nan"), r"--lr must be a finite number"),
    (("--lr", "fast"), r"--lr must be a number, got 'fast'"),
    (("--dropout", "1"), r"--dropout must be <= 0.95"),
    (("--grad-clip", "0"), r"--grad-clip must be > 0"),
    (("--clip", "0"), r"--clip must be > 0"),  # the other spelling, named as typed
    (("--lr-decay", "1.5"), r"--lr-decay must be <= 0.99"),
    (("--patience", "-1"), r"--patience must be >= 0"),
    (("--batch-size", "0"), r"--batch-size must be >= 1"),
    (("--eval-batch-size", "0"), r"--eval-batch-size must be >= 1"),
    # streams past any run: refused as typed, before the data is read (a typo of 10**12 was
    # refused by the batching once the data was read)
    (("--batch-size", "1000000000000"), r"--batch-size must be <= 65536, got 1000000000000"),
    (("--eval-batch-size", "65537"), r"--eval-batch-size must be <= 65536, got 65537"),
    (("--bptt", "0"), r"--bptt must be >= 1"),
    (("--layers", "0"), r"--layers must be >= 1"),
    (("--hidden-size", "0"), r"--hidden-size must be >= 1"),
    (("--hidden-dim", "0"), r"--hidden-dim must be >= 1"),
    (("--seed", "-1"), r"--seed must be >= 0"),
    # every generator a run seeds takes 0..2**32 - 1: refused up front, not by numpy later
    (("--seed", "99999999999999999999"), r"--seed must be <= 4294967295, got 9999"),
    (("--seed", "4294967295"), None),
    (("--max-vocab", "2"), r"--max-vocab must be >= 4"),
    (("--max-size", "2"), r"--max-size must be >= 4"),
    (("--min-freq", "0"), r"--min-freq must be >= 1"),
    (("--min-count", "0"), r"--min-count must be >= 1"),
    (("--max-lines", "0"), r"--max-lines must be >= 1"),
    (("--max-lines", "none", "--epochs", "none"), r"must be a whole number, got 'none'"),
    (("--model", "transformer"), r"unknown --model '"),
    (("--optimizer", "rmsprop"), r"unknown --optimizer 'rmsprop'; choose one of adam, sgd"),
    (("--tokenizer", "nosuch"), r"unknown --tokenizer 'nosuch'; choose one of basic_english"),
    (("--device", "gpu"), r"unknown --device 'gpu'; use auto, cpu, cuda"),
    (("--shuffle",), r"--shuffle breaks the hidden state .*; use it with --model embedding$"),
    (("--model", "ptb-medium", "--tie"), None),  # ptb-medium is 650x650: tying is allowed
    # --dry-run gives both widths its 16 before the tied widths' check: no refusal
    (("--embed-dim", "32"), None),
    (("--bogus",), r"No such option '--bogus'"),
]


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    """A dry-run LSTM language model (a model.safetensors to copy into each working dir)."""
    from dlcourse.cli.main import main

    out = tmp_path_factory.mktemp("lm_model") / "run"
    main(["--threads", "1", "lm", "train", *GOOD, "--out", str(out)])
    return out


@pytest.fixture
def files(workdir, model_inputs, trained_dir):
    """The working directory's inputs: good and broken models, good and broken text files."""
    from safetensors.torch import load_file

    from dlcourse.engine.checkpoint import save_checkpoint
    from dlcourse.engine.persist import read_manifest, write_state

    model = trained_dir / "model.safetensors"
    model_inputs(model, "lm")
    manifest = read_manifest(model)
    moved = {**manifest, "state": {**manifest["state"], "data": "gone.txt"}}  # trained elsewhere
    write_state(Path("moved/model.safetensors"), moved, load_file(model))
    Path("tiny.txt").write_text("one line\nand another\n")
    Path("nul.txt").write_bytes(b"valid utf-8\x00with NUL bytes\n" * 50)
    Path("splits").mkdir()
    Path("splits/train.txt").write_text("a b c\n" * 20)  # no valid and test files
    Path("splits2").mkdir()
    for split in ("train", "valid"):
        Path(f"splits2/{split}.txt").write_text("a b c\n" * 20)
    Path("splits2/test.txt").write_text("")
    # text (no-break spaces and quotes), but no word the tokenizer keeps
    Path("punct.txt").write_text('\u00a0 ""\n' * 20, encoding="utf-8")
    # an executable's start: a NUL after a few bytes, and invalid UTF-8 before any newline
    Path("elf.bin").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(240, 256)) * 64)
    save_checkpoint(Path("classify_run/last.pt"), {"lesson": "classify", "config": {}})
    return workdir


@pytest.mark.parametrize("options, match", TRAIN, ids=[" ".join(o) for o, _ in TRAIN])
def test_train_option_values(refused, files, options, match):
    refused(files, "lm", "train", *GOOD, *options, "--out", "out", match=match)


CASES = [
    # train: DATA and --out
    (("lm", "train", "--out", "out"), r"Missing argument 'DATA'"),
    (("lm", "train", "lee"), r"Missing option '--out'"),
    (("lm", "train", "nosuch.txt", "--out", "out"), r"DATA 'nosuch.txt' is neither a named"),
    # text files: the words of every text lesson (embed train's), each with its fix
    (("lm", "train", "empty.txt", "--out", "out"),
     r"DATA empty.txt is empty; give a file with one text a line"),
    (("lm", "train", "blank.txt", "--out", "out"), r"DATA blank.txt is empty; give a file"),
    (("lm", "train", "punct.txt", "--out", "out"), r"train split of 'punct.txt' holds no words"),
    (("lm", "train", "tiny.txt", "--out", "out"), r"split of 'tiny.txt' is empty"),
    (("lm", "train", "latin1.txt", "--out", "out"),
     r"latin1.txt:1: byte 0xe9 is not valid utf-8; pass the file's encoding \(--encoding "
     r"latin-1"),
    (("lm", "train", "binary.bin", "--out", "out"),
     r"DATA binary.bin looks binary \(a NUL byte at offset 0\), not text; give a text file"),
    (("lm", "train", "elf.bin", "--out", "out"), r"DATA elf.bin looks binary \(a NUL byte at"),
    (("lm", "train", "lee", "--encoding", "nosuch", "--out", "out"),
     r"unknown --encoding 'nosuch'"),
    (("lm", "train", "nul.txt", "--out", "out"), r"DATA nul.txt looks binary"),
    (("lm", "train", "splits2", "--out", "out"), r"DATA splits2/test.txt is empty; give a"),
    (("lm", "train", "splits", "--out", "out"), r"DATA splits is a directory with 0 \*valid\*"),
    (("lm", "train", "nomodel", "--out", "out"), r"DATA nomodel is a directory with 0 \*train"),
    (("lm", "train", "notes.txt", "--out", "notes.txt"), r"--out notes.txt exists and is not a"),
    (("lm", "train", "notes.txt", "--out", "notes.txt/run"), r"notes.txt is a file"),
    (("lm", "train", *GOOD, "--out", "out", "--resume"), r"nothing to resume: out/last.pt"),
    # a vocabulary of <pad>, <unk> and <eos> alone: every word <unk>, a perplexity near 1
    (("lm", "train", *GOOD, "--min-freq", "100000", "--out", "out"),
     r"no word occurs min_freq=100000 times or more in the train split of 'lee'; lower"),
    (("lm", "train", *GOOD, "--out", "classify_run", "--resume"),
     r"--out classify_run holds an interrupted 'classify' run's checkpoint \(last.pt\), not an "
     r"'lm' one; use another folder"),
    # evaluate MODEL_DIR [DATA]
    (("lm", "evaluate"), r"Missing argument 'MODEL_DIR'"),
    (("lm", "evaluate", "nosuch"), r"MODEL_DIR nosuch does not exist"),
    (("lm", "evaluate", "nomodel"), r"MODEL_DIR nomodel holds no model.safetensors"),
    (("lm", "evaluate", "som"), r"MODEL_DIR som holds a 'som' model, not an 'lm' one"),
    (("lm", "evaluate", "header"), r"is not a dlcourse model file"),
    (("lm", "evaluate", "truncated"), r"cannot read truncated/model.safetensors"),
    (("lm", "evaluate", "notes.txt"), r"notes.txt is a file, not a model folder"),
    (("lm", "evaluate", "lm", "nosuch"), r"DATA 'nosuch' is neither a named corpus"),
    (("lm", "evaluate", "lm", "latin1.txt"), r"latin1.txt:1: byte 0xe9 is not valid utf-8"),
    (("lm", "evaluate", "lm", "empty.txt"), r"DATA empty.txt is empty; give a file"),
    (("lm", "evaluate", "lm", "binary.bin"), r"DATA binary.bin looks binary"),
    (("lm", "evaluate", "lm", "--encoding", "nosuch"), r"unknown --encoding 'nosuch'"),
    (("lm", "evaluate", "moved"), r"trained on 'gone.txt', which is not found from here"),
    (("lm", "evaluate", "lm", "--max-lines", "0"), r"--max-lines must be >= 1"),
    (("lm", "evaluate", "lm", "--max-lines", "many"),
     r"--max-lines must be a whole number or all, got 'many'"),
    (("lm", "evaluate", "lm", "lee", "--data", "lee"),
     r"DATA given twice: as an argument and as --data lee \(its old spelling\)"),
    (("lm", "evaluate", "lm", "--device", "gpu"), r"unknown --device 'gpu'"),
    # generate MODEL_DIR [PROMPT...]
    (("lm", "generate", "lm", "--max-tokens", "-5"),
     r"--max-tokens must be between 1 and 100000, got -5"),
    (("lm", "generate", "lm", "--max-tokens", "0"),
     r"--max-tokens must be between 1 and 100000, got 0"),
    (("lm", "generate", "lm", "--max-tokens", "ten"),
     r"--max-tokens must be a whole number, got 'ten'"),
    # a typo's count of words would draw for hours with nothing printed
    (("lm", "generate", "lm", "--max-tokens", "100000000000"),
     r"--max-tokens must be between 1 and 100000, got 100000000000"),
    (("lm", "generate", "lm", "--temperature", "-1"), r"--temperature must be >= 0, got -1.0"),
    (("lm", "generate", "lm", "--temperature", "inf"), r"inf is not a finite number"),
    (("lm", "generate", "lm", "--top-k", "-1"), r"--top-k must be >= 0, got -1"),
    (("lm", "generate", "lm", "--num", "0"), r"--num must be between 1 and \d+, got 0"),
    (("lm", "generate", "lm", "--seed", "x"), r"--seed must be a whole number, got 'x'"),
    (("lm", "generate", "lm", "--seed", "-1"), r"--seed must be between 0 and 429"),
    (("lm", "generate", "lm", "--seed", "99999999999999999999"),
     r"--seed must be between 0 and 4294967295, got 99999999999999999999"),
    (("lm", "generate", "lm", "a", "--prompt", "b"), r"give the prompt once"),
    (("lm", "generate", "nosuch", "the"), r"MODEL_DIR nosuch does not exist"),
    (("lm", "generate", "som", "the"), r"holds a 'som' model"),
    (("lm", "generate", "truncated", "the"), r"cannot read truncated/model.safetensors"),
    (("lm", "generate", "--max-tokens", "-5", "lm"), r"--max-tokens must be between 1 and"),
    # similar MODEL_DIR WORD...
    (("lm", "similar", "lm"), r"Missing argument 'WORD...'"),
    (("lm", "similar", "lm", "qwxzzy"), r"word 'qwxzzy' is not in the vocabulary"),
    (("lm", "similar", "lm", "the", "qwxzzy", "zzqq", "qwxzzy"),
     r"words 'qwxzzy', 'zzqq' are not in the vocabulary \([\d,]+ words\); check their "
     r"spelling"),
    (("lm", "similar", "lm", "the", "--topn", "0"), r"--topn must be >= 1, got 0"),
    (("lm", "similar", "som", "the"), r"holds a 'som' model"),
    (("lm", "similar", "header", "the"), r"is not a dlcourse model file"),
    # export MODEL_DIR --to FILE
    (("lm", "export", "lm"), r"Missing option '--to'"),
    (("lm", "export", "lm", "--to", "nomodel"), r"--to nomodel is a directory"),
    (("lm", "export", "lm", "--to", "notes.txt/vectors.txt"), r"notes.txt is a file, so"),
    (("lm", "export", "som", "--to", "vectors.txt"), r"holds a 'som' model"),
    (("lm", "export", "truncated", "--to", "vectors.txt"), r"cannot read truncated"),
    (("lm", "nosuchverb"), r"No such command 'nosuchverb'"),
]


@pytest.mark.parametrize("args, match", CASES, ids=[" ".join(a[1:]) for a, _ in CASES])
def test_bad_invocations_are_one_line_and_write_nothing(refused, files, args, match):
    assert match is not None
    result = refused(files, *args, match=match)
    assert result.out == ""  # nothing printed before the error (e.g. a first word's table)


def test_a_corpus_name_that_is_also_a_file_is_noted(cli_run, workdir):
    # embed train read ./lee as the corpus; lm reads the path, and notes the bare name
    Path("lee").write_text("alpha beta gamma delta\n" * 40)
    result = cli_run("lm", "train", "lee", "--dry-run", "--device", "cpu", "--out", "run")
    assert result.code == 0, result.err
    assert "note: DATA 'lee' is the named corpus; for the file of that name write ./lee" \
        in result.err
