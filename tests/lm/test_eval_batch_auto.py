"""An ``eval_batch_size`` left unset (None) is resolved from the data by ``fit`` as ``lm train``
resolves it: 10 streams, or the most a short valid or test split holds, with one note; the
value used is recorded (``eval_batch_size_``, the saved model's config, the checkpoints), so a
reload measures alike and a resumed run equals the uninterrupted one. A value set that the
splits cannot hold is still refused."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from dlcourse.engine.checkpoint import load_checkpoint
from dlcourse.engine.persist import read_manifest
from dlcourse.errors import ConfigError, DlcourseError, TrainingInterrupted
from dlcourse.lm import LanguageModel, LMConfig, load_corpus
from dlcourse.lm.config import EVAL_BATCH_SIZE, auto_eval_streams

# a short local news story, one sentence a line: the first 12 lines split (seed 0) into 146
# train, 13 valid and 16 test tokens, so the valid split holds 6 streams, not the default 10;
# all 18 lines leave 27 valid and 32 test tokens, which hold 10
STORY = """\
The council voted on Tuesday to repair the old bridge over the river.
Work on the bridge will start in the spring and last about six months.
Residents said the closure would add twenty minutes to their drive to work.
The mayor said the town could not wait any longer for the repairs.
A local shop owner worried that fewer people would visit the market.
The bridge was built in 1932 and last repaired in the 1980s.
Engineers found cracks in two of the supports during an inspection last year.
The state will pay for most of the work, the council said.
Buses will run a free service across the new temporary crossing.
Schools near the river will change their hours while the work goes on.
The council will hold a public meeting about the plans next week.
Some residents asked why the work could not be done at night.
The mayor said night work would cost more and take longer.
Police will close the road to traffic from the first of March.
Cyclists and people on foot will still be able to cross the bridge.
The town last closed the bridge for a week after a flood in 2011.
Farmers said they hoped the work would be done before the harvest.
The council said it would post updates on its website every week.
"""
NOTE = ("eval_batch_size 10 is more streams than the valid and test splits hold (13 tokens, two "
        "a stream): measuring with 6")
# the tiny_config network as `lm train` options
CLI_ARGS = ("--threads", "1", "lm", "train", "small.txt", "--embed-dim", "32", "--hidden-dim",
            "32", "--layers", "1", "--dropout", "0", "--batch-size", "8", "--bptt", "20",
            "--device", "cpu")


@pytest.fixture(scope="module")
def story_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("story")
    lines = STORY.splitlines(keepends=True)
    (folder / "small.txt").write_text("".join(lines[:12]))
    (folder / "story.txt").write_text(STORY)
    return folder


@pytest.fixture(scope="module")
def small(story_files):
    corpus = load_corpus(story_files / "small.txt")
    assert [getattr(corpus, s).numel() for s in ("train", "valid", "test")] == [146, 13, 16]
    return corpus


@pytest.fixture(scope="module")
def story(story_files):
    corpus = load_corpus(story_files / "story.txt")
    assert [getattr(corpus, s).numel() for s in ("valid", "test")] == [27, 32]
    return corpus


def notes(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("note:")]


def test_the_default_is_left_to_the_data_and_resolved_in_one_place():
    assert LMConfig().eval_batch_size is None and EVAL_BATCH_SIZE == 10
    assert LMConfig().validate().eval_batch_size is None  # None is a valid value: "auto"
    config, note = auto_eval_streams(LMConfig(), {"train": 146, "valid": 13, "test": 16})
    assert (config.eval_batch_size, note) == (6, NOTE)
    config, note = auto_eval_streams(LMConfig(), {"valid": 27, "test": 32})
    assert (config.eval_batch_size, note) == (10, None)
    config, note = auto_eval_streams(LMConfig(), {"valid": 9}, "--eval-batch-size")
    assert (config.eval_batch_size, note) == (4, "--eval-batch-size 10 is more streams than the "
                                                 "valid split holds (9 tokens, two a stream): "
                                                 "measuring with 4")
    set_ = LMConfig(eval_batch_size=10)  # a value set is kept (check_streams judges it)
    assert auto_eval_streams(set_, {"valid": 9}) == (set_, None)
    # a run left to the data compares the streams fit resolved, not None
    assert "eval_batch_size" not in LMConfig().resume_values()
    assert LMConfig(eval_batch_size=4).resume_values()["eval_batch_size"] == 4


def test_fit_on_a_small_text_lowers_the_default_with_one_note(small, tiny_config, caplog):
    lm = LanguageModel(tiny_config(epochs=1))
    with caplog.at_level(logging.WARNING, logger="dlcourse"):
        lm.fit(small)
    assert notes(caplog) == [f"note: {NOTE}"]
    # the setting stays the user's (None: a refit resolves again); the value used is learned
    assert (lm.config.eval_batch_size, lm.eval_batch_size_) == (None, 6)
    assert 1 < lm.history_[0]["valid_ppl"] < float("inf")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dlcourse"):
        figures = lm.evaluate(small)  # 6 streams fit both splits: nothing more to note
    assert not notes(caplog) and all(1 < figures[k] < float("inf")
                                     for k in ("valid_ppl", "test_ppl"))


def test_a_value_set_too_large_is_still_refused_and_one_that_fits_is_kept(small, tiny_config,
                                                                          caplog):
    for streams in (10, 7):
        with pytest.raises(ConfigError, match=rf"^eval_batch_size {streams} is more streams than "
                                              r"the valid split of '.*small.txt' holds: its 13 "
                                              r"tokens make at most 6 \(two tokens a stream\); "
                                              r"lower it or give more text$"):
            LanguageModel(tiny_config(epochs=1, eval_batch_size=streams)).fit(small)
    with caplog.at_level(logging.WARNING, logger="dlcourse"):
        lm = LanguageModel(tiny_config(epochs=1, eval_batch_size=4)).fit(small)
    assert not notes(caplog)
    assert (lm.config.eval_batch_size, lm.eval_batch_size_) == (4, 4)


def test_the_saved_model_holds_the_streams_used_and_a_refit_resolves_again(
        small, story, tiny_config, tmp_path):
    lm = LanguageModel(tiny_config(epochs=1)).fit(small, out_dir=tmp_path / "small")
    assert read_manifest(tmp_path / "small" / "model.safetensors")["config"][
        "eval_batch_size"] == 6
    assert load_checkpoint(tmp_path / "small" / "last.pt")["config"]["eval_batch_size"] == 6
    assert lm.config.eval_batch_size is None  # saving did not change the setting
    loaded = LanguageModel.load(tmp_path / "small", device="cpu")
    assert (loaded.config.eval_batch_size, loaded.eval_batch_size_) == (6, 6)
    assert loaded.perplexity(small.test) == lm.perplexity(small.test)
    assert loaded.evaluate(small) == lm.evaluate(small)
    # the same estimator on a longer text: the default 10 again, not the small text's 6
    assert lm.fit(story).eval_batch_size_ == EVAL_BATCH_SIZE


def test_the_api_trains_what_lm_train_trains_on_a_small_text(small, tiny_config, story_files,
                                                             cli_run, workdir, same_run):
    from safetensors.torch import load_file

    Path("small.txt").write_text((story_files / "small.txt").read_text())
    result = cli_run(*CLI_ARGS, "--epochs", "1", "--out", "cli")
    assert result.code == 0, result.err
    # the command's note is unchanged, and fit, given the resolved value, notes nothing more
    assert ("note: --eval-batch-size 10 is more streams than the valid and test splits hold (13 "
            "tokens, two a stream): measuring with 6") in result.err
    assert "note: eval_batch_size" not in result.err
    LanguageModel(tiny_config(epochs=1)).fit(small, out_dir="api")
    same_run.tensors(load_file("cli/model.safetensors"), load_file("api/model.safetensors"),
                     "model")
    configs = [read_manifest(f"{run}/model.safetensors")["config"] for run in ("cli", "api")]
    assert configs[0]["eval_batch_size"] == configs[1]["eval_batch_size"] == 6
    # "none" typed is the default
    typed = cli_run(*CLI_ARGS, "--epochs", "1", "--eval-batch-size", "none", "--out", "none")
    assert typed.code == 0 and "measuring with 6" in typed.err, typed.err


def test_help_shows_the_default_the_command_uses(cli_run):
    import click

    from dlcourse.cli.lm import train

    ctx = click.Context(train)
    option = next(p for p in train.params if p.name == "eval_batch_size")
    assert option.get_help_record(ctx)[1].endswith("[default: 10, fewer on a short text]")


def test_an_interrupted_run_left_to_the_data_resumes_to_the_same_model(
        small, tiny_config, tmp_path, monkeypatch, same_run):
    # bptt 4: five windows an epoch, so the stop falls inside epoch 2
    config = tiny_config(epochs=3, bptt=4, dropout=0.1, patience=None)
    full = LanguageModel(config).fit(small, out_dir=tmp_path / "full")
    part = tmp_path / "part"
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "7")
    with pytest.raises(TrainingInterrupted, match="epoch 2 after 2 batches"):
        LanguageModel(config).fit(small, out_dir=part)
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    assert load_checkpoint(part / "last.pt")["config"]["eval_batch_size"] == 6
    # a value set that differs from the one the run resolved is refused, naming both
    with pytest.raises(DlcourseError, match=r"trained with eval_batch_size=6, this run asks for "
                                            r"5"):
        LanguageModel(config.replace(eval_batch_size=5)).fit(small, out_dir=part, resume=True)
    resumed = LanguageModel(config).fit(small, out_dir=part, resume=True)
    same_run.tensors(full.model_.state_dict(), resumed.model_.state_dict(), "best")
    same_run.tensors(load_checkpoint(tmp_path / "full" / "last.pt")["model"],
                     load_checkpoint(part / "last.pt")["model"], "last")
    assert same_run.history(resumed.history_) == same_run.history(full.history_)
    assert resumed.eval_batch_size_ == full.eval_batch_size_ == 6


def test_lm_train_resumes_a_run_left_to_the_data(story_files, cli_run, workdir, monkeypatch,
                                                 same_run):
    from safetensors.torch import load_file

    Path("small.txt").write_text((story_files / "small.txt").read_text())
    args = (*CLI_ARGS, "--epochs", "3", "--bptt", "4")
    assert cli_run(*args, "--out", "B").code == 0
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "7")
    assert cli_run(*args, "--out", "A").code == 130
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    # the check before reading the data has no streams to compare yet: fit compares them
    resumed = cli_run(*args, "--out", "A", "--resume")
    assert resumed.code == 0, resumed.err
    assert "measuring with 6" in resumed.err
    same_run.tensors(load_file("A/model.safetensors"), load_file("B/model.safetensors"), "model")
    cli_run(*args, "--eval-batch-size", "5", "--out", "A", "--resume").assert_user_error(
        "cannot resume A: it was trained with --eval-batch-size 6, this run asks for 5")
