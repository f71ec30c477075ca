"""The training loop: loss falls, same seed same weights, resume equals an uninterrupted run."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from dlcourse.engine import fit, load_checkpoint, resolve_device, seed_everything
from dlcourse.engine.loop import evaluate
from dlcourse.errors import DlcourseError, TrainingInterrupted


def make_problem(seed: int = 0):
    """A small noisy 3-class problem with a model that has dropout (so RNG state matters)."""
    seed_everything(seed)
    g = torch.Generator().manual_seed(123)
    x = torch.randn(240, 8, generator=g)
    w = torch.randn(8, 3, generator=g)
    y = (x @ w + 0.3 * torch.randn(240, 3, generator=g)).argmax(1)
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    return model, loader, optimizer, scheduler, (x, y)


def step(model, batch):
    x, y = batch
    return nn.functional.cross_entropy(model(x), y)


def train(epochs, out_dir=None, resume=False, seed=0, patience=None, ema_decay=None):
    model, loader, optimizer, scheduler, (x, y) = make_problem(seed)
    valid = DataLoader(TensorDataset(x[:64], y[:64]), batch_size=32)

    def evaluate_fn(m):
        return {"valid_loss": evaluate(m, valid, step, device=torch.device("cpu"))["loss"]}

    history = fit(
        model,
        loader,
        step,
        optimizer,
        epochs,
        evaluate_fn=evaluate_fn,
        scheduler=scheduler,
        out_dir=out_dir,
        resume=resume,
        patience=patience,
        checkpoint_extra={"config": {"hidden": 32}, "classes": ["a", "b", "c"]},
        ema_decay=ema_decay,
    )
    return model, history


def test_loss_falls_and_history_written(tmp_path):
    _, history = train(4, out_dir=tmp_path)
    assert history[-1]["train_loss"] < history[0]["train_loss"] * 0.8
    saved = json.loads((tmp_path / "history.json").read_text())
    assert [h["epoch"] for h in saved] == [1, 2, 3, 4]
    state = load_checkpoint(tmp_path / "last.pt")
    assert state["epoch"] == 4 and state["classes"] == ["a", "b", "c"]
    assert state["config"] == {"hidden": 32}
    assert (tmp_path / "best.pt").exists()


def test_same_seed_same_weights():
    a, _ = train(2, seed=3)
    b, _ = train(2, seed=3)
    c, _ = train(2, seed=4)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert not all(torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters()))


def test_resume_equals_uninterrupted(tmp_path):
    full, full_history = train(4, out_dir=tmp_path / "full")
    train(2, out_dir=tmp_path / "split")
    resumed, history = train(4, out_dir=tmp_path / "split", resume=True)
    for pa, pb in zip(full.parameters(), resumed.parameters()):
        assert torch.equal(pa, pb)
    assert [h["train_loss"] for h in history] == [h["train_loss"] for h in full_history]


def test_ctrl_c_saves_checkpoint_and_resume_continues(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "19")  # batch 4 of epoch 2 (15 an epoch)
    with pytest.raises(TrainingInterrupted, match="--resume"):
        train(3, out_dir=tmp_path)
    state = load_checkpoint(tmp_path / "last.pt")
    assert state["epoch"] == 1 and state["batches_done"] == 4
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    _, history = train(3, out_dir=tmp_path, resume=True)
    assert [h["epoch"] for h in history] == [1, 2, 3]


def test_resuming_a_finished_run_says_so(tmp_path, caplog):
    train(2, out_dir=tmp_path)
    with caplog.at_level("INFO", logger="dlcourse"):
        _, history = train(2, out_dir=tmp_path, resume=True)
    assert [h["epoch"] for h in history] == [1, 2]
    assert "run had finished its 2 epochs" in caplog.text                # not "resuming at 3"
    assert "resuming" not in caplog.text


@pytest.mark.parametrize("after, ema", [(1, None), (7, None), (15, None), (16, None),
                                        (29, None), (44, None), (7, 0.9), (16, 0.9)])
def test_resume_from_any_batch_equals_the_uninterrupted_run(tmp_path, monkeypatch, after, ema):
    """Interrupted after step ``after`` (first, middle, last batch of an epoch), then resumed:
    every weight and every epoch's train and valid loss equal the uninterrupted run's (with a
    moving average of the weights too: the returned model and the valid losses are its)."""
    full, full_history = train(3, out_dir=tmp_path / "full", ema_decay=ema)
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", str(after))
    with pytest.raises(TrainingInterrupted):
        train(3, out_dir=tmp_path / "cut", ema_decay=ema)
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    resumed, history = train(3, out_dir=tmp_path / "cut", resume=True, ema_decay=ema)
    for (name, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
    keys = ("train_loss", "valid_loss", "items", "lr")
    assert [[h[k] for k in keys] for h in history] == [[h[k] for k in keys] for h in full_history]


def test_a_real_ctrl_c_is_deferred_to_the_end_of_the_step(tmp_path):
    """SIGINT in the middle of a step: the step finishes, the checkpoint resumes exactly."""
    import signal

    full, _ = train(2, out_dir=tmp_path / "full")
    model, loader, optimizer, scheduler, _ = make_problem()
    calls = {"n": 0}

    def ctrl_c_step(m, batch):
        calls["n"] += 1
        if calls["n"] == 9:
            signal.raise_signal(signal.SIGINT)  # lands before backward and optimizer.step
        return step(m, batch)

    # the handler fit found comes back (Python's own, or SIG_IGN in a background job of a
    # non-interactive shell, which starts with SIGINT ignored)
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(TrainingInterrupted, match="after 9 batches"):
        fit(model, loader, ctrl_c_step, optimizer, 2, scheduler=scheduler,
            out_dir=tmp_path / "cut", checkpoint_extra={"config": {"hidden": 32}})
    assert signal.getsignal(signal.SIGINT) is before
    model, loader, optimizer, scheduler, _ = make_problem()
    fit(model, loader, step, optimizer, 2, scheduler=scheduler, out_dir=tmp_path / "cut",
        resume=True, checkpoint_extra={"config": {"hidden": 32}})
    model_full, loader, optimizer, scheduler, _ = make_problem()
    fit(model_full, loader, step, optimizer, 2, scheduler=scheduler)
    for a, b in zip(model_full.parameters(), model.parameters()):
        assert torch.equal(a, b)


def test_a_second_ctrl_c_stops_at_once_and_keeps_the_last_checkpoint(tmp_path):
    import signal
    import time

    from dlcourse.engine.interrupt import SAME_STOP_S

    model, loader, optimizer, _, _ = make_problem()
    calls = {"n": 0}

    def double_ctrl_c(m, batch):
        calls["n"] += 1
        if calls["n"] == 20:
            signal.raise_signal(signal.SIGINT)
            time.sleep(SAME_STOP_S + 0.05)  # a second press, not the first one sent twice
            signal.raise_signal(signal.SIGINT)
        return step(m, batch)

    with pytest.raises(TrainingInterrupted, match="stopped at once.*--resume"):
        fit(model, loader, double_ctrl_c, optimizer, 3, out_dir=tmp_path)
    state = load_checkpoint(tmp_path / "last.pt")
    assert state["epoch"] == 1 and state["batches_done"] == 0  # epoch 1's checkpoint, intact

    # before any checkpoint: no promise of one to resume from
    calls["n"] = 17
    model, loader, optimizer, _, _ = make_problem()
    with pytest.raises(TrainingInterrupted, match=r"stopped at once in epoch 1, before the first "
                                                  r"checkpoint; run the same command again"):
        fit(model, loader, double_ctrl_c, optimizer, 3, out_dir=tmp_path / "fresh")
    assert not (tmp_path / "fresh" / "last.pt").exists()


def test_extra_state_is_saved_mid_epoch_and_restored(tmp_path, monkeypatch):
    """A lesson's carried state (here a running tensor the steps depend on) survives resume."""

    def run(resume=False):
        model, loader, optimizer, _, _ = make_problem()
        carried = {"h": torch.zeros(3)}

        def carrying_step(m, batch):
            x, y = batch
            logits = m(x) + carried["h"]
            carried["h"] = logits.detach().mean(0) * 0.1
            return nn.functional.cross_entropy(logits, y)

        def reset(_epoch):
            carried["h"] = torch.zeros(3)

        fit(model, loader, carrying_step, optimizer, 2, out_dir=tmp_path / "run",
            resume=resume, on_epoch_start=reset,
            extra_state=(lambda: {"h": carried["h"]}, lambda s: carried.update(h=s["h"])))
        return model

    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "21")
    with pytest.raises(TrainingInterrupted):
        run()
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    resumed = run(resume=True)
    (tmp_path / "run" / "last.pt").unlink()
    full = run()
    for a, b in zip(full.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_resume_refuses_other_settings_another_lesson_and_other_shapes(tmp_path):
    from dlcourse.errors import IncompatibleModelError

    model, loader, optimizer, _, _ = make_problem()
    fit(model, loader, step, optimizer, 1, out_dir=tmp_path,
        checkpoint_extra={"lesson": "lm", "config": {"hidden": 32, "epochs": 1}})
    model, loader, optimizer, _, _ = make_problem()
    with pytest.raises(DlcourseError, match="hidden=32.*64"):
        fit(model, loader, step, optimizer, 2, out_dir=tmp_path, resume=True,
            checkpoint_extra={"lesson": "lm", "config": {"hidden": 64, "epochs": 2}})
    with pytest.raises(IncompatibleModelError, match="'lm' run, not a 'classify'"):
        fit(model, loader, step, optimizer, 2, out_dir=tmp_path, resume=True,
            checkpoint_extra={"lesson": "classify"})
    other = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
    with pytest.raises(IncompatibleModelError, match="do not fit"):
        fit(other, loader, step, torch.optim.SGD(other.parameters(), lr=0.1), 2,
            out_dir=tmp_path, resume=True)


def test_rng_states_load_on_the_cpu_whatever_the_device(tmp_path, monkeypatch):
    """A checkpoint resumed on another device: RNG states are read on the CPU, and saved CUDA
    states are restored only for the GPUs this machine has."""
    import dlcourse.engine.fitting as fit_module
    from dlcourse.engine.seed import rng_state, set_rng_state

    train(1, out_dir=tmp_path)
    seen = []
    real = fit_module.load_checkpoint

    def recording(path, map_location="cpu"):
        seen.append(str(map_location))
        return real(path, map_location=map_location)

    monkeypatch.setattr(fit_module, "load_checkpoint", recording)
    train(2, out_dir=tmp_path, resume=True)
    assert seen == ["cpu"]
    calls = []
    state = rng_state()
    state["cuda"] = [torch.get_rng_state(), torch.get_rng_state()]  # saved on a 2-GPU machine
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda s, i: calls.append(i))
    set_rng_state(state)
    assert calls == [0]


def test_resume_without_checkpoint_is_clear(tmp_path):
    with pytest.raises(DlcourseError, match="nothing to resume"):
        train(1, out_dir=tmp_path, resume=True)


def test_early_stopping_stops(tmp_path):
    model, loader, optimizer, _, _ = make_problem()
    values = iter([1.0, 0.9, 0.95, 0.97, 0.99, 1.2, 1.3])
    history = fit(
        model,
        loader,
        step,
        optimizer,
        7,
        evaluate_fn=lambda m: {"valid_loss": next(values)},
        patience=2,
        out_dir=tmp_path,
    )
    assert len(history) == 5  # best at epoch 2, then 3 epochs without improvement
    best = load_checkpoint(tmp_path / "best.pt")
    assert best["epoch"] == 2 and best["history"] == history[:2]
    # the weights only: the optimizer state lives in last.pt, which --resume reads
    assert "optimizer" not in best and "optimizer" in load_checkpoint(tmp_path / "last.pt")


def test_gradient_clipping_bounds_the_step():
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    before = model.weight.detach().clone()
    data = DataLoader(
        TensorDataset(torch.randn(8, 4) * 1000, torch.randn(8, 1) * 1000), batch_size=8
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    fit(
        model, data, lambda m, b: nn.functional.mse_loss(m(b[0]), b[1]), optimizer, 1, grad_clip=0.5
    )
    assert (model.weight.detach() - before).norm() <= 0.5 + 1e-5


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(DlcourseError, match="unknown device"):
        resolve_device("tpu9")
    if not torch.cuda.is_available():
        with pytest.raises(DlcourseError, match="CUDA is not available"):
            resolve_device("cuda:0")


def test_restore_best_loads_the_best_epoch():
    model, loader, optimizer, _, _ = make_problem()
    values = iter([1.0, 0.5, 0.9])
    snapshots = []

    def evaluate_fn(m):
        snapshots.append({k: v.clone() for k, v in m.state_dict().items()})
        return {"valid_loss": next(values)}

    fit(model, loader, step, optimizer, 3, evaluate_fn=evaluate_fn, restore_best=True)
    for key, value in model.state_dict().items():
        assert torch.equal(value, snapshots[1][key])


def test_resuming_a_run_that_stopped_early_restores_its_best_weights(tmp_path):
    model, loader, optimizer, _, _ = make_problem()
    values = iter([1.0, 0.5, 0.9, 0.95])
    fit(model, loader, step, optimizer, 6, evaluate_fn=lambda m: {"valid_loss": next(values)},
        patience=1, out_dir=tmp_path)
    best = load_checkpoint(tmp_path / "best.pt")["model"]
    model2, loader2, optimizer2, _, _ = make_problem()
    history = fit(model2, loader2, step, optimizer2, 6, evaluate_fn=lambda m: {"valid_loss": 0.0},
                  patience=1, out_dir=tmp_path, resume=True, restore_best=True)
    assert len(history) == 4  # stopped after two epochs without improvement
    for key, value in model2.state_dict().items():
        assert torch.equal(value, best[key])


def test_a_run_that_stopped_early_resumed_with_more_patience_goes_on_as_if_it_had_it(tmp_path):
    # the same validation values each run: epoch 2 is the best, then no improvement
    def scores():
        values = iter([1.0, 0.5, 0.9, 0.95, 0.4, 0.3])
        return lambda m: {"valid_loss": next(values)}

    def run(patience, out, resume=False):
        model, loader, optimizer, _, _ = make_problem()
        history = fit(model, loader, step, optimizer, 6, evaluate_fn=scores() if not resume
                      else _after(scores(), 4), patience=patience, out_dir=out, resume=resume)
        return model, history

    _, stopped = run(1, tmp_path / "part")
    assert len(stopped) == 4  # two epochs without improvement after epoch 2
    resumed_model, resumed = run(3, tmp_path / "part", resume=True)
    full_model, full = run(3, tmp_path / "full")
    assert [h["epoch"] for h in resumed] == [1, 2, 3, 4, 5, 6]
    assert [h["valid_loss"] for h in resumed] == [h["valid_loss"] for h in full]
    for key, value in full_model.state_dict().items():
        assert torch.equal(value, resumed_model.state_dict()[key])


def _after(evaluate_fn, skip):
    """``evaluate_fn`` with its first ``skip`` answers drawn already (the epochs a resumed run
    does not validate again)."""
    for _ in range(skip):
        evaluate_fn(None)
    return evaluate_fn


def test_the_moving_average_is_what_the_run_returns_and_evaluates():
    """fit(ema_decay=d) returns the average of the weights after every step (first step's
    weights, then avg = d avg + (1 - d) w) and validates that average, not the last weights."""
    from dlcourse.engine.averaging import WeightAverage

    model, loader, optimizer, _, (x, y) = make_problem()
    seen = []
    optimizer.register_step_post_hook(
        lambda *_: seen.append([p.detach().clone() for p in model.parameters()]))
    evaluated = []
    fit(model, loader, step, optimizer, 2, ema_decay=0.8,
        evaluate_fn=lambda m: evaluated.append([p.detach().clone() for p in m.parameters()])
        or {"valid_loss": 0.0})
    expected = [p.clone() for p in seen[0]]
    for weights in seen[1:]:
        for e, w in zip(expected, weights):
            e.mul_(0.8).add_(w, alpha=0.2)
    for got, e, last, ev in zip(model.parameters(), expected, seen[-1], evaluated[-1]):
        torch.testing.assert_close(got.detach(), e)
        torch.testing.assert_close(ev, e)
        assert not torch.allclose(e, last)  # the average is not just the last weights
    with pytest.raises(ValueError, match="decay must lie in"):
        WeightAverage(model, optimizer, 1.0)


def test_the_weights_stand_for_an_epoch_whose_average_validates_worse():
    """An average that still lags far behind (decay 0.99 over 30 steps: mostly the first
    step's weights) validates worse than the weights: those stand for the epoch and are
    returned, and the history says so; a useful average (decay 0.9 once the loss has
    settled, in the fourth epoch) is kept instead."""
    model, loader, optimizer, _, (x, y) = make_problem()
    valid = DataLoader(TensorDataset(x[:64], y[:64]), batch_size=32)
    seen = []
    optimizer.register_step_post_hook(
        lambda *_: seen.append([p.detach().clone() for p in model.parameters()]))

    def evaluate_fn(m):
        return {"valid_loss": evaluate(m, valid, step, device=torch.device("cpu"))["loss"]}

    history = fit(model, loader, step, optimizer, 2, evaluate_fn=evaluate_fn, ema_decay=0.99)
    assert [h["averaged"] for h in history] == [0.0, 0.0]
    assert history[-1]["average_valid_loss"] > history[-1]["valid_loss"]
    for got, last in zip(model.parameters(), seen[-1]):
        assert torch.equal(got, last)  # the weights themselves, not the average

    _, smoothed = train(4, ema_decay=0.9)
    assert smoothed[-1]["averaged"] == 1.0
    assert smoothed[-1]["valid_loss"] <= smoothed[-1]["own_valid_loss"]


def test_seed_everything_leaves_child_processes_a_valid_hash_seed(monkeypatch):
    """A negative seed (or one past 2**32) set PYTHONHASHSEED to a value every child Python
    refuses at start-up ("Fatal Python error: PYTHONHASHSEED must be ...")."""
    import os
    import subprocess
    import sys

    monkeypatch.setenv("PYTHONHASHSEED", "0")  # recorded, so the test leaves it as it was
    monkeypatch.delenv("PYTHONHASHSEED")
    seed_everything(-1)
    assert os.environ["PYTHONHASHSEED"] == str(2**32 - 1)
    done = subprocess.run([sys.executable, "-c", "print('ok')"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_early_stopping_refuses_settings_that_never_or_always_stop():
    from dlcourse.engine import EarlyStopping
    from dlcourse.errors import ConfigError

    stopper = EarlyStopping(patience=0)
    assert stopper.improved(1.0) and not stopper.improved(1.5)
    for patience in (-1, 1.5, True, "3"):
        with pytest.raises(ConfigError, match="patience must be a whole number >= 0 or None"):
            EarlyStopping(patience=patience)
    for delta in (-0.1, float("nan"), "0"):
        with pytest.raises(ConfigError, match="min_delta must be a number >= 0"):
            EarlyStopping(min_delta=delta)
