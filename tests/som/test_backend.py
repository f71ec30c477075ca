"""The CPU backend against plain float64 references: errors, the batch rule, plain-value inputs;
the numba-free search gives the bits of the compiled one."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_wine

from dlcourse.som import (
    SOM,
    Grid,
    _kernels,
    _small_kernels,
    backend_numpy,
    initial_weights,
    numpy_training,
)
from dlcourse.som.backend_numpy import NumpySearch
from dlcourse.som.functions import NEIGHBORHOODS
from dlcourse.som.numpy_training import NumpyRunner
from dlcourse.som.rules import SearchSpec, TrainSettings, TrainState


@pytest.fixture(scope="module")
def wine():
    X = load_wine().data
    return (X - X.mean(0)) / X.std(0)


def _spec(grid: Grid, X: np.ndarray, distance: str = "euclidean", chunk: int = 64):
    center = X.mean(0) if distance != "cosine" else np.zeros(X.shape[1])
    return SearchSpec(grid.neighbors(), distance, center, chunk)


def _reference_errors(X, w, grid):
    """Exact distances (N, K), best units, QE per row and topographic misses, by sorting."""
    d = np.sqrt(((X[:, None, :] - w[None, :, :]) ** 2).sum(-1))  # (N, K) float64
    top = np.argsort(d, axis=1)[:, :2]
    adjacent = (grid.neighbors()[top[:, 0]] == top[:, 1:2]).any(1)
    return d, top[:, 0], d[np.arange(len(X)), top[:, 0]], ~adjacent


@pytest.mark.parametrize("topology, toroidal", [("rectangular", False), ("hexagonal", False),
                                                ("hexagonal", True)])
def test_scan_matches_sorted_float64_reference(wine, topology, toroidal):
    grid = Grid(6, 8, topology, toroidal)
    # a barely trained map: ordered enough to have adjacent pairs, folded enough for misses
    w = SOM(6, 8, topology=topology, toroidal=toroidal, init="random", epochs=1, sigma=0.8,
            device="cpu").fit(wine).weights_.reshape(48, -1)
    bmu, dist, miss = NumpyRunner(_spec(grid, wine)).scan(wine, w)
    _, best, qe, misses = _reference_errors(wine, w, grid)
    np.testing.assert_array_equal(bmu, best)
    np.testing.assert_allclose(dist, qe, rtol=1e-12)  # float32 search, exact float64 distance
    np.testing.assert_array_equal(miss, misses)
    assert 0 < misses.sum() < len(wine)  # the comparison is not vacuous


def test_one_batch_epoch_is_the_dense_batch_rule(wine):
    grid = Grid(7, 6)
    start = initial_weights(wine, grid, "random", np.random.default_rng(1))
    settings = TrainSettings("batch", epochs=1, sigma=1.7, sigma_end=1.7)
    state = NumpyRunner(_spec(grid, wine)).train(wine, TrainState(start), grid, settings)
    w, history = state.weights, state.history
    assert state.finished and not state.centred
    _, best, qe, misses = _reference_errors(wine, start, grid)
    h = NEIGHBORHOODS["gaussian"](grid.squared_distances().astype(np.float64), 1.7)  # (K, K)
    onehot = np.eye(grid.size)[best]  # (N, K)
    expected = (h @ onehot.T @ wine) / (h @ onehot.sum(0))[:, None]
    # the sums add float32 centred rows: equal to about 1e-7
    np.testing.assert_allclose(w, expected, rtol=1e-6, atol=1e-6)
    # epoch 0 holds the start map's errors (float32 distances), the last one the trained map's
    assert history[0]["quantization_error"] == pytest.approx(qe.mean(), rel=1e-5)
    assert history[0]["topographic_error"] == pytest.approx(misses.mean())
    assert history[-1]["quantization_error"] == pytest.approx(
        _reference_errors(wine, w, grid)[2].mean(), rel=1e-12)


def test_cached_and_blockwise_inputs_train_the_same_map(wine, monkeypatch):
    monkeypatch.setattr(numpy_training, "SMALL_WORK", 0)  # the GEMM path, block by block
    cached = SOM(6, 6, epochs=4, chunk_size=50, device="cpu").fit(wine)
    monkeypatch.setattr(backend_numpy, "CACHE_BYTES", 0)  # convert block by block each epoch
    blockwise = SOM(6, 6, epochs=4, chunk_size=50, device="cpu").fit(wine)
    np.testing.assert_array_equal(blockwise.weights_, cached.weights_)
    assert blockwise.history_[-1]["topographic_error"] == cached.history_[-1][
        "topographic_error"]


GRIDS = [(7, 6, "rectangular", False), (6, 7, "hexagonal", False), (6, 6, "hexagonal", True),
         (1, 9, "hexagonal", False), (5, 8, "rectangular", True)]


@pytest.mark.parametrize("m, n, topology, toroidal", GRIDS)
def test_compiled_smoothing_is_the_separable_gaussian(m, n, topology, toroidal):
    grid = Grid(m, n, topology, toroidal)
    values = np.random.default_rng(0).normal(size=(grid.size, 5))
    across2, along2 = grid.separable_offsets()
    out = np.empty_like(values)
    work = np.empty((len(along2), m, n, 5))
    _kernels.gaussian_smooth(values, across2, along2, 1.3, work, out)
    # fastmath sums in another order: equal to rounding of the O(1) terms, also for a sum near 0
    np.testing.assert_allclose(out, grid.gaussian_smooth(values, 1.3), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("m, n, topology, toroidal", GRIDS)
def test_small_problems_train_in_one_call_to_the_gemm_paths_map(
        wine, monkeypatch, m, n, topology, toroidal):
    calls = []
    epochs = _small_kernels.small_batch_epochs

    def counted(*args):
        calls.append(len(args[7]))  # the sigmas of the epochs this call runs
        return epochs(*args)

    monkeypatch.setattr(_small_kernels, "small_batch_epochs", counted)
    params = dict(topology=topology, toroidal=toroidal, epochs=6, sigma=2.0, device="cpu")
    small = SOM(m, n, **params).fit(wine)
    assert calls == [6]  # wine (178 x 13) is small: every epoch in one compiled call
    monkeypatch.setattr(numpy_training, "SMALL_WORK", 0)
    gemm = SOM(m, n, **params).fit(wine)
    assert calls == [6]
    # the float32 distances are summed in another order: the same map to float rounding
    np.testing.assert_allclose(small.weights_, gemm.weights_, rtol=1e-9, atol=1e-9)
    for a, b in zip(small.history_, gemm.history_, strict=True):
        assert a["quantization_error"] == pytest.approx(b["quantization_error"], rel=1e-6)
        assert a["topographic_error"] == b["topographic_error"]


def test_runner_trains_from_plain_values_as_the_estimator_does():
    X = load_digits().data[:500]
    som = SOM(8, 9, topology="hexagonal", epochs=3, sigma=2.0, device="cpu", seed=4).fit(X)
    grid = Grid(8, 9, "hexagonal")
    start = initial_weights(X, grid, "pca", np.random.default_rng(4))
    spec = SearchSpec(grid.neighbors(), "euclidean", X.mean(0), chunk=1000)
    settings = TrainSettings("batch", epochs=3, sigma=2.0, sigma_end=som.sigma_end,
                             decay=som.decay)
    state = NumpyRunner(spec).train(X, TrainState(start), grid, settings)
    np.testing.assert_array_equal(state.weights.reshape(8, 9, -1), som.weights_)
    assert [h["sigma"] for h in state.history] == [h["sigma"] for h in som.history_]


def test_a_small_problem_resumed_after_its_last_epoch_only_measures_the_map(wine):
    # a checkpoint written after the last epoch (the process then killed before the end):
    # the resumed run trains nothing more and measures the map as the uninterrupted run did
    grid = Grid(6, 6)
    spec = SearchSpec(grid.neighbors(), "euclidean", wine.mean(0), chunk=1000)
    settings = TrainSettings("batch", epochs=4, sigma=2.0, sigma_end=0.5, decay="inverse_time")
    start = initial_weights(wine, grid, "pca", np.random.default_rng(0))
    done = NumpyRunner(spec).train(wine, TrainState(start), grid, settings)
    last = TrainState(done.weights - wine.mean(0), centred=True, epoch=4,
                      history=done.history[:-1])
    resumed = NumpyRunner(spec).train(wine, last, grid, settings)
    assert resumed.finished and resumed.history == done.history[:-1] + [resumed.history[-1]]
    np.testing.assert_allclose(resumed.weights, done.weights, rtol=0, atol=1e-12)
    for name in ("quantization_error", "topographic_error"):
        assert resumed.history[-1][name] == pytest.approx(done.history[-1][name], rel=1e-12)


def test_train_settings_schedules():
    s = TrainSettings("batch", epochs=5, sigma=4.0, sigma_end=1.0, decay="inverse_time")
    sigmas = s.batch_sigmas()
    assert sigmas[0] == 4.0 and sigmas[-1] == pytest.approx(1.0) and len(sigmas) == 5
    assert all(a > b for a, b in zip(sigmas, sigmas[1:], strict=False))
    online = TrainSettings("online", epochs=2, iterations=7, shuffle=False)
    order = online.order_of_steps(5, online.total_steps(5), np.random.default_rng(0))
    assert order.tolist() == [0, 1, 2, 3, 4, 0, 1]


@pytest.mark.parametrize("distance", ["euclidean", "cosine", "manhattan"])
def test_numba_free_search_gives_the_compiled_bits(wine, distance):
    # queries (som predict) use the numpy-only search; training errors the compiled kernels
    grid = Grid(6, 7, "hexagonal")
    w = SOM(6, 7, topology="hexagonal", distance=distance, init="random", epochs=1, sigma=0.8,
            device="cpu").fit(wine).weights_.reshape(42, -1)
    spec = _spec(grid, wine, distance, chunk=50)
    plain, compiled = NumpySearch(spec), NumpyRunner(spec)
    np.testing.assert_array_equal(plain.weights32(w), compiled.weights32(w))
    bmu, found, flags = plain.scan(wine, w)
    for got, expected in zip((bmu, found, flags), compiled.scan(wine, w), strict=True):
        np.testing.assert_array_equal(got, expected)
    assert 0 < flags.sum() < len(wine)  # the comparison is not vacuous
    np.testing.assert_array_equal(plain.transform(wine, w), compiled.transform(wine, w))
