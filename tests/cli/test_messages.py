"""Command-line messages say what the command line accepts and how to type it there:

- ``text vocab --max-vocab -1`` names the range the command takes (1 or more, or none), not the
  Python API's ``>= 0`` (0 is refused by the command too);
- an absent GPU (``--device cuda``) is refused with a hint for the command line (``--device cpu``
  or ``--device auto``), not the Python API's ``device="cpu"``;
- an old option spelling whose value is refused gives the one ``error:`` line alone, without its
  deprecation note (which still shows when the command runs).
"""

from __future__ import annotations

from pathlib import Path

import pytest


def _err_lines(result) -> list[str]:
    return [line for line in result.err.splitlines() if line.strip()]


# ---- text vocab --max-vocab --------------------------------------------------------------------
@pytest.mark.parametrize("option, value, match", [
    ("--max-vocab", "-1", "--max-vocab must be >= 1, or none to keep every token, got -1"),
    ("--max-size", "-7", "--max-size must be >= 1, or none to keep every token, got -7"),
    ("--max-vocab", "0", "--max-vocab 0 keeps no token; give 1 or more, or none for all"),
])
def test_vocab_max_vocab_names_the_range_the_command_takes(cli_run, workdir, option, value,
                                                            match):
    Path("ok.txt").write_text("one two\nthree four\n")
    result = cli_run("text", "vocab", "ok.txt", option, value)
    result.assert_user_error()
    assert _err_lines(result) == [f"error: {match}"]


@pytest.mark.parametrize("value, size", [("1", 3), ("none", 6)])
def test_vocab_max_vocab_accepts_what_the_message_says(cli_run, workdir, value, size):
    Path("ok.txt").write_text("one two\nthree four\n")
    result = cli_run("text", "vocab", "ok.txt", "--max-vocab", value, "--top", "0")
    assert result.code == 0, result.err
    assert f"vocabulary of {size} (2 specials)" in result.out


def test_vocab_config_of_the_python_api_still_takes_zero():
    from dlcourse.errors import ConfigError
    from dlcourse.text.config import VocabConfig

    assert VocabConfig(max_size=0).validate().max_size == 0
    with pytest.raises(ConfigError, match="max_size must be >= 0"):
        VocabConfig(max_size=-1).validate()


# ---- --device of an absent GPU -----------------------------------------------------------------
@pytest.fixture
def no_cuda(monkeypatch):
    """This machine without CUDA, whatever it has."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


CLI_HINT = "(--device cpu, or --device auto, which takes a GPU only when there is one)"


def test_engine_message_is_translated_for_the_command_line(no_cuda):
    from dlcourse.cli.common import check_device, cli_device_message
    from dlcourse.engine.device import resolve_device
    from dlcourse.errors import DlcourseError

    with pytest.raises(DlcourseError) as api:  # the Python API keeps its own hint
        resolve_device("cuda")
    assert 'device="cpu"' in str(api.value)
    assert cli_device_message(str(api.value)) == (
        f"device 'cuda' asked for but CUDA is not available; use the CPU {CLI_HINT}")
    with pytest.raises(DlcourseError) as cli:
        check_device("cuda:0")
    assert 'device="cpu"' not in str(cli.value) and CLI_HINT in str(cli.value)
    assert check_device("cpu") == "cpu" and check_device("auto") == "auto"
    assert cli_device_message("unknown device 'gpu'") == "unknown device 'gpu'"


def test_device_option_refusal_speaks_of_the_option(cli_run, workdir, no_cuda):
    result = cli_run("--threads", "1", "tour", "--device", "cuda", "--quick", "--only", "text",
                     "--out", "o8")
    result.assert_user_error()
    assert _err_lines(result) == [
        f"error: device 'cuda' asked for but CUDA is not available; use the CPU {CLI_HINT}"]
    assert workdir() == set()


def test_device_option_refuses_an_absent_gpu_before_the_model_is_read(cli_run, workdir, no_cuda):
    """lm evaluate --device cuda: refused as the command line is read, with the option's hint
    (it was the engine's, naming device="cpu")."""
    Path("model").mkdir()
    result = cli_run("lm", "evaluate", "--device", "cuda", "model")
    result.assert_user_error(r"CUDA is not available")
    assert 'device="cpu"' not in result.err and CLI_HINT in result.err


# ---- old spellings with a bad value ------------------------------------------------------------
@pytest.mark.parametrize("args, error", [
    (("text", "vocab", "--dataset", "missing.txt"), "error: DATA missing.txt does not exist"),
    (("text", "vocab", "--dataset", "ok.txt", "--max-vocab", "-1"),
     "error: --max-vocab must be >= 1, or none to keep every token, got -1"),
    (("vision", "train", "--data", "nosuch", "--out", "run"),
     "error: DATA 'nosuch' is neither a data set (cifar-10, cifar-100, fashion-mnist, mnist-5k) "
     "nor an image folder that exists"),
])
def test_old_spelling_with_a_bad_value_is_one_error_line_without_note(cli_run, workdir, args,
                                                                       error):
    Path("ok.txt").write_text("one two\nthree four\n")
    result = cli_run(*args)
    result.assert_user_error()
    assert _err_lines(result) == [error]  # no "note: '--dataset ...' is deprecated" before it


def test_old_spelling_that_runs_still_gets_its_note_at_the_end(cli_run, workdir):
    Path("ok.txt").write_text("one two\nthree four\n")
    result = cli_run("text", "vocab", "--dataset", "ok.txt", "--top", "1")
    assert result.code == 0, result.err
    notes = [line for line in _err_lines(result) if line.startswith("note:")]
    assert notes == ["note: '--dataset ok.txt' is deprecated; write 'dlcourse text vocab "
                     "ok.txt ...'"]
    assert _err_lines(result)[-1] == notes[0]  # after the command's own output on stderr
    assert "vocabulary of 6" in result.out


def test_old_spelling_note_shows_when_the_command_prints_nothing(capsys):
    """A command that succeeds without output still gets its note, at its end."""
    import click

    from dlcourse.cli.old_spellings import OldSpellings

    @click.command(cls=OldSpellings, old_spellings=("--name",))
    @click.argument("name")
    def quiet(name):
        if name == "bad":
            raise click.UsageError("bad NAME")

    with quiet.make_context("quiet", ["--name", "x"]) as ctx:
        quiet.invoke(ctx)
    assert capsys.readouterr().err == ("note: '--name x' is deprecated; write "
                                       "'quiet x ...'\n")
    with pytest.raises(click.UsageError):
        with quiet.make_context("quiet", ["--name", "bad"]) as ctx:
            quiet.invoke(ctx)
    assert capsys.readouterr().err == ""


def test_note_outside_a_command_prints_at_once(capsys):
    from dlcourse.cli.common import note_deprecated

    note_deprecated("--old 1", "'--new 1'")
    assert capsys.readouterr().err == "note: '--old 1' is deprecated; write '--new 1'\n"


def test_tables_stay_aligned_with_wide_characters_and_line_breaks(capsys):
    # a CJK word shifted its row's columns (len counts a wide character once); a text with a
    # line break (classify predict --file) split its row in two
    from dlcourse.cli.tables import echo_table

    echo_table([{"word": "日本語", "cosine": 0.5}, {"word": "café", "cosine": 0.25},
                {"word": "two\nlines\tand a tab", "cosine": 1.0}])
    from dlcourse.cli.tables import display_width

    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and lines[4].startswith("two lines and a tab ")
    # the numbers end in the header's last column on a terminal: 日本語 takes 6 columns
    assert {display_width(line) for line in lines} == {display_width(lines[0])}
    # "0.5" ends where "0.25" does, 3 characters fewer before it than display columns
    assert lines[2].index("0.5") == lines[3].index("0.25") - 2


def test_a_column_groups_its_digits_alike(capsys):
    # "text vocab" printed 14,895 above 5006 in one column; a column of small numbers stays
    # plain (an id or an epoch of 1234 is no amount)
    from dlcourse.cli.tables import echo_table

    echo_table([{"id": 1234, "count": 14_895, "rate": 82_381.4},
                {"id": 1235, "count": 5006, "rate": 9070.2}])
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    assert rows == [["1234", "14,895", "82,381"], ["1235", "5,006", "9,070"]]
