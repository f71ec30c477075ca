"""Exact resume: a run interrupted inside an epoch (DLCOURSE_INTERRUPT_AFTER) and resumed ends
with the same tensors, bit for bit, and the same history as the run never interrupted. Dropout,
word dropout and the batch order are random, so this holds only if each comes from the state the
engine restores."""

from __future__ import annotations

import json

import pytest

from dlcourse.classify import TextClassifier
from dlcourse.engine.checkpoint import load_checkpoint
from dlcourse.errors import ConfigError, DlcourseError, TrainingInterrupted

# every source of randomness a step has: dropout masks, word dropout, the adversarial step (no
# draws of its own, but a second forward with dropout), shuffled batches; the CNN also trains
# word2vec at fit time and decays its learning rate per step
RANDOM = dict(word_dropout=0.2, adversarial=1.0, epochs=3, patience=None)
CASES = [
    ("gru", dict(dropout=0.3)),
    ("cnn", dict(hidden_size=8, dropout=0.5, pretrained="word2vec", schedule="cosine")),
    # a tiny random BERT on minilm's WordPiece vocabulary, AdamW with warm-up and decay
    ("minilm", dict(tokenizer="wordpiece", pretrained=None, hidden_size=16, num_layers=1,
                    num_heads=2, dropout=0.1, max_len=32, schedule="warmup",
                    weight_decay=0.01)),
]


@pytest.mark.parametrize("model, overrides", CASES, ids=[m for m, _ in CASES])
def test_interrupted_twice_inside_epochs_and_resumed_equals_uninterrupted(
        model, overrides, pang_lee_split, tiny, tmp_path, monkeypatch, same_run):
    train, valid = pang_lee_split
    config = dict(tiny, model=model, **RANDOM, **overrides)
    full = TextClassifier(**config).fit(*train, valid=valid, out_dir=tmp_path / "full")

    part = tmp_path / "part"
    # 160 texts in batches of 32: 5 steps an epoch. The guard counts the steps of each call:
    # 3 into epoch 1, then the other 2 and 2 into epoch 2, resumed from a resumed run
    for steps, where in ((3, "epoch 1 after 3 batches"), (4, "epoch 2 after 2 batches")):
        monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", str(steps))
        with pytest.raises(TrainingInterrupted, match=where):
            TextClassifier(**config).fit(*train, valid=valid, out_dir=part,
                                         resume=(part / "last.pt").exists())
        assert load_checkpoint(part / "last.pt")["position"] is not None  # a mid-epoch stop
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    resumed = TextClassifier(**config).fit(*train, valid=valid, out_dir=part, resume=True)

    done, again = load_checkpoint(tmp_path / "full" / "last.pt"), load_checkpoint(part / "last.pt")
    for key in ("model", "optimizer", "scheduler", "rng"):
        same_run.tensors(done[key], again[key], key)
    same_run.tensors(full.model_.state_dict(), resumed.model_.state_dict(), "best")
    # train_loss of the resumed epochs covers the whole epoch, not the batches after the stop
    assert same_run.history(resumed.history_) == same_run.history(full.history_)
    assert same_run.history(json.loads((part / "history.json").read_text())) == same_run.history(
        full.history_)
    assert resumed.best_epoch_ == full.best_epoch_


def test_resume_with_other_settings_or_texts_is_refused(pang_lee_split, tiny, tmp_path,
                                                        monkeypatch):
    train, valid = pang_lee_split
    config = dict(tiny, epochs=2, patience=None, ema_span=0.0)
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "2")
    with pytest.raises(TrainingInterrupted):
        TextClassifier(**config).fit(*train, valid=valid, out_dir=tmp_path)
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    with pytest.raises(DlcourseError, match="trained with hidden_size=16, this run asks for 32"):
        TextClassifier(**dict(config, hidden_size=32)).fit(*train, valid=valid, out_dir=tmp_path,
                                                           resume=True)
    with pytest.raises(DlcourseError, match="trained on other data \\("):
        TextClassifier(**config).fit(train[0][:100], train[1][:100], valid=valid,
                                     out_dir=tmp_path, resume=True)
    # more epochs, another device spelling and another patience (they only decide where and
    # how long the run goes on) are fine: the run continues
    longer = TextClassifier(**dict(config, epochs=3, device="auto", patience=4)).fit(
        *train, valid=valid, out_dir=tmp_path, resume=True)
    assert [h["epoch"] for h in longer.history_] == [1, 2, 3]


@pytest.mark.parametrize("settings, spans", [
    ({}, r"weight average \(ema_span 0.3\)"),                 # the default average
    ({"ema_span": 0.0, "schedule": "linear"}, "linear learning-rate schedule"),
])
def test_resume_with_other_epochs_is_refused_where_the_run_depends_on_them(
        pang_lee_split, tiny, tmp_path, monkeypatch, settings, spans):
    # the average and the schedules span all the steps: a 2-epoch run resumed with 3 ran on
    # silently and equalled neither run (the embedding weights 0.04 apart)
    train, valid = pang_lee_split
    config = dict(tiny, epochs=2, patience=None, **settings)
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "2")
    with pytest.raises(TrainingInterrupted):
        TextClassifier(**config).fit(*train, valid=valid, out_dir=tmp_path)
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    with pytest.raises(ConfigError, match=f"epochs 3 cannot continue .*: its {spans} spans the 2 "
                                          "epochs the run started with; resume with 2 epochs"):
        TextClassifier(**dict(config, epochs=3)).fit(*train, valid=valid, out_dir=tmp_path,
                                                     resume=True)
    resumed = TextClassifier(**config).fit(*train, valid=valid, out_dir=tmp_path, resume=True)
    assert [h["epoch"] for h in resumed.history_] == [1, 2]


def test_cli_interrupt_and_resume_equals_the_uninterrupted_command(cli_run, workdir,
                                                                    monkeypatch, same_run):
    from safetensors.torch import load_file

    args = ["--threads", "1", "classify", "train", "pang-lee-sample", "--model", "gru",
            "--embed-dim", "16", "--hidden-size", "16", "--layers", "1", "--batch-size", "32",
            "--epochs", "2", "--pretrained", "none", "--word-dropout", "0.2", "--device", "cpu"]
    assert cli_run(*args, "--out", "B").code == 0
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "4")
    stopped = cli_run(*args, "--out", "A")
    assert stopped.code == 130
    # the command to type, as typed (a user had to put the --resume in the right place)
    assert stopped.err.splitlines()[-1] == (
        "error: interrupted in epoch 1 after 4 batches; checkpoint saved to A/last.pt; to "
        f"continue, run: dlcourse {' '.join(args)} --out A --resume")
    written = workdir()
    assert "A/last.pt" in written and "A/model.safetensors" not in written
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    cli_run(*args, "--epochs", "3", "--out", "A", "--resume").assert_user_error(
        r"--epochs 3 cannot continue A: its weight average \(ema_span 0.3\) spans the 2 epochs")
    # other rows: refused in one line before any progress line (it printed "training gru on
    # ..." and the vocabulary first, then the error)
    cli_run(*args, "--limit", "100", "--out", "A", "--resume").assert_user_error(
        r"cannot resume A: it was trained on other data \(1\d\d texts, sha256 ")
    assert cli_run(*args, "--out", "A", "--resume").code == 0
    a, b = load_file("A/model.safetensors"), load_file("B/model.safetensors")
    same_run.tensors(a, b, "model.safetensors")
    history = [same_run.history(json.loads(open(f"{run}/history.json").read())) for run in "AB"]
    assert history[0] == history[1]
    metrics = [json.loads(open(f"{run}/metrics_valid.json").read()) for run in "AB"]
    assert metrics[0] == metrics[1]

    refused = cli_run(*args, "--hidden-size", "32", "--out", "A", "--resume")
    refused.assert_user_error(r"cannot resume A: it was trained with --hidden-size 16")


def test_a_run_saved_before_the_ngram_score_resumes_without_it(pang_lee_split, tiny, tmp_path,
                                                                 monkeypatch):
    """A CNN run interrupted by a version without ``ngrams`` (its config lacks the key) was
    trained without the score: today's default (2) is refused before any work, naming the
    setting, and ``ngrams=0`` continues it; its saved model loads with ``ngrams == 0``."""
    import torch

    from dlcourse.engine.checkpoint import save_checkpoint
    from dlcourse.engine.persist import read_state, write_state

    train, valid = pang_lee_split
    config = dict(tiny, model="cnn", hidden_size=8, epochs=2, patience=None)
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "2")
    with pytest.raises(TrainingInterrupted):
        TextClassifier(**config, ngrams=0).fit(*train, valid=valid, out_dir=tmp_path)
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    state = load_checkpoint(tmp_path / "last.pt")
    del state["config"]["ngrams"]  # as the older version wrote it
    state.pop("before", None)
    save_checkpoint(tmp_path / "last.pt", state)

    with pytest.raises(DlcourseError, match="trained with ngrams=0, this run asks for 2"):
        TextClassifier(**config).fit(*train, valid=valid, out_dir=tmp_path, resume=True)
    resumed = TextClassifier(**config, ngrams=0).fit(*train, valid=valid, out_dir=tmp_path,
                                                     resume=True)
    assert resumed.model_config_.ngrams == 0 and len(resumed.history_) == 2

    path = resumed.save(tmp_path / "model")
    manifest, arrays = read_state(path, "torch")
    del manifest["config"]["ngrams"]  # the older version saved neither key
    del manifest["state"]["model_config"]["ngrams"], manifest["state"]["model_config"][
        "ngram_buckets"]
    write_state(path, manifest, arrays)
    old = TextClassifier.load(tmp_path / "model", device="cpu")
    assert old.config.ngrams == 0 and old.model_config_.ngrams == 0
    assert not any("ngram" in k for k in old.model_.state_dict())
    torch.testing.assert_close(old.predict_proba(valid[0]), resumed.predict_proba(valid[0]))
