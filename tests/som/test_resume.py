"""Checkpoints and exact resume: a run interrupted (DLCOURSE_INTERRUPT_AFTER) between epochs,
mini-batches or online chunks and resumed ends with the same weights, bit for bit, and the same
history as the run never interrupted; resuming with other settings or data is refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.datasets import load_iris

from dlcourse.engine import array_checkpoint
from dlcourse.errors import DlcourseError, TrainingInterrupted
from dlcourse.som import SOM, numpy_training, training

TIMING = ("seconds", "cpu_seconds")  # the only history values a resume may change


def without_timing(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in h.items() if k not in TIMING} for h in history]


@pytest.fixture(scope="module")
def iris():
    X = load_iris().data
    return (X - X.mean(0)) / X.std(0)  # (150, 4)


CASES = {
    # name: (SOM settings, interrupt after these steps, run after run; where the stops land)
    "batch": (dict(epochs=6), (2, 3), ("after epoch 2", "after epoch 5")),
    "batch hex bubble": (dict(epochs=5, topology="hexagonal", neighborhood="bubble", sigma=2.0),
                         (1,), ("after epoch 1",)),
    # 5 batches an epoch: step 7 is the 2nd batch of epoch 2; running error sums are saved
    "minibatch": (dict(algorithm="minibatch", batch_size=32, epochs=4), (7, 6),
                  ("in epoch 2 after 64 of 150 samples", "in epoch 3 after 96 of 150 samples")),
    # chunks of 40 online samples (patched below): 4 chunks an epoch
    "online": (dict(algorithm="online", epochs=3, init="random"), (6,),
               ("in epoch 2 after 80 of 150 samples",)),
    "online iterations": (dict(algorithm="online", iterations=333, init="sample",
                               decay="linear", shuffle=False), (5,),
                          ("in epoch 2 after 40 of 150 samples",)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_interrupted_and_resumed_equals_uninterrupted(name, iris, tmp_path, monkeypatch):
    monkeypatch.setattr(numpy_training, "ONLINE_CHUNK", 40)
    params, stops, places = CASES[name]
    kw = dict(m=5, n=6, device="cpu", seed=4, **params)
    full = SOM(**kw).fit(iris, out_dir=tmp_path / "full")
    part = tmp_path / "part"
    for steps, where in zip(stops, places, strict=True):
        monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", str(steps))
        with pytest.raises(TrainingInterrupted, match=f"interrupted {where}; checkpoint saved"):
            SOM(**kw).fit(iris, out_dir=part, resume=(part / "last.safetensors").exists())
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    resumed = SOM(**kw).fit(iris, out_dir=part, resume=True)
    assert np.array_equal(resumed.weights_, full.weights_)
    assert without_timing(resumed.history_) == without_timing(full.history_)
    assert resumed.quantization_error_ == full.quantization_error_
    # the finished run's checkpoint resumes to the same map without training again
    again = SOM(**kw).fit(iris, out_dir=part, resume=True)
    assert np.array_equal(again.weights_, full.weights_) and again.history_ == resumed.history_


def test_torch_backend_resumes_to_the_same_map(iris, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    for params in (dict(epochs=4), dict(algorithm="minibatch", batch_size=50, epochs=3)):
        kw = dict(m=4, n=5, device="cpu", backend="torch", **params)
        full = SOM(**kw).fit(iris)
        out = tmp_path / params.get("algorithm", "batch")
        monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "2")
        with pytest.raises(TrainingInterrupted):
            SOM(**kw).fit(iris, out_dir=out)
        monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
        resumed = SOM(**kw).fit(iris, out_dir=out, resume=True)
        assert np.array_equal(resumed.weights_, full.weights_)
        assert without_timing(resumed.history_) == without_timing(full.history_)


def test_a_checkpoint_after_every_epoch(iris, tmp_path, monkeypatch):
    from dlcourse.engine.persist import read_manifest

    written = []

    def spy(path, manifest, arrays):
        written.append(manifest["state"]["epoch"])
        return real(path, manifest, arrays)

    real = array_checkpoint.write_state
    monkeypatch.setattr(training, "CHECKPOINT_EVERY_S", 0.0)
    monkeypatch.setattr(array_checkpoint, "write_state", spy)
    SOM(4, 4, epochs=4, device="cpu").fit(iris, out_dir=tmp_path)
    assert written == [1, 2, 3, 4, 4]  # each epoch, then the finished run
    manifest = read_manifest(tmp_path / "last.safetensors")
    assert manifest["lesson"] == "som" and manifest["state"]["finished"]
    # by default at most one a second: this run takes milliseconds, so only the last one
    written.clear()
    monkeypatch.setattr(training, "CHECKPOINT_EVERY_S", 1.0)
    SOM(4, 4, epochs=4, device="cpu").fit(iris, out_dir=tmp_path / "b")
    assert written == [4]


def test_resume_refuses_other_settings_and_data(iris, tmp_path, monkeypatch):
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "2")
    with pytest.raises(TrainingInterrupted):
        SOM(5, 5, epochs=5, device="cpu").fit(iris, out_dir=tmp_path)
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    with pytest.raises(DlcourseError, match="trained with sigma_end=0.5, this run asks for 1.0"):
        SOM(5, 5, epochs=5, sigma_end=1.0, device="cpu").fit(iris, out_dir=tmp_path, resume=True)
    with pytest.raises(DlcourseError, match="trained with epochs=5, this run asks for 8"):
        SOM(5, 5, epochs=8, device="cpu").fit(iris, out_dir=tmp_path, resume=True)
    with pytest.raises(DlcourseError, match=r"trained on other data \(150 x 4, [0-9a-f]+\), "
                                            r"this run reads 149 x 4"):
        SOM(5, 5, epochs=5, device="cpu").fit(iris[1:], out_dir=tmp_path, resume=True)
    with pytest.raises(DlcourseError, match="nothing to resume"):
        SOM(5, 5, device="cpu").fit(iris, out_dir=tmp_path / "new", resume=True)
    with pytest.raises(ValueError, match="resume=True needs the out_dir"):
        SOM(5, 5, device="cpu").fit(iris, resume=True)
    # a chunk size and the device only change how the run computes, and the batch rule reads
    # no learning rate (a --lr typed was refused, after a note that it is unused): allowed
    resumed = SOM(5, 5, epochs=5, chunk_size=64, device="auto", learning_rate=0.3).fit(
        iris, out_dir=tmp_path, resume=True)
    assert np.array_equal(resumed.weights_, SOM(5, 5, epochs=5, device="cpu").fit(iris).weights_)


def test_second_ctrl_c_stops_at_once_and_keeps_the_checkpoint(iris, tmp_path):
    from dlcourse.som.rules import TrainSettings, TrainState

    class Impatient:
        def warm(self):
            pass

        def train(self, *args):
            raise KeyboardInterrupt

    checkpoint = training.Checkpoint(tmp_path, {}, {})

    def run():
        training.train_run(Impatient(), iris, TrainState(iris[:4].copy()), None,
                           TrainSettings("batch", 2), checkpoint)

    with pytest.raises(TrainingInterrupted, match="stopped at once, before the first "
                                                  "checkpoint; run the same command again"):
        run()
    assert not (tmp_path / "last.safetensors").exists()  # nothing half-written
    (tmp_path / "last.safetensors").write_bytes(b"an earlier checkpoint")
    with pytest.raises(TrainingInterrupted, match="stopped at once; the checkpoint .*last."
                                                  "safetensors from before is kept"):
        run()
    assert (tmp_path / "last.safetensors").read_bytes() == b"an earlier checkpoint"


def test_without_an_output_folder_an_interrupt_saves_nothing(iris, monkeypatch):
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "1")
    with pytest.raises(TrainingInterrupted, match="no output folder, so nothing was saved"):
        SOM(4, 4, epochs=3, device="cpu").fit(iris)


def test_cli_interrupt_and_resume_equals_the_uninterrupted_command(cli_run, workdir,
                                                                    monkeypatch):
    from safetensors.numpy import load_file

    np.save("x.npy", load_iris().data)
    args = ["som", "train", "x.npy", "--grid", "5x6", "--topology", "hex", "--algorithm",
            "minibatch", "--batch-size", "40", "--epochs", "3", "--device", "cpu"]
    assert cli_run(*args, "--out", "B").code == 0
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "6")  # 4 batches an epoch: epoch 2, batch 2
    stopped = cli_run(*args, "--out", "A")
    assert stopped.code == 130
    assert "interrupted in epoch 2 after 80 of 150 samples" in stopped.err
    assert "--resume" in stopped.err
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    assert cli_run(*args, "--out", "A", "--resume").code == 0
    a, b = load_file("A/model.safetensors"), load_file("B/model.safetensors")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    history = [without_timing(json.loads(open(f"{run}/history.json").read())) for run in "AB"]
    assert history[0] == history[1]
    metrics = [json.loads(open(f"{run}/metrics.json").read()) for run in "AB"]
    assert metrics[0]["quantization_error"] == metrics[1]["quantization_error"]
    refused = cli_run(*args, "--batch-size", "50", "--out", "A", "--resume")
    refused.assert_user_error(r"cannot resume A: it was trained with --batch-size 40, this run "
                              r"asks for 50")


def test_a_real_ctrl_c_that_stops_the_map_is_reported_once(caplog):
    """A Ctrl-C the loop honours gives its "stopping" line and the interrupt, not also the line
    of a Ctrl-C that came too late to stop anything (every SOM interrupt printed both)."""
    import signal

    from dlcourse.som.grid import Grid
    from dlcourse.som.rules import TrainSettings, TrainState

    class Runner:  # the user presses Ctrl-C during the first epoch; the loop stops after it
        def warm(self):
            pass

        def train(self, X, state, grid, settings, control):
            signal.raise_signal(signal.SIGINT)
            assert control.should_stop()
            state.epoch, state.stopped = 1, True
            return state

    X = np.zeros((4, 2))
    with pytest.raises(TrainingInterrupted, match="interrupted after epoch 1"):
        training.train_run(Runner(), X, TrainState(X.copy()), Grid(2, 2),
                           TrainSettings("batch", 3))
    assert "stopping after the current step" in caplog.text
    assert "after the last safe point" not in caplog.text


def test_a_ctrl_c_while_a_trained_map_is_saved_waits_for_its_file(tmp_path, monkeypatch,
                                                                  caplog):
    # the last checkpoint and the model file were written after the stop guard: a Ctrl-C there
    # lost a short run's files
    import os
    import signal

    real_save = SOM.save

    def save(self, path):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C as the model file is written
        return real_save(self, path)

    monkeypatch.setattr(SOM, "save", save)
    X = np.random.default_rng(0).normal(size=(120, 4))
    som = SOM(4, 4, epochs=3, device="cpu").fit(X, out_dir=tmp_path / "map")
    assert (tmp_path / "map" / "model.safetensors").is_file() and som.weights_.shape == (4, 4, 4)
    assert "training has finished: saving it first" in caplog.text


def test_folder_notes_are_said_by_rank_0_alone(iris, tmp_path, monkeypatch, caplog):
    # under torchrun every process printed "holds an interrupted run's checkpoint ..."
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "2")
    with pytest.raises(TrainingInterrupted):
        SOM(5, 5, epochs=5, device="cpu").fit(iris, out_dir=tmp_path)
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    for rank, said in (("1", False), ("0", True)):
        monkeypatch.setenv("RANK", rank)
        caplog.clear()
        SOM(5, 5, device="cpu").validated_config(tmp_path, resume=False)
        assert ("holds an interrupted run's checkpoint" in caplog.text) is said, rank
