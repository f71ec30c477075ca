"""Every `dlcourse embed` verb with bad input: one line ``error: ...``, exit 2, no traceback, and
nothing written. Run from a fresh working directory with relative paths, as a user types them."""

from __future__ import annotations

import bz2
import gzip
import os
import shutil
import sys
from pathlib import Path

import pytest

GOOD = ("lee", "--dry-run", "--device", "cpu")  # a training run that would work

TRAIN = [
    # values out of range, of the wrong type or not among the choices: before any work
    (("--epochs", "0"), r"--epochs must be >= 1, got 0"),
    (("--epochs", "abc"), r"--epochs must be a whole number, got 'abc'"),
    (("--epochs", "1.5"), r"--epochs must be a whole number, got '1.5'"),
    (("--window", "0"), r"--window must be >= 1, got 0"),
    (("--dim", "0"), r"--dim must be >= 1, got 0"),
    (("--dim", "-3"), r"--dim must be >= 1, got -3"),
    (("--min-count", "0"), r"--min-count must be >= 1, got 0"),
    (("--embed-dim", "0"), r"--embed-dim must be >= 1, got 0"),  # other lessons' spellings:
    (("--min-freq", "0"), r"--min-freq must be >= 1, got 0"),  # errors name them as typed
    (("--max-vocab", "0"), r"--max-vocab must be >= 1, got 0"),
    (("--negative", "0"), r"--negative must be >= 1, got 0"),
    (("--ns-exponent", "2"), r"--ns-exponent must be <= 1.0, got 2.0"),
    (("--sample", "-0.1"), r"--sample must be >= 0.0"),
    (("--lr", "0"), r"--lr must be > 0.0, got 0.0"),
    (("--lr", "nan"), r"--lr must be a finite number"),
    (("--lr", "fast"), r"--lr must be a number, got 'fast'"),
    (("--min-lr", "1"), r"--min-lr 1 is above the start learning rate 0.025: the rate decays"),
    (("--workers", "0"), r"--workers must be >= 1, got 0"),
    (("--seed", "-1"), r"--seed must be >= 0, got -1"),
    (("--seed", "99999999999999999999"), r"--seed must be <= 4294967295"),  # numpy/torch range
    (("--batch-size", "0"), r"--batch-size must be >= 1, got 0"),
    (("--limit", "0"), r"--limit must be >= 1, got 0"),
    (("--method", "word2vec"), r"unknown --method '"),
    (("--backend", "cuda"), r"unknown --backend 'cuda'; choose one of auto, numba, torch"),
    (("--device", "gpu"), r"unknown --device 'gpu'; use auto, cpu, cuda"),
    (("--backend", "numba", "--device", "cuda"), r"--backend numba runs on the CPU"),
    # numpy's out-of-memory came after the vocabulary was built (exit 1)
    (("--method", "glove", "--memory-mb", "100000000"),
     r"--memory-mb 100000000 MiB is more than this machine's memory \(\d+\.\d GiB\)"),
    (("--method", "glove", "--blocks", "100000"), r"--blocks must be <= 4096, got 100000"),
    (("--encoding", "nosuch"), r"unknown --encoding 'nosuch'"),
    (("--alpha", "0.05", "--lr", "0.1"), r"--alpha and --lr disagree"),
    # the other trainer's options are noted (test_other_trainers_options_are_noted); a GPU
    # asked of GloVe, which trains on the CPU, is refused
    (("--method", "glove", "--device", "cuda"), r"--device is a word2vec option; --method "
                                                r"glove trains on the CPU"),
    (("--method", "glove", "--x-max", "0"), r"--x-max must be > 0.0, got 0.0"),
    (("--method", "glove", "--weight-exponent", "-1"), r"--weight-exponent must be > 0.0"),
    (("--method", "glove", "--memory-mb", "0"), r"--memory-mb must be >= 1, got 0"),
    (("--method", "glove", "--lr", "0"), r"--lr must be > 0.0"),
    (("--bogus",), r"No such option '--bogus'"),
    (("--method", "glove", "--x-max", "10", "--device", "cpu"), None),  # control: accepted
    (("--method", "cbow", "--epochs", "2", "--window", "2"), None),
    # the other trainer's option at its default is harmless: accepted
    (("--method", "cbow", "--blocks", "none"), None),
    (("--method", "glove", "--negative", "5", "--device", "auto"), None),
    (("--method", "skipgram", "--cbow-mean"), None),  # CBOW's default: as glove takes it
]


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    """A dry-run skip-gram model (model.safetensors and last.safetensors to copy)."""
    from dlcourse.cli.main import main
    from dlcourse.engine.threads import THREAD_VARIABLES

    out = tmp_path_factory.mktemp("embed_model") / "run"
    # the command sets the thread count for its process: give the test session its own back
    # (left at 1, later tests in this process ran on one BLAS thread)
    saved = {k: os.environ.get(k) for k in THREAD_VARIABLES}
    threads = torch.get_num_threads() if (torch := sys.modules.get("torch")) else None
    try:
        main(["--threads", "1", "embed", "train", *GOOD, "--dim", "16", "--out", str(out)])
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if threads is not None:
            sys.modules["torch"].set_num_threads(threads)
    return out


@pytest.fixture
def files(workdir, model_inputs, trained_dir):
    """The working directory's inputs: good and broken models, vectors and text files."""
    from dlcourse.embeddings import KeyedVectors

    model = trained_dir / "model.safetensors"
    model_inputs(model, "embed", others=("som", "lm"))
    Path("run").mkdir()
    shutil.copy(model, "run/model.safetensors")
    shutil.copy(trained_dir / "last.safetensors", "run/last.safetensors")
    Path("oldpt").mkdir()
    Path("oldpt/model.pt").write_bytes(b"PK\x03\x04" + bytes(100))
    Path("classify_run").mkdir()
    Path("classify_run/last.pt").write_bytes(b"PK\x03\x04" + bytes(100))
    kv = KeyedVectors.load(model)
    kv.save_word2vec_format("vectors.txt")
    text = Path("vectors.txt").read_text(encoding="utf-8")
    Path("cut.txt").write_text(text[: len(text) // 2], encoding="utf-8")  # ends mid-line
    kv.save_word2vec_format("vectors.bin", binary=True)
    Path("cut.bin").write_bytes(Path("vectors.bin").read_bytes()[:-40])
    Path("latin1vec.txt").write_bytes("1 2\ncaf\xe9 0.5 1.5\n".encode("latin-1"))
    Path("punct.txt").write_text("... !!! ,,, ???\n" * 20)
    Path("oneword.txt").write_text("alpha\nbeta\n" * 10)  # no two words share a line
    Path("late.txt").write_bytes(b"fine text\n" * 30 + "caf\xe9\n".encode("latin-1"))
    Path("pairs.tsv").write_text("tiger cat 7.35\n", encoding="utf-8")  # blanks, not tabs
    Path("corpus.txt.gz").write_bytes(gzip.compress(b"the cat sat on the mat\n" * 50))
    Path("corpus.txt.bz2").write_bytes(bz2.compress(b"the cat sat on the mat\n" * 50))
    Path("questions.txt").write_text(": capitals\nathens greece baghdad\n", encoding="utf-8")
    return workdir


@pytest.mark.parametrize("options, match", TRAIN, ids=[" ".join(o) for o, _ in TRAIN])
def test_train_option_values(refused, files, options, match):
    refused(files, "embed", "train", *GOOD, *options, "--out", "out", match=match)


CASES = [
    # train: DATA, --out and --resume
    (("embed", "train", "--out", "out"), r"Missing argument 'DATA'"),
    (("embed", "train", "lee"), r"Missing option '--out'"),
    (("embed", "train", "nosuch.txt", "--out", "out"), r"DATA 'nosuch.txt' is neither a named"),
    (("embed", "train", "empty.txt", "--out", "out"), r"DATA empty.txt is empty"),
    (("embed", "train", "blank.txt", "--out", "out"), r"DATA blank.txt is empty"),
    (("embed", "train", "punct.txt", "--out", "out"),
     r"the corpus holds no words once tokenized \(punctuation and symbols are dropped\)"),
    (("embed", "train", "oneword.txt", "--method", "glove", "--out", "out"),
     r"no two of the 2 vocabulary words occur in one text within 10 words"),
    (("embed", "train", "latin1.txt", "--out", "out"),
     r"latin1.txt:1: byte 0xe9 is not valid utf-8; pass the file's encoding \(--encoding "
     r"latin-1"),
    (("embed", "train", "late.txt", "--out", "out"), r"late.txt:31: byte 0xe9"),
    (("embed", "train", "binary.bin", "--out", "out"), r"DATA binary.bin looks binary"),
    # "looks binary (a NUL byte at offset 20)" said nothing of the fix
    (("embed", "train", "corpus.txt.gz", "--out", "out"), r"DATA corpus.txt.gz is "
     r"gzip-compressed; decompress it first \(gunzip -k corpus.txt.gz\) and give the text file"),
    (("embed", "train", "corpus.txt.bz2", "--method", "glove", "--out", "out"),
     r"DATA corpus.txt.bz2 is bzip2-compressed; decompress it first \(bunzip2 -k"),
    (("embed", "train", "nomodel", "--out", "out"), r"DATA nomodel is a folder without files"),
    (("embed", "train", "notes.txt", "--out", "notes.txt"), r"--out notes.txt exists and is not"),
    (("embed", "train", "notes.txt", "--out", "notes.txt/run"), r"notes.txt is a file"),
    (("embed", "train", *GOOD, "--out", "out", "--resume"),
     r"nothing to resume: out/last.safetensors does not exist"),
    (("embed", "train", *GOOD, "--out", "som", "--resume"),
     r"--out som holds a 'som' model, not an 'embed' one; use another folder"),
    (("embed", "train", *GOOD, "--out", "classify_run", "--resume"),
     r"cannot resume classify_run: it holds another lesson's run \(last.pt\)"),
    (("embed", "train", *GOOD, "--method", "glove", "--out", "run", "--resume"),
     r"cannot resume run: it holds a Word2Vec run and this run trains GloVe"),
    (("embed", "train", *GOOD, "--dim", "8", "--out", "run", "--resume"),
     r"cannot resume run: it was trained with --dim 16, this run asks for 8"),
    (("embed", "train", *GOOD, "--dim", "16", "--min-count", "1", "--out", "run", "--resume"),
     r"cannot resume run: it was trained with --min-count 2, this run asks for 1"),
    # --embed-dim and --min-freq reach the config (the run asks for their values)
    (("embed", "train", *GOOD, "--embed-dim", "8", "--out", "run", "--resume"),
     r"it was trained with --embed-dim 16, this run asks for 8"),
    (("embed", "train", *GOOD, "--embed-dim", "16", "--min-freq", "1", "--out", "run",
      "--resume"), r"it was trained with --min-freq 2, this run asks for 1"),
    # evaluate MODEL_DIR [DATA]...
    (("embed", "evaluate"), r"Missing argument 'MODEL_DIR'"),
    (("embed", "evaluate", "nosuch"), r"MODEL_DIR nosuch does not exist"),
    (("embed", "evaluate", "nomodel"), r"MODEL_DIR nomodel holds no model.safetensors"),
    (("embed", "evaluate", "som"), r"MODEL_DIR som holds a 'som' model, not an 'embed' one"),
    (("embed", "evaluate", "lm"), r"MODEL_DIR lm holds an 'lm' model"),
    (("embed", "evaluate", "header"), r"is not a dlcourse model file"),
    (("embed", "evaluate", "truncated"), r"cannot read truncated/model.safetensors"),
    (("embed", "evaluate", "oldpt"), r"holds a model.pt of an older dlcourse"),
    (("embed", "evaluate", "empty.txt"), r"MODEL_DIR empty.txt is empty; give a folder from "
                                         r"`dlcourse embed train` or a word2vec or GloVe"),
    (("embed", "evaluate", "binary.bin"), r"binary.bin is binary data without a 'V D' header"),
    (("embed", "evaluate", "embed", "nosuch.tsv"), r"DATA 'nosuch.tsv' is neither an evaluation"),
    (("embed", "evaluate", "embed", "latin1.txt"), r"latin1.txt:1: byte 0xe9 is not valid"),
    (("embed", "evaluate", "embed", "empty.txt"),
     r"DATA empty.txt is empty; give word pairs \(word, word, score a line\) or analogies"),
    (("embed", "evaluate", "embed", "nomodel"), r"DATA nomodel is a directory"),
    (("embed", "evaluate", "embed", "pairs.tsv"), r"pairs.tsv:1: expected 'word1"),
    (("embed", "evaluate", "embed", "questions.txt"), r"questions.txt:2: expected ': section'"),
    (("embed", "evaluate", "embed", "--restrict-vocab", "0"),
     r"--restrict-vocab must be >= 1, got 0"),
    (("embed", "evaluate", "embed", "--scoring", "cos"), r"unknown --scoring '"),
    (("embed", "evaluate", "embed", "--method", "cos"),
     r"unknown --method 'cos'; choose one of 3cosadd, 3cosmul"),
    (("embed", "evaluate", "embed", "--out", "notes.txt"), r"--out notes.txt exists and is not"),
    (("embed", "evaluate", "embed", "--json", "nomodel"), r"--json nomodel is a directory"),
    (("embed", "evaluate", "embed", "--encoding", "nosuch"), r"unknown --encoding 'nosuch'"),
    # similar MODEL_DIR WORD...
    (("embed", "similar", "embed"), r"Missing argument 'WORD...'"),
    (("embed", "similar", "run/last.safetensors", "the"),
     r"run/last.safetensors is a training checkpoint, not the trained vectors; pass the run's "
     r"folder run"),
    (("embed", "similar", "embed", "qwxzzy"), r"word 'qwxzzy' is not in the vocabulary"),
    (("embed", "similar", "embed", "the", "qwxzzy"), r"word 'qwxzzy' is not in the vocabulary"),
    (("embed", "similar", "embed", "the", "--topn", "0"), r"--topn must be >= 1, got 0"),
    (("embed", "similar", "embed", "the", "--topn", "x"),
     r"--topn must be a whole number, got 'x'"),
    (("embed", "similar", "som", "the"), r"holds a 'som' model"),
    (("embed", "similar", "truncated", "the"), r"cannot read truncated/model.safetensors"),
    # cut in the middle: mid-line (too few numbers) or mid-number (fewer lines than announced)
    (("embed", "similar", "cut.txt", "the"),
     r"cut.txt(:\d+: expected a word and 16 numbers|: its header announces \d+ vectors but it "
     r"holds \d+; is the file truncated)"),
    (("embed", "similar", "cut.bin", "the"), r"cut.bin ends inside vector \d+ of \d+"),
    (("embed", "similar", "latin1vec.txt", "the"), r"latin1vec.txt:2: byte 0xe9 is not valid"),
    (("embed", "similar", "vectors.txt", "the", "--encoding", "base64"),
     r"--encoding 'base64' is not a text encoding"),
    # analogy MODEL_DIR A B C
    (("embed", "analogy", "embed", "the", "of"), r"Missing argument 'C'"),
    (("embed", "analogy", "embed", "the", "of", "qwxzzy"), r"word 'qwxzzy' is not in the"),
    (("embed", "analogy", "embed", "the", "of", "a", "--topn", "0"), r"--topn must be >= 1, got 0"),
    (("embed", "analogy", "embed", "the", "of", "a", "--scoring", "x"),
     r"unknown --scoring 'x'; choose one of 3cosadd, 3cosmul"),
    (("embed", "analogy", "nosuch", "the", "of", "a"), r"MODEL_DIR nosuch does not exist"),
    # plot MODEL_DIR WORD... --out FILE
    (("embed", "plot", "embed", "the"), r"Missing option '--out'"),
    (("embed", "plot", "embed", "the", "--out", "nomodel"), r"--out nomodel is a directory"),
    (("embed", "plot", "embed", "the", "--out", "map.txt"), r"give a .png, .pdf, .svg file"),
    (("embed", "plot", "embed", "the", "--out", "notes.txt/map.png"), r"notes.txt is a file"),
    (("embed", "plot", "embed", "qwxzzy", "--out", "map.png"), r"word 'qwxzzy' is not in"),
    (("embed", "plot", "embed", "the", "--topn", "0", "--out", "map.png"),
     r"a map needs at least 2 words"),
    (("embed", "plot", "embed", "the", "--topn", "-1", "--out", "m.png"),
     r"--topn must be >= 0, got -1"),
    (("embed", "plot", "embed", "the", "--projection", "umap", "--out", "m.png"),
     r"unknown --projection '"),
    (("embed", "plot", "lm", "the", "--out", "m.png"), r"holds an 'lm' model"),
    # export MODEL_DIR --to FILE
    (("embed", "export", "embed"), r"Missing option '--to'"),
    (("embed", "export", "embed", "--to", "nomodel"), r"--to nomodel is a directory"),
    (("embed", "export", "embed", "--to", "notes.txt/v.txt"), r"notes.txt is a file"),
    (("embed", "export", "embed", "--to", "v.txt", "--format", "csv"),
     r"unknown --format 'csv'; choose one of word2vec, word2vec-binary, glove"),
    (("embed", "export", "som", "--to", "v.txt"), r"holds a 'som' model"),
    # a vectors file converted in place: it was overwritten by its own conversion
    (("embed", "export", "vectors.txt", "--to", "./vectors.txt", "--format", "glove"),
     r"--to (\./)?vectors.txt is the file this command reads; give another name"),
    (("embed", "export", "header", "--to", "v.txt"), r"is not a dlcourse model file"),
    (("embed", "export", "embed", "old.txt", "--to", "v.txt"), r"give the file once"),
    (("embed", "nosuchverb"), r"No such command 'nosuchverb'"),
]


@pytest.mark.parametrize("args, match", CASES, ids=[" ".join(a[1:]) for a, _ in CASES])
def test_bad_invocations_are_one_line_and_write_nothing(refused, files, args, match):
    assert match is not None
    refused(files, *args, match=match)


def test_help_marks_required_and_shows_both_spellings(cli_run):
    """`export --help` marks --to required (the old positional FILE still works, with a note);
    `train --help` lists --embed-dim and --min-freq beside --dim and --min-count."""
    export_help = " ".join(cli_run("embed", "export", "--help").out.split())
    assert "--to TEXT The file to write (its folder is created if needed). [required]" in \
        export_help
    assert export_help.count("[required]") == 1
    train_help = cli_run("embed", "train", "--help").out
    assert "--dim, --embed-dim INT" in train_help and "--min-count, --min-freq INT" in train_help


@pytest.mark.parametrize("options, match", [
    (("--dim", "8"), r"it was trained with --dim 16, this run asks for 8"),
    (("--dim", "16", "--window", "2"), r"it was trained with --window 5, this run asks for 2"),
])
def test_resume_with_other_settings_is_refused_before_the_corpus_is_read(
        refused, files, monkeypatch, options, match):
    import dlcourse.embeddings.sources as sources

    monkeypatch.setattr(sources, "open_corpus",
                        lambda *a, **k: pytest.fail("the corpus was read before the refusal"))
    refused(files, "embed", "train", *GOOD, *options, "--out", "run", "--resume", match=match)


def test_a_file_named_like_a_corpus_is_read_when_given_as_a_path(cli_run, workdir):
    # ./lee used to be normalised to "lee" and train on the named corpus instead
    Path("lee").write_text("alpha beta gamma delta alpha beta\n" * 50)
    args = ("--threads", "1", "embed", "train", "--epochs", "1", "--dim", "5", "--min-count",
            "1", "--dry-run")
    as_path = cli_run(*args, "./lee", "--out", "file")
    assert as_path.code == 0, as_path.err
    assert "4 words x 5 dims" in as_path.out and "named corpus" not in as_path.err
    as_name = cli_run(*args, "lee", "--out", "corpus")
    assert as_name.code == 0, as_name.err
    assert "4 words" not in as_name.out  # the Lee corpus
    assert "DATA 'lee' is the named corpus; for the file of that name write ./lee" in as_name.err


def test_a_diverging_glove_stops_with_one_line_and_writes_nothing(cli_run, files):
    # AdaGrad at lr 2 overflows on Lee; the kernel used to raise ZeroDivisionError (exit 1,
    # a traceback). Found in training, so after the counting's log lines
    before = files()
    result = cli_run("--threads", "1", "embed", "train", "lee", "--method", "glove",
                     "--epochs", "2", "--dim", "20", "--lr", "2", "--out", "out")
    assert result.code == 2 and "Traceback" not in result.err, result.err
    assert result.err.strip().splitlines()[-1] == (
        "error: GloVe diverged: the loss became nan in epoch 1; lower the learning rate "
        "(--lr, now 2)")
    assert files() == before


@pytest.mark.parametrize("method", ["skipgram", "cbow"])
def test_a_diverging_word2vec_stops_with_one_line_and_writes_nothing(cli_run, files, method):
    # --lr 10 used to exit 0 with a loss of 1.6e9 per prediction and vectors whose every
    # nearest neighbour sat at cosine 0.99 (the kernel's clipped tables keep the loss finite)
    before = files()
    result = cli_run("--threads", "1", "embed", "train", "lee", "--method", method,
                     "--epochs", "2", "--dim", "20", "--lr", "10", "--out", "out")
    assert result.code == 2 and "Traceback" not in result.err, result.err
    last = result.err.strip().splitlines()[-1]
    assert last.startswith("error: word2vec diverged: the loss per prediction became "), last
    assert last.endswith(" in epoch 1 (an untrained model's is 4.16); lower the learning rate "
                         "(--lr, now 10)"), last
    assert files() == before


def test_a_high_but_sound_word2vec_rate_is_not_called_diverged(lee_sentences):
    from dlcourse.embeddings import Word2Vec

    # lr 0.2 on Lee ends epoch 1 at about 2.3 per prediction, below an untrained model's 4.16
    model = Word2Vec(vector_size=20, epochs=1, alpha=0.2, workers=1).fit(lee_sentences)
    assert model.history_[0]["loss"] < 4.16


@pytest.mark.parametrize("options, note", [
    (("--x-max", "10"), "note: --method skipgram does not use --x-max"),
    (("--method", "cbow", "--blocks", "2"), "note: --method cbow does not use --blocks"),
    (("--no-cbow-mean",), "note: --method skipgram does not use --cbow-mean"),
    (("--method", "glove", "--negative", "3", "--no-cbow-mean"),
     "note: --method glove does not use --negative, --cbow-mean"),  # the --help order
])
def test_other_trainers_options_are_noted(cli_run, workdir, options, note):
    # they were refused here while the other lessons note the settings a model does not read
    # (som's --lr with the batch rule, classify's --heads with the CNN)
    result = cli_run("embed", "train", "lee", "--dry-run", *options, "--out", "run")
    assert result.code == 0, result.err
    assert result.err.splitlines()[0] == note
