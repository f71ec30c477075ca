"""Batch SOM under torchrun: 2 gloo processes give the map of one process (issue 9)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dlcourse.cli.main import main
from dlcourse.engine.distributed import launch, launch_output
from dlcourse.som import SOM

WORKER = Path(__file__).with_name("som_ddp_worker.py")
_spec = importlib.util.spec_from_file_location("som_ddp_worker", WORKER)
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)  # its CASES and data, without touching sys.path


def torchrun(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """ARGS in 2 gloo processes, one thread each."""
    return launch(args, 2, timeout=timeout)


@pytest.mark.slow
def test_two_processes_fit_the_map_of_one(tmp_path):
    result = torchrun(str(WORKER), str(tmp_path))
    assert result.returncode == 0, launch_output(result)
    r0, r1 = np.load(tmp_path / "rank0.npz"), np.load(tmp_path / "rank1.npz")
    X = worker.data()
    for name, params in worker.CASES.items():
        # the all-reduced statistics are the same bits on both ranks: identical maps
        np.testing.assert_array_equal(r0[f"{name}_weights"], r1[f"{name}_weights"])
        single = SOM(**params).fit(X)
        # one process sums the same statistics in another order: equal up to float rounding
        # (float64 sums on the numpy path, float32 on the torch path)
        atol = 1e-5 if params.get("backend") == "torch" else 1e-10
        np.testing.assert_allclose(r0[f"{name}_weights"], single.weights_, rtol=0, atol=atol)
        qe = [h["quantization_error"] for h in single.history_]
        te = [h["topographic_error"] for h in single.history_]
        np.testing.assert_allclose(r0[f"{name}_qe"], qe, rtol=1e-5)  # over all 150 samples
        np.testing.assert_allclose(r0[f"{name}_te"], te, atol=1e-12)


@pytest.mark.slow
def test_cli_under_torchrun_writes_once_and_matches_one_process(tmp_path):
    args = ["som", "train", "sklearn:wine", "--grid", "5x6", "--topology", "hex", "--epochs",
            "4", "--device", "cpu"]
    result = torchrun("-m", "dlcourse", *args, "--out", str(tmp_path / "two"))
    assert result.returncode == 0, launch_output(result)
    assert result.stdout.count("trained 5x6 hexagonal map") == 1  # rank 0 reports and writes
    main([*args, "--out", str(tmp_path / "one")])
    two = SOM.load(tmp_path / "two", device="cpu")
    one = SOM.load(tmp_path / "one", device="cpu")
    np.testing.assert_allclose(two.weights_, one.weights_, rtol=0, atol=1e-10)
    metrics = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert metrics["samples"] == 178  # the whole data set, not one rank's share
    assert metrics["quantization_error"] == pytest.approx(one.quantization_error_, rel=1e-9)


def test_single_process_batch_fit_does_not_import_torch():
    # the all-reduce hook must not cost the CPU path torch's import (seconds)
    code = ("import sys; import numpy as np; from dlcourse.som import SOM\n"
            "SOM(4, 4, epochs=2, device='cpu').fit(np.random.default_rng(0).normal(size=(60, 3)))\n"
            "print('torch' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr
