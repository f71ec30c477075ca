"""The language models under torchrun: 2 gloo processes agree with each other and with one
process on the same global batch, the CLI runs unchanged, and one process resumes their run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from dlcourse.cli.main import main
from dlcourse.engine.checkpoint import load_checkpoint
from dlcourse.engine.distributed import launch, launch_output
from dlcourse.lm import LanguageModel, LMConfig, load_corpus

WORKER = Path(__file__).with_name("lm_ddp_worker.py")
# dropout 0: the ranks draw other dropout masks than one process would, the rest is the same
CONFIG = dict(model="lstm", embed_dim=32, hidden_dim=32, num_layers=1, dropout=0.0,
              batch_size=8, bptt=20, epochs=2, lr=5e-3)
CLI_ARGS = ["lee", "--model", "lstm", "--max-lines", "300", "--embed-dim", "32",
            "--hidden-dim", "32", "--layers", "1", "--dropout", "0", "--batch-size", "8",
            "--bptt", "20", "--device", "cpu"]


def torchrun(args: list[str], nproc: int = 2, timeout: float = 300):
    """Launch ``args`` (a script or ``-m module``) in ``nproc`` gloo processes."""
    return launch(args, nproc, timeout=timeout)


@pytest.mark.slow
def test_two_processes_agree_with_each_other_and_with_one(tmp_path):
    result = torchrun([str(WORKER), str(tmp_path), json.dumps(CONFIG)])
    assert result.returncode == 0, launch_output(result)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    h0, h1 = (torch.load(tmp_path / f"history{r}.pt") for r in (0, 1))
    corpus = load_corpus("lee", max_lines=300, seed=0)
    single = LanguageModel(LMConfig(**CONFIG), device="cpu").fit(corpus)
    for key, value in single.model_.state_dict().items():
        assert torch.equal(r0[key], r1[key]), key  # DDP: identical updates on every rank
        # same global batch; only the float rounding of the gradient average differs
        torch.testing.assert_close(r0[key], value, rtol=1e-3, atol=1e-3)
    # valid loss summed over ranks: every rank sees the same value, that of one process
    assert [h["valid_loss"] for h in h0] == [h["valid_loss"] for h in h1]
    assert [h["valid_loss"] for h in h0] == pytest.approx(
        [h["valid_loss"] for h in single.history_], rel=1e-4)
    assert [h["train_loss"] for h in h0] == pytest.approx(
        [h["train_loss"] for h in single.history_], rel=1e-4)
    assert h0[0]["items"] == single.history_[0]["items"]  # tokens of both ranks


@pytest.mark.slow
def test_cli_under_torchrun_and_resume_with_one_process(tmp_path):
    two, one = tmp_path / "two", tmp_path / "one"
    result = torchrun(["-m", "dlcourse", "lm", "train", "--epochs", "1", *CLI_ARGS,
                       "--out", str(two)])
    assert result.returncode == 0, launch_output(result)
    assert result.stdout.count("test perplexity") == 1  # rank 0 alone reports
    for name in ("model.safetensors", "metrics.json", "curves.png", "last.pt", "history.json"):
        assert (two / name).exists(), name
    first = json.loads((two / "history.json").read_text())
    assert len(first) == 1

    # one process continues the 2-process run and ends where one process alone would
    main(["lm", "train", "--epochs", "2", "--resume", *CLI_ARGS, "--out", str(two)])
    main(["lm", "train", "--epochs", "2", *CLI_ARGS, "--out", str(one)])
    resumed = json.loads((two / "history.json").read_text())
    alone = json.loads((one / "history.json").read_text())
    assert len(resumed) == 2 and resumed[0] == first[0]
    assert [h["valid_loss"] for h in resumed] == pytest.approx(
        [h["valid_loss"] for h in alone], rel=1e-4)
    w_resumed = load_file(two / "model.safetensors")
    w_alone = load_file(one / "model.safetensors")
    for key, value in w_alone.items():
        torch.testing.assert_close(w_resumed[key], value, rtol=1e-3, atol=1e-3)
    metrics = json.loads((two / "metrics.json").read_text())
    assert metrics["epochs_run"] == 2 and metrics["test_ppl"] < metrics["vocab_size"]


@pytest.fixture(scope="module")
def interrupted_two_then_one(tmp_path_factory):
    """A 2-process run stopped between two windows of epoch 1 and resumed by one process, and
    the same run by one process alone: (resumed dir, alone dir, the stop position)."""
    root = tmp_path_factory.mktemp("lm_ddp_resume")
    two, one = root / "two", root / "one"
    os.environ["DLCOURSE_INTERRUPT_AFTER"] = "30"  # the ranks agree after every step on the CPU
    try:
        result = torchrun(["-m", "dlcourse", "lm", "train", "--epochs", "2", *CLI_ARGS,
                           "--out", str(two)])
    finally:
        del os.environ["DLCOURSE_INTERRUPT_AFTER"]
    assert result.returncode != 0 and "interrupted in epoch 1 after 30 batches" in result.stderr
    # one line, from the first process (the others' would repeat it): rank 0 saved
    assert result.stderr.count("error: interrupted") == 1
    assert "checkpoint saved to" in result.stderr and "nothing was saved" not in result.stderr
    position = load_checkpoint(two / "last.pt")["position"]
    main(["lm", "train", "--epochs", "2", "--resume", *CLI_ARGS, "--out", str(two)])
    main(["lm", "train", "--epochs", "2", *CLI_ARGS, "--out", str(one)])
    return two, one, position


@pytest.mark.slow
def test_two_processes_interrupted_inside_an_epoch_resume_with_one(interrupted_two_then_one):
    """The carried hidden state of both ranks is saved in the global row order, so one process
    continues a 2-process run stopped between two windows."""
    two, one, position = interrupted_two_then_one
    assert position["batches_done"] == 30 and position["extra"]["h"].shape == (1, 8, 32)
    resumed = json.loads((two / "history.json").read_text())
    alone = json.loads((one / "history.json").read_text())
    assert [h["valid_loss"] for h in resumed] == pytest.approx(
        [h["valid_loss"] for h in alone], rel=1e-4)
    w_resumed, w_alone = load_file(two / "model.safetensors"), load_file(one / "model.safetensors")
    for key, value in w_alone.items():
        torch.testing.assert_close(w_resumed[key], value, rtol=1e-3, atol=1e-3)


@pytest.mark.slow
def test_two_process_stop_keeps_the_whole_epochs_train_loss(interrupted_two_then_one):
    two, one, _ = interrupted_two_then_one
    resumed = json.loads((two / "history.json").read_text())
    alone = json.loads((one / "history.json").read_text())
    assert [h["train_loss"] for h in resumed] == pytest.approx(
        [h["train_loss"] for h in alone], rel=1e-4)
