"""The pruned best-unit search of batch training on wide data (256 features): the same best
units, distances and topographic misses as the full GEMM search, whatever the axes of its bound,
and the same trained map."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from dlcourse.som import SOM, Grid, backend_numpy, compiled_search
from dlcourse.som.numpy_training import NumpyRunner
from dlcourse.som.rules import SearchSpec


@pytest.fixture(scope="module")
def wide():
    """Digits at 16x16 (each pixel 2x2, a little noise): real images, 256 features."""
    X = load_digits().data[:900]
    X = np.kron(X.reshape(-1, 8, 8), np.ones((2, 2))).reshape(len(X), -1)
    return X + np.random.default_rng(0).normal(scale=0.3, size=X.shape)


def _maps(X):
    """A barely trained map (folded: many misses) and a trained one, 12x12."""
    loose = SOM(12, 12, epochs=1, sigma=0.8, init="random", device="cpu").fit(X)
    tight = SOM(12, 12, epochs=8, device="cpu").fit(X)
    return [m.weights_.reshape(144, -1) for m in (loose, tight)]


@pytest.mark.parametrize("rank", [48, 2])  # the default, and a bound too loose to prune much
def test_pruned_scan_equals_the_full_search(wide, rank):
    spec = SearchSpec(Grid(12, 12).neighbors(), "euclidean", wide.mean(0), chunk=256)
    for w in _maps(wide):
        full = NumpyRunner(spec).scan(wide, w)
        pruned = NumpyRunner(spec)
        pruned.prune_with(wide, rank=rank)
        assert pruned._basis is not None  # the pruned path runs
        bmu, dist, miss = pruned.scan(wide, w)
        np.testing.assert_array_equal(bmu, full[0])
        np.testing.assert_allclose(dist, full[1], rtol=1e-12)
        np.testing.assert_array_equal(miss, full[2])
    assert 0 < miss.sum() < len(wide)  # the comparison of misses is not vacuous


def test_bounds_never_exceed_the_distances(wide):
    spec = SearchSpec(Grid(12, 12).neighbors(), "euclidean", wide.mean(0), chunk=256)
    runner = NumpyRunner(spec)
    runner.cache_rows(wide)
    runner.prune_with(wide)
    for w in _maps(wide):
        wa = runner.weights32(w)
        xa, offset = runner.inputs(wide, 0, len(wide))
        exact = xa.astype(np.float64) @ wa.T.astype(np.float64)  # (N, K)
        bound = runner._bound_rows(wide, xa, offset, 0, len(wide)) @ runner._bound_weights(wa).T
        slack = compiled_search.PRUNE_SLACK * (offset + wa[:, -1].max())
        assert (bound <= exact + slack[:, None]).all()
        # and it is tight enough to prune: most units are far above the best distance
        assert (bound > exact.min(1, keepdims=True)).mean() > 0.9


def test_training_with_and_without_pruning_gives_the_same_map(wide, monkeypatch):
    kernel, calls = compiled_search._kernels.pruned_block, []
    monkeypatch.setattr(compiled_search._kernels, "pruned_block",
                        lambda *args: calls.append(1) or kernel(*args))
    pruned = SOM(10, 10, epochs=6, device="cpu").fit(wide)
    assert len(calls) == 7  # every pass pruned: 6 epochs and the final errors
    monkeypatch.setattr(compiled_search, "PRUNE_MIN_DIM", 10**6)
    full = SOM(10, 10, epochs=6, device="cpu").fit(wide)
    np.testing.assert_allclose(pruned.weights_, full.weights_, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(pruned.bmu_indices(wide), full.bmu_indices(wide))
    assert pruned.topographic_error_ == full.topographic_error_


def test_pruned_training_is_the_same_cached_or_blockwise(wide, monkeypatch):
    cached = SOM(8, 8, epochs=3, chunk_size=200, device="cpu").fit(wide)
    monkeypatch.setattr(backend_numpy, "CACHE_BYTES", 0)
    blockwise = SOM(8, 8, epochs=3, chunk_size=200, device="cpu").fit(wide)
    np.testing.assert_array_equal(blockwise.weights_, cached.weights_)
    errors = [[(h["quantization_error"], h["topographic_error"]) for h in som.history_]
              for som in (cached, blockwise)]
    assert errors[0] == errors[1]


def test_pruned_training_interrupted_and_resumed_equals_uninterrupted(wide, tmp_path,
                                                                      monkeypatch):
    from dlcourse.errors import TrainingInterrupted

    kw = dict(m=8, n=8, epochs=5, device="cpu", seed=1)
    full = SOM(**kw).fit(wide, out_dir=tmp_path / "full")
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "2")
    with pytest.raises(TrainingInterrupted, match="interrupted after epoch 2"):
        SOM(**kw).fit(wide, out_dir=tmp_path / "part")
    monkeypatch.delenv("DLCOURSE_INTERRUPT_AFTER")
    resumed = SOM(**kw).fit(wide, out_dir=tmp_path / "part", resume=True)
    np.testing.assert_array_equal(resumed.weights_, full.weights_)
    assert resumed.topographic_error_ == full.topographic_error_
