"""ImageClassifier under torchrun: 2 gloo processes agree with each other and with one process,
and a run written by 2 processes resumes with 1 (slow: one launch of ``vision_ddp_worker.py``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from dlcourse.engine.distributed import launch, launch_output

WORKER = Path(__file__).with_name("vision_ddp_worker.py")


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """The output directory of one 2-process run of the worker."""
    out = tmp_path_factory.mktemp("ddp")
    result = launch([WORKER, out], 2, timeout=600)
    assert result.returncode == 0, launch_output(result)
    return out


@pytest.fixture(scope="module")
def worker():
    """The worker module (its configs and data), imported by path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("vision_ddp_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _single(worker, cache, monkeypatch, **kw):
    """One process, the same config and global batch, with its feature cache in ``cache``."""
    import dlcourse.vision.features as features
    from dlcourse.vision.config import TransferConfig
    from dlcourse.vision.estimator import ImageClassifier

    monkeypatch.setattr(features, "feature_cache_dir", lambda: cache)
    train, valid = worker.fashion()
    clf = ImageClassifier(TransferConfig(**{**worker.FEATURES, **kw}))
    return clf, train, valid


@pytest.mark.slow
def test_features_mode_two_processes_match_one(two_ranks, worker, monkeypatch, tmp_path):
    r0, r1 = (torch.load(two_ranks / f"features{r}.pt") for r in (0, 1))
    for key in r0["head"]:
        assert torch.equal(r0["head"][key], r1["head"][key])          # ranks agree exactly
    assert torch.equal(r0["confusion"], r1["confusion"]) and r0["top1"] == r1["top1"]
    timing = ("seconds", "items_per_s")                       # the only per-rank figures
    assert [{k: v for k, v in h.items() if k not in timing} for h in r0["history"]] == \
        [{k: v for k, v in h.items() if k not in timing} for h in r1["history"]]
    assert int(r0["confusion"].sum()) == 64 and r0["history"][0]["items"] == 128
    cached = sorted((two_ranks / "feature_cache").glob("*.pt"))
    assert len(cached) == 2                                  # train and valid, written by rank 0

    # one process extracts the features itself (the ranks gathered theirs from two shards)
    clf, train, valid = _single(worker, tmp_path / "cache", monkeypatch)
    clf.fit(train, valid)
    for path in cached:
        torch.testing.assert_close(torch.load(path)["features"],
                                   torch.load(tmp_path / "cache" / path.name)["features"],
                                   rtol=1e-4, atol=1e-5)
    for key, value in clf.model_.head.state_dict().items():
        torch.testing.assert_close(r0["head"][key], value, rtol=1e-4, atol=1e-5)
    assert abs(r0["top1"] - clf.evaluate(valid).top1) <= 1 / 64


@pytest.mark.slow
def test_checkpoint_of_two_processes_resumes_with_one(two_ranks, worker, monkeypatch, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(two_ranks / "features", run)
    cache = two_ranks / "feature_cache"
    resumed, train, valid = _single(worker, cache, monkeypatch, epochs=3)
    resumed.fit(train, valid, out_dir=run, resume=True)
    assert [h["epoch"] for h in resumed.history_] == [1, 2, 3]
    straight, _, _ = _single(worker, cache, monkeypatch, epochs=3)
    straight.fit(train, valid)
    for key, value in straight.model_.head.state_dict().items():
        torch.testing.assert_close(resumed.model_.head.state_dict()[key], value,
                                   rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_finetune_ranks_agree_and_cli_writes_on_rank_0(two_ranks):
    r0, r1 = (torch.load(two_ranks / f"finetune{r}.pt") for r in (0, 1))
    # gradual unfreezing (find_unused_parameters) ran; precise BN makes the BN buffers agree too
    for key in r0["model"]:
        torch.testing.assert_close(r0["model"][key], r1["model"][key], rtol=1e-5, atol=1e-6)
    assert r0["history"][-1]["valid_acc"] == r1["history"][-1]["valid_acc"]
    cli = two_ranks / "cli"
    written = {p.name for p in cli.iterdir()}
    assert {"model.safetensors", "metrics.json", "last.pt", "history.json"} <= written
