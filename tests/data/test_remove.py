"""`dlcourse data remove` and the sizes `data list` shows, as a user types them, on a cache of
real fetched sets; and a closed pipe on stdout (`dlcourse data list | head -3`)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dlcourse.data import UrlSource, dataset_dir, get_dataset, is_available
from dlcourse.data.cache import download_path


def _fake_download(name: str) -> tuple:
    """Files an online data set would leave (its folder's file and its downloaded archive),
    written by hand so that no test downloads."""
    folder = dataset_dir(name)
    folder.mkdir(parents=True)
    (folder / "part.txt").write_bytes(b"x" * 3000)
    archive = download_path(next(s for s in get_dataset(name).sources
                                 if isinstance(s, UrlSource)))
    archive.parent.mkdir(parents=True, exist_ok=True)
    archive.write_bytes(b"y" * 2000)
    return folder, archive


def test_remove_frees_a_set_and_fetch_brings_it_back(isolated_cache, cli_run):
    assert cli_run("data", "fetch", "wordsim353", "glove-test").code == 0
    listed = cli_run("data", "list").out
    row = next(line for line in listed.splitlines() if line.startswith("wordsim353 "))
    assert row.split()[1] == "yes" and row.split()[3] == "kB"  # size column: "7.4 kB"
    assert f"cache {isolated_cache}:" in listed.splitlines()[-1]

    result = cli_run("data", "remove", "wordsim353")
    assert result.code == 0 and result.out.startswith("removed wordsim353 (")
    assert not dataset_dir("wordsim353").exists() and is_available("glove-test")
    row = next(line for line in cli_run("data", "list").out.splitlines()
               if line.startswith("wordsim353 "))
    assert row.split()[1] == "no"
    again = cli_run("data", "remove", "wordsim353")  # idempotent, as rm -f
    assert again.code == 0 and "not in the cache, nothing to remove" in again.out
    assert cli_run("data", "fetch", "wordsim353").code == 0 and is_available("wordsim353")


def test_remove_takes_the_downloaded_archive_too(isolated_cache, cli_run):
    folder, archive = _fake_download("ptb")
    partial = archive.with_name(archive.name + ".part")  # an interrupted download of it
    partial.write_bytes(b"p" * 1000)
    row = next(line for line in cli_run("data", "list").out.splitlines()
               if line.startswith("ptb "))
    assert row.split()[1:4] == ["no", "6.0", "kB"]  # not complete, but taking disk
    result = cli_run("data", "remove", "ptb")
    assert result.code == 0 and result.out.strip() == "removed ptb (6.0 kB)"
    assert not folder.exists() and not archive.exists() and not partial.exists()


def test_bad_requests_remove_nothing(isolated_cache, cli_run):
    assert cli_run("data", "fetch", "wordsim353").code == 0
    cli_run("data", "remove", "wordsim353", "no-such-set").assert_user_error(
        "unknown data set 'no-such-set'")
    cli_run("data", "remove").assert_user_error("name one or more data sets")
    cli_run("data", "remove", "--all", "wordsim353").assert_user_error(
        r"--all removes every data set and store; drop data set names \(or --all\)")
    # it said "name none with it" where none was named
    cli_run("data", "remove", "--all", "--derived").assert_user_error(r"; drop --derived \(or")
    assert is_available("wordsim353")


def test_derived_and_all_touch_only_dlcourse_folders(isolated_cache, cli_run):
    assert cli_run("data", "fetch", "wordsim353").code == 0
    for folder in ("features", "minilm-words/v2-100"):
        (isolated_cache / folder).mkdir(parents=True)
        (isolated_cache / folder / "store.bin").write_bytes(b"z" * 1500)
    mine = isolated_cache / "notes.txt"  # a user's own file in DLCOURSE_HOME
    mine.write_text("keep me")

    result = cli_run("data", "remove", "--derived")
    assert result.code == 0 and result.out.splitlines()[-1] == "3.0 kB freed"
    assert not (isolated_cache / "features").exists()
    assert not (isolated_cache / "minilm-words").exists() and is_available("wordsim353")

    result = cli_run("data", "remove", "--all")
    assert result.code == 0 and result.out.startswith(f"removed everything in {isolated_cache}")
    assert sorted(p.name for p in isolated_cache.iterdir()) == ["notes.txt"]
    assert mine.read_text() == "keep me"
    again = cli_run("data", "remove", "--all")
    assert again.code == 0 and "holds nothing of dlcourse's: nothing to remove" in again.out


def test_a_closed_pipe_ends_quietly(isolated_cache):
    # the reader is gone before the command writes: every write fails with EPIPE
    env = {**os.environ, "DLCOURSE_HOME": str(isolated_cache)}
    child = subprocess.Popen([sys.executable, "-m", "dlcourse", "data", "list"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    child.stdout.close()
    err = child.stderr.read().decode()
    assert child.wait(timeout=60) == 141 and err == ""


def test_every_derived_store_is_in_the_help_and_the_cache_layout():
    from dlcourse.cli.data import DERIVED_HELP
    from dlcourse.data.cache import DERIVED_FOLDERS, cache_folder

    assert DERIVED_HELP == ", ".join(DERIVED_FOLDERS.values())
    with pytest.raises(ValueError, match="add it to CACHE_FOLDERS"):
        cache_folder("elsewhere")
