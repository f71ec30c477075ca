"""The shell's side of every bad invocation: one line ``error: ...``, exit 2, nothing written.

Each lesson's own bad values are tested in ``tests/<lesson>/test_bad_input.py`` with the same
``cli_run`` fixture; here are the cases every noun shares.
"""

from __future__ import annotations

import pytest

NOUNS = ("data", "text", "embed", "lm", "classify", "vision", "som")


@pytest.mark.parametrize("args, match", [
    (("--threads", "0", "data", "list"), "--threads must be a whole number from 1 to 1024, "
                                         "got '0'"),
    (("--threads", "abc", "data", "list"), "--threads must be a whole number from 1 to 1024, "
                                           "got 'abc'"),
    # it was taken: torch and numba would start 100,000 threads
    (("--threads", "100000", "data", "list"), "--threads must be a whole number from 1 to 1024, "
                                              "got '100000'"),
    (("nosuchnoun",), "No such command"),
    (("data", "nosuchverb"), "No such command"),
    (("data", "list", "--bogus"), "No such option"),
    (("data", "info"), "Missing argument"),
    (("data", "info", "no-such-set"), "unknown data set 'no-such-set'"),
    (("data", "fetch", "ptb", "--offline"), "give NAMES or --offline .*, not both; --no-download"),
    # an empty --out is "." to pathlib: the run's files would land in the working folder
    (("som", "train", "sklearn:iris", "--out", ""), "--out is empty; name a folder"),
    (("embed", "train", "lee", "--out", " "), "--out is empty; name a folder"),
    (("som", "evaluate", "x", "--out", ""), "--out is empty"),
    # an empty MODEL_DIR is "." too: "MODEL_DIR . holds no model.safetensors"
    (("som", "evaluate", ""), "MODEL_DIR is empty; pass the folder a 'dlcourse som train' run"),
    (("vision", "predict", " ", "a.png"), "MODEL_DIR is empty"),
    (("lm", "generate", "", "the"), "MODEL_DIR is empty"),
    # a list option with an empty item is a slip, not fewer items ('' is how to say none)
    (("text", "vocab", "lee", "--specials", ","), "',' has an empty item"),
    (("text", "vocab", "lee", "--specials", "<pad>,,<unk>"), "'<pad>,,<unk>' has an empty item"),
    (("text", "vocab", "lee", "--out", ""), "--out is empty"),  # wrote ./vocab.json
    # an empty DATA was "." too: "DATA . is a directory; give a text file"
    (("embed", "train", "", "--out", "o"), "DATA is empty; give a named corpus"),
    (("text", "vocab", ""), "DATA is empty; give a text file"),
    (("text", "tokenize", "--file", ""), "--file is empty"),
    (("text", "tokenize", "--tokenizer", "wordpiece", "--vocab-file", "", "hi"),
     "--vocab-file is empty"),
    (("classify", "train", "", "--out", "o"), "DATA is empty; pass a table file"),
    (("lm", "train", "", "--out", "o"), "DATA is empty; give a named corpus"),
    (("text", "tokenize", "--tokenizer", "regex", "--pattern", "", "a b"),  # printed no token
     "--pattern is empty"),
    (("tour", "--only", "text", "--out", ""), "--out is empty"),  # ran into runs/tour-<date>
    (("tour", "--only", "text", "--out", "/proc/x"), "/proc does not allow writing"),
    # typos of 10**12: hangs (threads, layers, filter widths), allocation tracebacks, or a
    # model trained to a loss of 1e29 and saved
    (("embed", "train", "lee", "--out", "o", "--workers", "100000"), "--workers must be <= 1024"),
    (("lm", "train", "lee", "--out", "o", "--layers", "1000000000000"), "--layers must be"),
    (("lm", "train", "lee", "--out", "o", "--lr", "1e12"), "--lr must be <= 1000"),
    (("classify", "train", "rt-sentences", "--out", "o", "--kernel-sizes", "1000000"),
     r"--kernel-sizes must be widths 1-100 words"),
    (("classify", "train", "rt-sentences", "--out", "o", "--hidden-size", "1000000000000"),
     "--hidden-size must be <= 65536"),
    (("vision", "train", "fashion-mnist", "--out", "o", "--lr", "1e30"), "--lr must be <= 10"),
    (("embed", "train", "lee", "--out", "o", "--dim", "1000000000000"), "--dim must be <= 65536"),
    (("embed", "train", "lee", "--out", "o", "--negative", "1000000000000"),
     "--negative must be <= 1000"),
    (("som", "evaluate", "x", "--seed", "1000000000000"),
     r"--seed must be between 0 and 4294967295, got 1000000000000"),
    # a misspelt device was found after the heavy imports (3-4 s): now as it is parsed
    (("lm", "evaluate", "x", "--device", "gpu"), "unknown --device 'gpu'; use auto, cpu"),
    (("classify", "predict", "x", "a text", "--device", "gpu"), "unknown --device 'gpu'"),
    (("tour", "--device", "tpu"), "unknown --device 'tpu'"),
    # an optional choice's none is one of the choices
    (("classify", "train", "rt-sentences", "--out", "o", "--class-weight", "x"),
     "choose one of balanced, none"),
    (("vision", "train", "fashion-mnist", "--out", "o", "--weight-decay", "1e30"),
     "--weight-decay must be <= 10"),
])
def test_shell_errors_are_one_line(cli_run, workdir, args, match):
    result = cli_run(*args)
    result.assert_user_error(match)
    assert workdir() == set()


def test_a_bad_threads_variable_is_named_as_the_variable(cli_run, workdir, monkeypatch):
    # it was reported as "Invalid value for '--threads'", an option nobody had typed
    monkeypatch.setenv("DLCOURSE_THREADS", "abc")
    cli_run("data", "list").assert_user_error(
        "DLCOURSE_THREADS must be a whole number from 1 to 1024, got 'abc'")
    monkeypatch.setenv("DLCOURSE_THREADS", "1")
    assert cli_run("data", "list").code == 0
    assert workdir() == set()


@pytest.mark.parametrize("noun", NOUNS)
def test_every_noun_has_help_and_an_unknown_verb_is_one_line(cli_run, noun):
    assert cli_run(noun, "--help").code == 0
    cli_run(noun, "no-such-verb").assert_user_error("No such command")


def test_out_must_be_a_writable_folder(tmp_path):
    from dlcourse.cli.common import check_out_dir
    from dlcourse.errors import DlcourseError

    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(DlcourseError, match="exists and is not a directory"):
        check_out_dir(tmp_path / "file.txt")
    with pytest.raises(DlcourseError, match="is a file"):
        check_out_dir(tmp_path / "file.txt" / "sub")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    import os

    if os.geteuid() != 0:  # root may write anywhere
        with pytest.raises(DlcourseError, match="not writable"):
            check_out_dir(locked / "run")
    if os.path.isdir("/proc/self"):  # root passes os.access there, yet nothing can be made
        with pytest.raises(DlcourseError, match="/proc/x is not writable"):
            check_out_dir("/proc/x")
    assert check_out_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checking creates nothing


def test_train_refuses_another_lessons_folder_and_replaces_its_own(cli_run, workdir):
    som = ("som", "train", "sklearn:iris", "--grid", "3x3", "--epochs", "1", "--out", "run")
    assert cli_run(*som).code == 0
    with open("small.txt", "w") as f:
        f.write("the cat sat on the mat\n" * 50)
    files = workdir()
    cli_run("embed", "train", "small.txt", "--min-count", "1", "--out", "run").assert_user_error(
        r"--out run holds a 'som' model, not an 'embed' one; use another folder")
    cli_run("embed", "train", "small.txt", "--min-count", "1", "--out", "run",
            "--resume").assert_user_error(r"holds a 'som' model")
    assert workdir() == files                                          # nothing written
    assert cli_run(*som, "--epochs", "2").code == 0                    # a som run replaces it


@pytest.mark.parametrize("args", [("lm", "train", "lee", "--batch-size", "5"),
                                  ("vision", "train", "mnist-5k", "--batch-size", "5"),
                                  # classify trained on nothing (batch 1) and saved the model
                                  ("classify", "train", "pang-lee-sample", "--batch-size", "5")])
def test_a_batch_torchrun_cannot_share_is_refused_before_the_data(cli_run, workdir,
                                                                  monkeypatch, args):
    monkeypatch.setenv("WORLD_SIZE", "2")  # what torchrun --nproc_per_node=2 sets
    result = cli_run(*args, "--out", "run")
    result.assert_user_error("--batch-size 5 does not split evenly over the 2 torchrun "
                             "processes; use a multiple of 2")
    assert workdir() == set()


def test_finetuning_needs_two_images_a_process_under_torchrun(cli_run, workdir, monkeypatch):
    # batch 2 over 2 processes read the data, then failed in torch's batch norm
    monkeypatch.setenv("WORLD_SIZE", "2")
    cli_run("vision", "train", "mnist-5k", "--mode", "finetune", "--batch-size", "2", "--out",
            "run").assert_user_error("--batch-size 2 gives each of the 2 torchrun processes 1 "
                                     "a step, and mode finetune's batch norm needs at least 2; "
                                     "use 4 or more")
    assert workdir() == set()


def test_under_torchrun_one_process_per_machine_prints_a_user_error(cli_run, workdir,
                                                                     monkeypatch):
    """Every torchrun process meets the same bad input: the first on the machine says so; the
    others wait for it (torchrun stops them when it ends) and only then say it, naming their
    rank. They exited at once, and torchrun then stopped the first before it printed: about
    one run in eight showed no error line at all."""
    from dlcourse.cli import main

    waits = []
    monkeypatch.setattr(main.time, "sleep", waits.append)  # torchrun would stop it here
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    result = cli_run("lm", "train", "lee", "--batch-size", "5", "--out", "run")
    assert waits == [main.PEER_GRACE_S] and main.PEER_GRACE_S >= 5
    result.assert_user_error("rank 1: --batch-size 5 does not split evenly")
    waits.clear()
    monkeypatch.setenv("LOCAL_RANK", "0")  # rank 1 of a second machine
    cli_run("lm", "train", "lee", "--batch-size", "5", "--out", "run").assert_user_error(
        "^error: --batch-size 5 does not split evenly")
    assert waits == [] and workdir() == set()



@pytest.mark.parametrize("args, spelling", [
    (("text", "vocab", "lee", "--dataset", "lee"), "--dataset lee"),
    (("embed", "train", "lee", "--corpus", "lee", "--out", "e"), "--corpus lee"),
    (("lm", "train", "lee", "--data", "lee", "--out", "l"), "--data lee"),
    (("classify", "train", "pang-lee-sample", "--train", "x.csv", "--out", "c"), "--train x.csv"),
    (("vision", "train", "mnist-5k", "--data", "mnist-5k", "--out", "v"), "--data mnist-5k"),
])
def test_an_argument_also_given_in_its_old_spelling_is_one_line_in_every_noun(
        cli_run, workdir, args, spelling):
    # the old spellings were rewritten before parsing in four nouns: a deprecation note, then
    # click's "Got unexpected extra argument" (two lines, the second naming no cause)
    result = cli_run(*args)
    result.assert_user_error(f"DATA given twice: as an argument and as {spelling} \\(its old "
                             "spelling\\); give it once, as the argument")
    assert "note:" not in result.err
    assert workdir() == set()


@pytest.mark.parametrize("args, unused, note", [
    (("classify", "train", "tiny.csv"), ("--heads", "2", "--positions", "sinusoidal"),
     "note: --model cnn does not use --heads, --positions"),
    (("classify", "train", "tiny.csv", "--model", "gru"), ("--kernel-sizes", "2"),
     "note: --model gru does not use --kernel-sizes"),
    (("classify", "train", "tiny.csv", "--pretrained", "none"), ("--freeze", "--multichannel"),
     "note: --pretrained none does not use --freeze, --multichannel"),
    (("vision", "train", "fashion-mnist", "--arch", "efficientnet_lite0", "--limit", "3"),
     ("--backbone-lr-mult", "0.5"), "note: --mode features does not use --backbone-lr-mult"),
])
def test_an_option_the_model_does_not_read_is_noted(cli_run, workdir, args, unused, note):
    # --heads 7 with the CNN, --backbone-lr-mult in features mode: accepted and ignored silently
    from pathlib import Path

    Path("tiny.csv").write_text("text,label\ngood film,pos\ndull film,neg\n")
    result = cli_run(*args, *unused, "--out", "o")
    result.assert_user_error()  # the tiny table, or --limit below the classes, stops it early
    assert note in result.err
    plain = cli_run(*args, "--out", "o")  # only options the model reads: no note
    plain.assert_user_error()
    assert "does not use" not in plain.err
