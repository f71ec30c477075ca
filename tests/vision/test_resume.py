"""Resume from any batch equals the uninterrupted run, bit for bit on the CPU, in both modes.

``DLCOURSE_INTERRUPT_AFTER=N`` stops training after step N as Ctrl-C would (the checkpoint is
written, TrainingInterrupted raised); the same call with ``resume=True`` must then end with
exactly the weights, BN statistics and history of a run that was never interrupted.
"""

from __future__ import annotations

import pytest
import torch

from dlcourse.errors import ConfigError, DlcourseError, TrainingInterrupted
from dlcourse.vision.estimator import ImageClassifier

TIMING = ("seconds", "items_per_s")


def _same_history(a: list[dict], b: list[dict]) -> bool:
    return [{k: v for k, v in h.items() if k not in TIMING} for h in a] == \
        [{k: v for k, v in h.items() if k not in TIMING} for h in b]


def _assert_same_model(a: ImageClassifier, b: ImageClassifier) -> None:
    sa, sb = a.model_.state_dict(), b.model_.state_dict()
    assert sa.keys() == sb.keys()
    differing = [k for k in sa if not torch.equal(sa[k], sb[k])]
    assert not differing, differing[:5]
    assert _same_history(a.history_, b.history_)


# 40 training images in batches of 8: 5 steps an epoch; step 3 stops inside epoch 1 and step 7
# inside epoch 2 (after an epoch boundary, an evaluation and a BN recalibration)
@pytest.mark.parametrize(("mode", "after"), [("features", 3), ("features", 7),
                                             ("finetune", 7)])
def test_interrupted_and_resumed_equals_uninterrupted(tiny, tmp_path, monkeypatch, mode, after):
    make, settings = tiny
    train, valid = make(40), make(16, seed=1)
    # augmentation on and a random head: the batch order and every random draw must repeat
    settings.update(mode=mode, epochs=2, batch_size=8, optimizer="adamw", lr=3e-3,
                    precise_bn=16, label_smoothing=0.1)
    straight = ImageClassifier(**settings).fit(train, valid, out_dir=tmp_path / "straight")

    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", str(after))
    with pytest.raises(TrainingInterrupted, match="--resume"):
        ImageClassifier(**settings).fit(train, valid, out_dir=tmp_path / "run")
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    assert (tmp_path / "run" / "last.pt").exists()
    resumed = ImageClassifier(**settings).fit(train, valid, out_dir=tmp_path / "run",
                                              resume=True)
    _assert_same_model(resumed, straight)
    assert [h["epoch"] for h in resumed.history_] == [1, 2]


# the step and none schedules do not depend on the number of epochs: adding some is exact
@pytest.mark.parametrize("schedule", [{"schedule": "none"},
                                      {"schedule": "step", "step_size": 1, "gamma": 0.5}])
def test_resume_with_more_epochs_continues_and_other_settings_are_refused(tiny, tmp_path,
                                                                          schedule):
    make, settings = tiny
    train = make(16)
    settings.update(mode="features", batch_size=8, **schedule)
    del settings["epochs"]
    ImageClassifier(**settings, epochs=1).fit(train, out_dir=tmp_path)
    # features mode reads no backbone setting: another one does not stop the resume
    longer = ImageClassifier(**settings, epochs=2, backbone_lr_mult=0.5).fit(
        train, out_dir=tmp_path, resume=True)
    straight = ImageClassifier(**settings, epochs=2).fit(train)
    _assert_same_model(longer, straight)
    with pytest.raises(DlcourseError, match="lr=0.001.*0.01"):
        ImageClassifier(**{**settings, "lr": 0.01}, epochs=3).fit(train, out_dir=tmp_path,
                                                                   resume=True)
    with pytest.raises(DlcourseError, match=r"trained on other data \(16 images"):
        ImageClassifier(**settings, epochs=3).fit(make(16, seed=5), out_dir=tmp_path,
                                                  resume=True)
    with pytest.raises(DlcourseError, match="nothing to resume"):
        ImageClassifier(**settings, epochs=1).fit(train, out_dir=tmp_path / "empty",
                                                  resume=True)


def test_other_epochs_under_the_cosine_schedule_are_refused_before_any_work(tiny, tmp_path,
                                                                          monkeypatch):
    """The cosine schedule spans the epochs a run started with: resumed with more, its learning
    rate fell to 0 and rose again (epochs 3-5 of 2 + 3 ran at 0, lr/2, lr)."""
    import dlcourse.vision.estimator as estimator

    make, settings = tiny
    train = make(16)
    settings.update(mode="features", batch_size=8, schedule="cosine", epochs=2)
    ImageClassifier(**settings).fit(train, out_dir=tmp_path)
    build_model = estimator.build_model

    def no_work(*args, **kwargs):
        raise AssertionError("work started before the check")

    monkeypatch.setattr(estimator, "build_model", no_work)
    for epochs in (5, 1):
        with pytest.raises(ConfigError, match=rf"^epochs {epochs} cannot continue .*: its cosine "
                                              r"learning-rate schedule spans the 2 epochs the "
                                              r"run started with; resume with 2 epochs"):
            ImageClassifier(**{**settings, "epochs": epochs}).fit(train, out_dir=tmp_path,
                                                                  resume=True)
    monkeypatch.setattr(estimator, "build_model", build_model)
    again = ImageClassifier(**settings).fit(train, out_dir=tmp_path, resume=True)
    assert [h["epoch"] for h in again.history_] == [1, 2]


def test_cli_run_interrupted_and_resumed_equals_an_uninterrupted_one(cli_run, workdir,
                                                                      monkeypatch, image_folder):
    from dlcourse.engine.persist import read_state

    # lr 1e-4: at 1e-3 (and the default 0.01) this random-weight net at 16 px (1x1 maps in its
    # last stages, batches of 2-4) can blow up under one BLAS thread, and nan != nan would fail
    # the comparison
    args = ["vision", "train", str(image_folder), "--arch", "efficientnet_lite0", "--weights",
            "none", "--mode", "finetune", "--image-size", "16", "--epochs", "2", "--lr", "1e-4",
            "--batch-size", "4", "--precise-bn", "8", "--device", "cpu"]
    assert cli_run(*args, "--out", "straight").code == 0
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "4")          # 3 steps an epoch: epoch 2
    result = cli_run(*args, "--out", "run")
    assert result.code == 130 and "--resume" in result.err
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    result = cli_run(*args, "--out", "run", "--resume")
    assert result.code == 0, result.err
    _, a = read_state("straight/model.safetensors", "torch")
    _, b = read_state("run/model.safetensors", "torch")
    assert all(torch.isfinite(t).all() for t in a.values() if t.is_floating_point())
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
