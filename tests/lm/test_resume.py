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
    refused.assert_user_error(r"cannot resume A: it was trained with embed_dim=32")
