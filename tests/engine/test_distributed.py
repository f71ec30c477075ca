"""The engine under torchrun: 2 gloo processes agree with each other and with one process."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dlcourse.engine.distributed import launch, launch_output

WORKER = Path(__file__).with_name("ddp_worker.py")


def run_worker(out: Path, nproc: int, epochs: int = 2, crash_rank: int = -1, timeout: float = 240):
    return launch([WORKER, out, 32, epochs, crash_rank], nproc, timeout=timeout)


@pytest.mark.slow
def test_two_processes_match_one(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    assert run_worker(one, 1).returncode == 0
    result = run_worker(two, 2)
    assert result.returncode == 0, launch_output(result)
    r0, r1 = torch.load(two / "rank0.pt"), torch.load(two / "rank1.pt")
    single = torch.load(one / "rank0.pt")
    for key in single:
        assert torch.equal(r0[key], r1[key])  # ranks agree exactly
        torch.testing.assert_close(r0[key], single[key], rtol=1e-5, atol=1e-6)
    history = torch.load(two / "history0.pt")
    assert history[0]["items"] == 256  # metrics reduced over both ranks
    assert (two / "run" / "last.pt").exists()


@pytest.mark.slow
def test_crash_in_one_rank_ends_the_run(tmp_path):
    result = run_worker(tmp_path, 2, crash_rank=1, timeout=180)
    assert result.returncode != 0
    assert "failed on purpose" in result.stderr + result.stdout


@pytest.mark.slow
def test_no_rank_leaves_an_interrupted_run_before_its_checkpoint_is_written(tmp_path):
    # torchrun stops the other processes as soon as one ends: a rank that left at once after
    # Ctrl-C got rank 0 killed while it wrote last.pt (a 70 MB classifier lost it every time)
    result = run_worker(tmp_path, 2, crash_rank=-2, timeout=180)
    assert result.returncode == 0, launch_output(result)
    saved = float((tmp_path / "saved.txt").read_text())
    assert float((tmp_path / "left1.txt").read_text()) >= saved
    assert (tmp_path / "run" / "last.pt").exists()


@pytest.mark.parametrize("main, expected", [(True, ["block", "barrier"]),
                                            (False, ["barrier", "block"])])
def test_main_process_first_orders_the_ranks(monkeypatch, main, expected):
    from dlcourse.engine import distributed

    calls = []
    monkeypatch.setattr(distributed, "is_distributed", lambda: True)
    monkeypatch.setattr(distributed, "is_main_process", lambda: main)
    monkeypatch.setattr(distributed, "barrier", lambda: calls.append("barrier"))
    with distributed.main_process_first():
        calls.append("block")
    assert calls == expected
    monkeypatch.setattr(distributed, "is_distributed", lambda: False)  # one process: no wait
    calls.clear()
    with distributed.main_process_first():
        calls.append("block")
    assert calls == ["block"]
