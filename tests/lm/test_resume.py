"""Exact resume: a run interrupted inside an epoch (DLCOURSE_INTERRUPT_AFTER) and resumed ends
with the same tensors, bit for bit, and the same history as the run never interrupted."""

from __future__ import annotations

import json

import pytest

from dlcourse.engine.checkpoint import load_checkpoint
from dlcourse.errors import DlcourseError, TrainingInterrupted
from dlcourse.lm import LanguageModel


@pytest.mark.parametrize("model, overrides", [
    ("lstm", dict(dropout=0.1)),  # dropout: the RNG after the last window must be restored
    ("embedding", dict(shuffle=True, lr=1e-2)),  # shuffled window order drawn per epoch
])
def test_interrupted_twice_inside_epochs_and_resumed_equals_uninterrupted(
        model, overrides, lee_corpus, tiny_config, tmp_path, monkeypatch, same_run):
    config = tiny_config(model, patience=None, **overrides)
    full = LanguageModel(config).fit(lee_corpus, out_dir=tmp_path / "full")

    part = tmp_path / "part"
    # the guard counts the steps of each process: 30 windows into epoch 1 (of 76), then the
    # other 46 and 54 windows into epoch 2, resumed from a resumed run
    for steps, where in ((30, "epoch 1 after 30 batches"), (100, "epoch 2 after 54 batches")):
        monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", str(steps))
        with pytest.raises(TrainingInterrupted, match=where):
            LanguageModel(config).fit(lee_corpus, out_dir=part, resume=(part / "last.pt").exists())
        position = load_checkpoint(part / "last.pt")["position"]
        carried = position["extra"]
        if model == "lstm":  # the hidden state of the 8 streams at the stop: (layers, B, H)
            assert carried["h"].shape == carried["c"].shape == (1, 8, 32)
        else:
            assert carried == {}
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    resumed = LanguageModel(config).fit(lee_corpus, out_dir=part, resume=True)

    same_run.tensors(load_checkpoint(tmp_path / "full" / "last.pt")["model"],
                        load_checkpoint(part / "last.pt")["model"], "model")
    same_run.tensors(load_checkpoint(tmp_path / "full" / "last.pt")["optimizer"],
                        load_checkpoint(part / "last.pt")["optimizer"], "optimizer")
    same_run.tensors(full.model_.state_dict(), resumed.model_.state_dict(), "best")
    # train_loss of the twice-resumed epochs covers the whole epoch, not the windows after it
    assert same_run.history(resumed.history_) == same_run.history(full.history_)
    assert same_run.history(json.loads((part / "history.json").read_text())) == same_run.history(
        full.history_)


def test_resume_with_other_settings_is_refused(lee_corpus, tiny_config, tmp_path, monkeypatch):
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "10")
    with pytest.raises(TrainingInterrupted):
        LanguageModel(tiny_config()).fit(lee_corpus, out_dir=tmp_path)
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    bigger = tiny_config(embed_dim=48, hidden_dim=48)
    with pytest.raises(DlcourseError, match="trained with embed_dim=32, this run asks for 48"):
        LanguageModel(bigger).fit(lee_corpus, out_dir=tmp_path, resume=True)
    # more epochs, another device and another patience (they only decide where and how long
    # the run goes on) are fine: the run continues
    longer = LanguageModel(tiny_config(epochs=3, device="auto", patience=4)).fit(
        lee_corpus, out_dir=tmp_path, resume=True)
    assert [h["epoch"] for h in longer.history_] == [1, 2, 3]


def test_cli_interrupt_and_resume_equals_the_uninterrupted_command(cli_run, workdir,
                                                                    monkeypatch, same_run):
    from safetensors.torch import load_file

    args = ["--threads", "1", "lm", "train", "lee", "--max-lines", "60", "--embed-dim", "32",
            "--hidden-dim", "32", "--layers", "1", "--batch-size", "8", "--bptt", "20",
            "--epochs", "2", "--device", "cpu"]
    assert cli_run(*args, "--out", "B").code == 0
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "40")
    stopped = cli_run(*args, "--out", "A")
    assert stopped.code == 130
    assert "interrupted in epoch 1 after 40 batches" in stopped.err and "--resume" in stopped.err
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    assert cli_run(*args, "--out", "A", "--resume").code == 0
    a, b = load_file("A/model.safetensors"), load_file("B/model.safetensors")
    same_run.tensors(a, b, "model.safetensors")
    history = [same_run.history(json.loads(open(f"{run}/history.json").read())) for run in "AB"]
    assert history[0] == history[1]
    metrics = [json.loads(open(f"{run}/metrics.json").read()) for run in "AB"]
    assert metrics[0]["test_ppl"] == metrics[1]["test_ppl"]

    refused = cli_run(*args, "--hidden-dim", "48", "--embed-dim", "48", "--out", "A", "--resume")
    refused.assert_user_error(r"cannot resume A: it was trained with --embed-dim 32")


def test_resume_on_other_data_of_the_same_vocabulary_size_is_refused(tmp_path, monkeypatch,
                                                                      tiny_config):
    """The tokenizer, the lines or the words of the vocabulary changed while its size did not
    (a --max-vocab every corpus fills): the refusal names what changed."""
    import dataclasses

    from dlcourse.lm import load_corpus

    def corpus(**options):
        return load_corpus("lee", **{"max_lines": 60, "max_size": 200, **options})

    trained_on = corpus()
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "10")
    with pytest.raises(TrainingInterrupted):
        LanguageModel(tiny_config()).fit(trained_on, out_dir=tmp_path)
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    swapped = list(trained_on.itos)
    swapped[3], swapped[4] = swapped[4], swapped[3]  # two words' ids exchanged
    for other, match in [
            (corpus(tokenizer="whitespace"), r"trained with tokenizer=\{'name': 'basic_english'"),
            (corpus(max_lines=59), "trained with max_lines=60, this run asks for 59"),
            (corpus(min_freq=3), "trained with min_freq=2, this run asks for 3"),
            # the words themselves: "other data" in the classifier's words, not a field's hash
            (dataclasses.replace(trained_on, itos=swapped),
             r"trained on other data \(12,160 training tokens, a vocabulary of 203 words, "
             r"sha256 [0-9a-f]{16}\), this run reads 12,160 training tokens")]:
        assert len(other.itos) == len(trained_on.itos) == 203
        with pytest.raises(DlcourseError, match=match):
            LanguageModel(tiny_config()).fit(other, out_dir=tmp_path, resume=True)
    assert len(LanguageModel(tiny_config()).fit(trained_on, out_dir=tmp_path,
                                                resume=True).history_) == 2


def test_cli_resume_with_other_data_options_is_refused_before_reading(cli_run, workdir,
                                                                      monkeypatch):
    args = ["--threads", "1", "lm", "train", "lee", "--dry-run", "--max-vocab", "100",
            "--device", "cpu", "--out", "A"]
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "3")
    assert cli_run(*args).code == 130
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    import dlcourse.lm.corpus

    def unread(*args, **kwargs):
        raise AssertionError("the corpus was read")

    monkeypatch.setattr(dlcourse.lm.corpus, "load_corpus", unread)
    for option, match in [(("--tokenizer", "whitespace"), r"tokenizer=\{'name': 'basic_english'"),
                          (("--limit", "50"), r"--limit 100, this run asks for 50"),
                          (("--min-count", "3"), r"--min-count 2, this run asks for 3"),
                          (("--max-size", "99"), r"--max-size 100, this run asks for 99"),
                          (("--encoding", "latin-1"), r"--encoding 'utf-8', this run asks for")]:
        cli_run(*args, *option, "--resume").assert_user_error(
            rf"cannot resume A: it was trained with {match}")


def test_cli_resumes_from_a_copy_of_the_text_and_refuses_an_edited_one(cli_run, workdir,
                                                                      monkeypatch):
    # a moved or copied corpus file: the run was refused by its old path ("trained on other
    # data (/old/path)"); the text decides, as in classify and embed
    import shutil
    from pathlib import Path

    from dlcourse.data.readers import read_lee

    lines = [line for line in read_lee() if line.strip()][:400]
    Path("a").mkdir()
    Path("a/text.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["--threads", "1", "lm", "train", "--dry-run", "--device", "cpu", "--out", "run"]
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "3")
    assert cli_run(*args[:4], "a/text.txt", *args[4:]).code == 130
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    Path("b").mkdir()
    shutil.copy("a/text.txt", "b/text.txt")
    # the smoke test reads the first 100 lines: the edit is among them
    Path("b/edited.txt").write_text("an edited line\n" + "\n".join(lines[1:]) + "\n",
                                    encoding="utf-8")
    edited = cli_run(*args[:4], "b/edited.txt", *args[4:], "--resume")
    edited.assert_user_error("it was trained on other data")
    resumed = cli_run(*args[:4], "b/text.txt", *args[4:], "--resume")
    assert resumed.code == 0, resumed.err
    assert json.loads(Path("run/metrics.json").read_text())["data"].endswith("b/text.txt")
