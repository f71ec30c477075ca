"""The engine under torchrun: 2 gloo processes agree with each other and with one process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).with_name("ddp_worker.py")


def launch(out: Path, nproc: int, epochs: int = 2, crash_rank: int = -1, timeout: float = 240):
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        str(WORKER),
        str(out),
        "32",
        str(epochs),
        str(crash_rank),
    ]
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**__import__("os").environ, "OMP_NUM_THREADS": "1"},
    )


@pytest.mark.slow
def test_two_processes_match_one(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    assert launch(one, 1).returncode == 0
    result = launch(two, 2)
    assert result.returncode == 0, result.stderr[-2000:]
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
    result = launch(tmp_path, 2, crash_rank=1, timeout=180)
    assert result.returncode != 0
    assert "failed on purpose" in result.stderr + result.stdout
