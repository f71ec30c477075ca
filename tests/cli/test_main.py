"""The CLI shell: fast help without torch, one-line errors, the tour's report."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from dlcourse import __version__
from dlcourse.cli.main import main


def test_help_and_version_do_not_import_torch():
    code = (
        "import sys; from dlcourse.cli.main import main\n"
        "for args in (['--help'], ['--version'], ['data', '--help']):\n"
        "    try: main(args)\n"
        "    except SystemExit: pass\n"
        "print('torch' in sys.modules, 'numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("False False"), out.stdout


def test_console_script_version():
    out = subprocess.run(
        [sys.executable, "-m", "dlcourse", "--version"], capture_output=True, text=True, check=True
    )
    assert __version__ in out.stdout


def test_user_error_is_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["data", "info", "no-such-set"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown data set 'no-such-set'") and err.count("\n") == 1
    assert "Traceback" not in err


def test_running_out_of_memory_is_one_line(cli_run, workdir, monkeypatch):
    # it was a traceback (a 100000x100000 SOM asked numpy for 74.5 GiB)
    import numpy as np

    def allocate(*args, **kwargs):
        return np.empty((1 << 18, 1 << 18))  # 512 GiB: numpy's MemoryError, with the size

    monkeypatch.setattr("dlcourse.som.SOM.fit", allocate)
    result = cli_run("som", "train", "sklearn:iris", "--grid", "3x3", "--out", "run")
    assert result.code == 1 and "Traceback" not in result.err, result.err
    assert result.err.splitlines()[-1].startswith("error: out of memory: Unable to allocate ")
    assert result.err.splitlines()[-1].endswith("; use smaller settings or less data (--limit)")


def test_an_old_data_set_name_is_noted_once(cli_run):
    result = cli_run("data", "info", "cifar10")  # the note came once per lookup: 4 times
    assert result.code == 0 and result.err.count("'cifar10' is now called 'cifar-10'") == 1
    assert result.out.startswith("cifar-10:")


def test_debug_shows_the_traceback_and_keeps_the_exit_status(cli_run):
    result = cli_run("--debug", "data", "info", "no-such-set")
    assert result.code == 2 and "Traceback" in result.err and "DlcourseError" in result.err
    assert result.err.splitlines()[-1].startswith("error: unknown data set 'no-such-set'")


def test_quiet_shows_results_only(cli_run, workdir, monkeypatch):
    monkeypatch.setenv("DLCOURSE_PROGRESS", "1")
    with open("small.txt", "w") as f:
        f.write("the cat sat on the mat\nthe dog sat on the log\n" * 300)
    loud = cli_run("embed", "train", "small.txt", "--out", "a", "--epochs", "2",
                   "--min-count", "1")
    quiet = cli_run("-q", "embed", "train", "small.txt", "--out", "b", "--epochs", "2",
                    "--min-count", "1")
    assert loud.code == quiet.code == 0
    assert "skipgram:" in loud.err                                         # the progress bar
    assert quiet.err == ""
    assert "model.safetensors" in quiet.out and "words_per_s" in quiet.out    # the result


def test_unknown_option_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["data", "list", "--bogus"])
    assert info.value.code == 2
    assert "No such option" in capsys.readouterr().err


def test_a_global_option_after_the_noun_says_where_it_goes(cli_run):
    result = cli_run("som", "-q", "train", "x.csv")
    assert result.code == 2 and result.err == (
        "error: No such option '-q'. -q is a global option: put it before the noun "
        "(dlcourse -q som ...)\n")
    result = cli_run("embed", "train", "x.txt", "--threads", "1")
    assert "(dlcourse --threads N embed ...)" in result.err


@pytest.mark.parametrize("args", [(), ("som",), ("text",)])
def test_a_noun_without_a_verb_shows_its_help(cli_run, args):
    # it was exit 2 and the whole help squeezed into one `error:` line
    result = cli_run(*args)
    assert result.code == 0 and result.err == ""
    assert result.out.startswith(f"Usage: {' '.join(('dlcourse',) + args)} [OPTIONS] COMMAND")
    assert "\nCommands:\n" in result.out


def test_data_fetch_offline_set_from_installed_packages(isolated_cache, capsys):
    main(["data", "fetch", "--no-download", "lee", "wordsim353"])
    out = capsys.readouterr().out
    assert (
        "lee:" in out and (isolated_cache / "datasets" / "wordsim353" / "wordsim353.tsv").exists()
    )


def test_tour_reports_each_chapter_and_survives_a_failure(tmp_path, monkeypatch):
    from dlcourse import tour

    good = types.ModuleType("fake_good")

    def run_good(report, out_dir, *, quick=False, device="auto"):
        report.section("Good chapter")
        report.table([{"metric": "accuracy", "value": 0.9}])
        (out_dir / "figure.png").write_bytes(b"png")
        report.image(out_dir / "figure.png", "a figure")

    good.run = run_good
    bad = types.ModuleType("fake_bad")
    bad.run = lambda report, out_dir, **kw: (_ for _ in ()).throw(RuntimeError("boom"))
    monkeypatch.setitem(sys.modules, "fake_good", good)
    monkeypatch.setitem(sys.modules, "fake_bad", bad)
    monkeypatch.setattr(
        tour,
        "CHAPTERS",
        [
            ("good", "fake_good", "Good"),
            ("bad", "fake_bad", "Bad"),
            ("gone", "fake_missing_module", "Gone"),
        ],
    )
    path, results = tour.run_tour(tmp_path, quick=True)
    assert [(r.key, r.status) for r in results] == [
        ("good", "ok"),
        ("bad", "failed"),
        ("gone", "missing"),
    ]
    markdown = (tmp_path / "report.md").read_text()
    assert "Good chapter" in markdown and "boom" in markdown and "good/figure.png" in markdown
    assert path.name == "report.html" and "<table>" in path.read_text()



def test_a_ctrl_c_outside_the_trainer_names_the_kept_checkpoint(tmp_path, monkeypatch):
    """Ctrl-C while a train command writes its last files (the trainer's own handler is done):
    the message says --resume finishes the run when a checkpoint is there, and that nothing was
    saved when none is (a stop while the data is read: --resume would be refused)."""
    from dlcourse.cli.main import _resume_hint

    monkeypatch.chdir(tmp_path)
    args = ["--threads", "1", "som", "train", "x.npy", "--out", "run"]
    # (it said "a run writes its first checkpoint once training is under way": a second Ctrl-C
    # during that first write met it with training well under way)
    assert _resume_hint(args) == ("; nothing was saved in run yet (before the run's first "
                                  "checkpoint): run the command again, without --resume")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "last.safetensors").write_bytes(b"x")
    assert "run/last.safetensors is kept: to continue, run: dlcourse --threads 1 som train " \
           "x.npy --out run --resume (or to finish" in _resume_hint(args)
    assert "--resume" in _resume_hint(["lm", "train", "lee", "--out=run"])
    assert _resume_hint(["som", "evaluate", "run"]) == ""             # not a train command


def test_entry_ends_the_process_at_once_with_the_status(monkeypatch, capsys):
    """``dlcourse`` skips Python's teardown (0.5-2 s after the last line) once its files are
    written: it ends through ``os._exit`` with main's status, stdout flushed first."""
    from dlcourse.cli import launch

    if sys.gettrace() is not None or sys.getprofile() is not None:
        pytest.skip("under a tracer or profiler entry() exits the usual way")

    class Ended(Exception):
        pass

    codes = []

    def end(code):
        codes.append(code)
        raise Ended

    import signal

    from dlcourse.engine import interrupt

    monkeypatch.setattr(launch.os, "_exit", end)
    monkeypatch.setattr(interrupt, "_program", False)  # entry sets it: undone after the test
    handler = signal.getsignal(signal.SIGINT)
    try:
        for argv, code in ((["text", "tokenize", "Hello, World!"], 0),
                           (["text", "tokenize", "--tokenizer", "nope", "x"], 2)):
            monkeypatch.setattr(sys, "argv", ["dlcourse", *argv])
            with pytest.raises(Ended):
                launch.entry()
            assert codes[-1] == code
            # from main's end to the exit a Ctrl-C is ignored (a traceback under the last line)
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, handler)
    assert capsys.readouterr().out == "hello , world !\n"


def test_output_on_a_pipe_is_whole_when_the_process_ends(tmp_path):
    texts = tmp_path / "texts.txt"
    texts.write_text("".join(f"line {i}, a short text\n" for i in range(20_000)))
    result = subprocess.run([sys.executable, "-m", "dlcourse", "text", "tokenize", "--file",
                             str(texts)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 20_000 and lines[-1] == "line 19999 , a short text"


@pytest.mark.parametrize("args, line", [
    (("embed", "train", "lee", "--limit", "0"), "--limit must be >= 1, got 0"),
    (("som", "evaluate", "x", "--seed", "-1"), "--seed must be between 0 and 4294967295, got -1"),
    (("lm", "generate", "x", "--temperature", "-1"), "--temperature must be >= 0, got -1.0"),
    (("lm", "generate", "x", "--temperature", "hot"), "--temperature must be a number, got 'hot'"),
    (("embed", "train", "lee", "--method", "foo"),
     "unknown --method 'foo'; choose one of skipgram, cbow, glove"),
    (("embed", "similar", "x", "w", "--top", "x"), "--top must be a whole number, got 'x'"),
    (("embed", "similar", "x", "w", "--topn=x"), "--topn must be a whole number, got 'x'"),
    (("embed", "train", "lee", "--limit", "lots"), "--limit must be a whole number or all, got "
                                                     "'lots'"),
    # it was Python's own "Stop argument for islice() must be None or an integer: ..."
    (("embed", "train", "lee", "--out", "o", "--limit", "99999999999999999999999"),
     "--limit must be <= 9223372036854775807, got 99999999999999999999999"),
    (("som", "train", "x.csv", "--limit", "-3"), "--limit must be >= 1, got -3"),
    # the settings' own checks name the spelling typed too (they said --max-lines, --lr)
    (("lm", "train", "wordnet", "--limit", "0", "--out", "o"), "--limit must be >= 1, got 0"),
    (("som", "train", "x.csv", "--learning-rate", "x", "--out", "o"),
     "--learning-rate must be a number, got 'x'"),
    (("classify", "train", "t.csv", "--dropout", "x", "--out", "o"),
     "--dropout must be a number or none, got 'x'"),
])
def test_clicks_bad_values_read_as_the_settings_checks_do(cli_run, args, line):
    # click said "Invalid value for '--limit': 0 is not in the range x>=1." where a setting's
    # own check says "--epochs must be >= 1, got 0"; one wording for one problem, the option
    # named as typed
    result = cli_run(*args)
    assert result.code == 2 and result.err == f"error: {line}\n"


def test_limit_all_is_the_default_it_shows(cli_run, workdir):
    # the help says [default: all]; typing it was refused
    Path("t.txt").write_text("a b\nc d\n", encoding="utf-8")
    assert cli_run("text", "vocab", "t.txt", "--limit", "all").out == \
        cli_run("text", "vocab", "t.txt").out
    assert cli_run("text", "tokenize", "--file", "t.txt", "--limit", "ALL").out == "a b\nc d\n"


def test_every_limit_takes_all(cli_run, workdir):
    # `--limit all` worked in text/embed/som but lm's --limit (a config field) refused it, as did
    # the max_* settings (--max-vocab, --max-len), whose "none" means the same
    for args in (("lm", "train", "gone.txt", "--limit", "all"),
                 ("lm", "evaluate", "gone", "--limit", "ALL"),
                 ("classify", "train", "gone.csv", "--max-len", "all", "--max-vocab", "all"),
                 ("embed", "train", "gone.txt", "--max-vocab", "all", "--out", "o")):
        result = cli_run(*args)
        assert result.code == 2 and "gone" in result.err and "all" not in result.err, args
    result = cli_run("lm", "train", "gone.txt", "--limit", "every")
    assert result.err == "error: --limit must be a whole number or all, got 'every'\n"
    # and the help names that default "all" everywhere (lm's --limit and the max_* settings
    # said [default: none])
    for verb, option in ((("lm", "train"), "--max-lines, --limit"),
                         (("embed", "train"), "--max-vocab"),
                         (("text", "vocab"), "--max-vocab, --max-size")):
        text = " ".join(cli_run(*verb, "--help").out.split())
        shown = text[text.index(option):].split("[default: ")[1].split("]")[0]
        assert shown == "all", (verb, option, shown)


def test_evaluate_and_plot_refuse_another_lessons_model_folder(cli_run, workdir):
    # train --out refused it; evaluate --out wrote evaluation.json beside an embed model
    assert cli_run("-q", "som", "train", "sklearn:iris", "--grid", "3x3", "--epochs", "2",
                   "--out", "s").code == 0
    assert cli_run("-q", "embed", "train", "lee", "--epochs", "1", "--dim", "8", "--workers",
                   "1", "--out", "e").code == 0
    before = sorted(p.name for p in Path("e").iterdir())
    for args in (("som", "evaluate", "s", "--out", "e"), ("som", "plot", "s", "--out", "e")):
        result = cli_run(*args)
        assert result.code == 2 and result.err == (
            "error: --out e holds an 'embed' model, not a 'som' one; use another folder\n")
    assert sorted(p.name for p in Path("e").iterdir()) == before
    assert cli_run("-q", "som", "evaluate", "s", "--out", "s").code == 0  # its own folder
    assert Path("s/evaluation.json").is_file()


@pytest.mark.parametrize("noun, data", [("som", "sklearn:iris"), ("embed", "lee"),
                                        ("lm", "lee"), ("classify", "rt-sentences"),
                                        ("vision", "mnist-5k")])
def test_dry_run_refuses_to_replace_a_trained_model(cli_run, workdir, noun, data):
    # the smoke test's one-epoch tiny model replaced a finished run's, after a note
    from dlcourse.engine.persist import read_manifest, write_state

    Path("run").mkdir()
    write_state(Path("run/model.safetensors"), {"lesson": noun, "estimator": "X"},
                {"w": np.zeros(2)})
    before = Path("run/model.safetensors").read_bytes()
    result = cli_run(noun, "train", data, "--out", "run", "--dry-run")
    assert result.code == 2 and result.err == (
        "error: --dry-run would replace the trained model in run with the smoke test's; give a "
        "new --out\n")
    assert Path("run/model.safetensors").read_bytes() == before
    assert read_manifest(Path("run/model.safetensors"))["lesson"] == noun


def test_under_torchrun_a_verb_other_than_train_runs_once(cli_run, workdir, monkeypatch):
    # torchrun -m dlcourse classify evaluate ... printed the whole result once per process
    assert cli_run("-q", "som", "train", "sklearn:iris", "--grid", "3x3", "--epochs", "2",
                   "--out", "s").code == 0
    alone = cli_run("som", "evaluate", "s")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    other = cli_run("som", "evaluate", "s")
    assert (other.code, other.out, other.err) == (0, "", "")
    monkeypatch.setenv("RANK", "0")
    first = cli_run("som", "evaluate", "s")
    assert first.code == 0 and first.out == alone.out
    assert first.err == ("note: evaluate ran in one process; torchrun's other 1 process ended "
                         "at once\n")
    # a usage error is its one line: the note came ahead of it
    refused = cli_run("som", "evaluate")
    refused.assert_user_error("Missing argument 'MODEL_DIR'")
    assert "note:" not in refused.err


@pytest.mark.parametrize("args", [("--version",), (), ("som",), ("lm", "train", "--help"),
                                  ("classify", "-h")])
def test_under_torchrun_help_and_the_version_print_once(cli_run, monkeypatch, args):
    # torchrun -m dlcourse lm --help printed the help once per process
    alone = cli_run(*args)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    other = cli_run(*args)
    assert (other.code, other.out, other.err) == (0, "", "")
    monkeypatch.setenv("RANK", "0")
    first = cli_run(*args)
    assert (first.code, first.out, first.err) == (alone.code, alone.out, alone.err)
    assert first.out


def test_a_renamed_data_set_is_noted_after_the_output_and_not_before_an_error(tmp_path):
    """`lm train wikitext2` offline printed "note: ... is now called 'wikitext-2'" and then
    its error line: a refused command's line is to stand alone. A command that works says it
    last. (A subprocess: the command line's own log handler holds the note.)"""
    import os
    import subprocess
    import sys

    def dlcourse(*args):
        return subprocess.run([sys.executable, "-m", "dlcourse", *args], capture_output=True,
                              text=True, cwd=tmp_path, timeout=300,
                              env={**os.environ, "DLCOURSE_OFFLINE": "1"})

    refused = dlcourse("-q", "lm", "train", "wikitext2", "--out", "o")
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith("error: data set 'wikitext-2' is not available")
    assert "note:" not in refused.stderr
    ok = dlcourse("data", "info", "mnist5k")
    assert ok.returncode == 0 and "mnist-5k" in ok.stdout, ok.stderr
    assert ok.stderr == ("note: 'mnist5k' is now called 'mnist-5k' (the name `dlcourse data "
                         "list` shows)\n")
