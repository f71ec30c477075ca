"""SOM under scikit-learn's estimator checks, and MiniSom's train continuing from the current
weights, compared with the real libraries."""

from __future__ import annotations

import inspect
import pickle

import numpy as np
import pytest

from dlcourse.errors import ConfigError, DlcourseError, InputError, NotFittedError
from dlcourse.som.compare import from_minisom_layout, to_minisom_layout
from dlcourse.som.config import SOMConfig
from dlcourse.som.estimator import SOM


def _data(rows=60, features=3, seed=0):
    return np.random.default_rng(seed).normal(size=(rows, features))


def test_sklearn_estimator_checks_all_pass():
    estimator_checks = pytest.importorskip("sklearn.utils.estimator_checks")
    with pytest.warns(UserWarning):  # SOM does not inherit sklearn's BaseEstimator
        results = estimator_checks.check_estimator(
            SOM(4, 4, epochs=2, device="cpu", progress=False), on_fail=None)
    failed = {r["check_name"]: r["exception"] for r in results if r["status"] == "failed"}
    assert not failed, failed
    assert len(results) > 40


def test_a_config_of_another_type_is_refused_when_fit_starts():
    # __init__ and set_params only store (check_estimator's SOM(config=-1) failed): the fit
    # that would use the config refuses it, before the data is looked at
    som = SOM(config=-1, m=3)
    assert som.get_params()["m"] == 3
    with pytest.raises(ConfigError, match="^SOM needs a SOMConfig, got int$"):
        som.fit("not even data")
    som.set_params(config=SOMConfig(m=2, n=2, epochs=2), seed=1)  # a whole config replaces it
    assert som.fit(_data()).weights_.shape == (2, 2, 3) and som.seed == 1
    with pytest.raises(ConfigError, match="^SOM needs a SOMConfig, got dict$"):
        som.set_params(config={"m": 2}).fit(_data())


def test_the_signature_is_the_settings():
    # help(SOM) and IDEs showed (*args, config=None, **params)
    parameters = inspect.signature(SOM).parameters
    assert list(parameters)[:3] == ["m", "n", "config"]
    assert list(parameters)[3:] == [name for name in SOMConfig.field_names()
                                    if name not in ("m", "n")]
    assert parameters["m"].default == SOMConfig.m and parameters["sigma_end"].default == 0.5
    assert parameters["sigma"].kind is inspect.Parameter.KEYWORD_ONLY


def test_not_fitted_is_sklearns_error_too_once_sklearn_is_loaded():
    exceptions = pytest.importorskip("sklearn.exceptions")
    with pytest.raises(exceptions.NotFittedError, match="not fitted yet") as caught:
        SOM(3, 3).predict(_data())
    error = caught.value
    assert isinstance(error, NotFittedError) and isinstance(error, DlcourseError)
    assert isinstance(error, ValueError) and isinstance(error, AttributeError)
    assert type(error).__name__ == "NotFittedError"
    again = pickle.loads(pickle.dumps(error))  # pickled as the plain class
    assert isinstance(again, NotFittedError) and str(again) == str(error)
    with pytest.raises(exceptions.NotFittedError):  # raised directly, as other lessons do
        raise NotFittedError("this LabelEncoder is not fitted")


@pytest.mark.parametrize("X, error, message", [
    (_data(10, 1) + 1j, InputError, "Complex data not supported: X has dtype complex128"),
    (np.zeros((12, 0)), InputError,
     r"0 feature\(s\) \(shape=\(12, 0\)\) while a minimum of 1 is required"),
    (np.zeros((0, 3)), InputError, r"0 sample\(s\) \(shape=\(0, 3\)\)"),
    (np.arange(5.0), InputError, r"must be 2-D .* Reshape your data: X.reshape\(-1, 1\)"),
    (np.array([[{"a": 1}, 2.0]], dtype=object), TypeError,
     "X must be numeric, got dtype object .*argument must be a string or a .*number"),
])
def test_bad_data_is_refused_in_sklearns_words(X, error, message):
    with pytest.raises(error, match=message) as caught:
        SOM(2, 2, device="cpu").fit(X)
    assert isinstance(caught.value, InputError)  # a ValueError and a DlcourseError still


def test_queries_word_bad_data_as_sklearn_and_text_stays_a_value_error():
    som = SOM(2, 2, epochs=1, device="cpu").fit(_data())
    with pytest.raises(ValueError, match="Reshape your data"):
        som.predict(_data()[0])
    with pytest.raises(ValueError, match="Reshape your data"):
        som.transform(_data()[0])
    with pytest.raises(ValueError, match="must be numeric, got dtype object") as caught:
        som.predict(np.array([["a", 1.0, 2.0]], dtype=object))
    assert not isinstance(caught.value, TypeError)


class _ArrayOnly:
    """An array-like that numpy converts (``__array__``) but whose functions it refuses."""

    def __init__(self, values):
        self.values = np.asarray(values)

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)

    def __len__(self):
        return len(self.values)

    def __array_function__(self, func, types, args, kwargs):
        raise TypeError(f"no numpy function {func.__name__}")


def test_labels_and_data_that_only_convert_to_arrays():
    X, y = _data(), np.arange(60) % 3
    som = SOM(3, 3, epochs=2, device="cpu", progress=False).fit(_ArrayOnly(X), _ArrayOnly(y))
    expected = SOM(3, 3, epochs=2, device="cpu", progress=False).fit(X, y)
    assert np.array_equal(som.weights_, expected.weights_)
    assert som.unit_labels_ == expected.unit_labels_
    with pytest.raises(InputError, match=r"y has shape \(59,\) for 60 rows"):
        som.fit(X, _ArrayOnly(y[:-1]))


def test_transform_is_float32_as_its_tags_say_and_activate_float64_as_minisoms():
    minisom = pytest.importorskip("minisom")
    pytest.importorskip("sklearn")
    X = _data()
    som = SOM(4, 5, epochs=3, device="cpu", progress=False).fit(X)
    assert som.__sklearn_tags__().transformer_tags.preserves_dtype == ["float32"]
    assert som.transform(X).dtype == som.transform(X.astype(np.float32)).dtype == np.float32
    peer = minisom.MiniSom(5, 4, 3)
    peer._weights = to_minisom_layout(som.weights_, "rectangular")
    ours = som.activate(X[7])
    assert ours.dtype == np.float64
    theirs = from_minisom_layout(peer.activate(X[7])[..., None], "rectangular")[..., 0]
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- MiniSom's train


def _pair(X, m=4, n=5, sigma=1.5):
    """Our map and a MiniSom over the same (random-sample) start weights."""
    minisom = pytest.importorskip("minisom")
    som = SOM(m, n, sigma=sigma, learning_rate=0.5, neighborhood="gaussian", device="cpu",
              progress=False)
    som.random_weights_init(X)
    peer = minisom.MiniSom(n, m, X.shape[1], sigma=sigma, learning_rate=0.5,
                           neighborhood_function="gaussian")
    peer._weights = to_minisom_layout(som.get_weights(), "rectangular")
    return som, peer


def test_random_weights_init_sets_weights_to_samples_as_minisom():
    X = _data()
    som, _ = _pair(X)
    weights = som.get_weights().reshape(-1, 3)
    assert all(np.any(np.all(X == w, axis=1)) for w in weights)  # each unit a sample
    assert som.init == "sample" and som.history_ == []
    assert som.predict(X).shape == (60, 2)  # usable before train, as MiniSom's


def test_repeated_train_batch_continues_exactly_as_minisoms():
    """One-step calls use the start sigma and learning rate in both libraries (their schedules
    end differently within a call), so a run of them must match MiniSom to rounding: each call
    continues from the weights the last one left, starting from random_weights_init's."""
    X = _data()
    som, peer = _pair(X)
    for i in range(12):
        part = X[i * 5:(i + 1) * 5]
        som.train_batch(part, 1)
        peer.train_batch(part, 1)
        theirs = from_minisom_layout(peer.get_weights(), "rectangular")
        np.testing.assert_allclose(som.get_weights(), theirs, atol=1e-12)
    som.train(X, 1, random_order=False)  # train too
    peer.train(X, 1, random_order=False)
    np.testing.assert_allclose(som.get_weights(),
                               from_minisom_layout(peer.get_weights(), "rectangular"), atol=1e-12)


def test_second_train_starts_from_the_first_ones_weights():
    X = _data()
    som = SOM(4, 5, device="cpu", progress=False)
    som.train_random(X, 200)
    first = som.get_weights()
    som.train_random(X, 200)
    # epoch 0 of the second run is the first run's map, measured on X
    judge = SOM.from_weights(first, device="cpu")
    assert som.history_[0]["quantization_error"] == pytest.approx(
        judge.quantization_error(X), rel=1e-9)
    fresh = SOM(4, 5, device="cpu", progress=False)
    fresh.train_random(X, 200)
    assert np.array_equal(fresh.get_weights(), first)  # reproducible ...
    assert not np.allclose(som.get_weights(), first)  # ... and the second call moved on


def _picked_samples(X, calls, method):
    """The sample each one-step call moved its unit towards (sigma tiny: only the winner moves,
    halfway, at learning rate 0.5)."""
    som = SOM(3, 3, sigma=0.05, sigma_end=0.02, learning_rate=0.5, device="cpu", progress=False)
    som.random_weights_init(X)
    picked = []
    for _ in range(calls):
        before = som.get_weights().reshape(-1, X.shape[1])
        getattr(som, method)(X, 1)
        after = som.get_weights().reshape(-1, X.shape[1])
        moved = np.flatnonzero(np.any(after != before, axis=1))
        assert len(moved) <= 1
        if len(moved):
            target = 2 * after[moved[0]] - before[moved[0]]
            picked.append(int(np.argmin(np.linalg.norm(X - target, axis=1))))
        else:  # the winner already sat on its sample
            picked.append(-1)
    return picked


def test_random_order_is_drawn_anew_each_call_and_the_order_restarts_in_train_batch():
    X = _data(50, 2) * 10
    random_picks = _picked_samples(X, 8, "train_random")
    assert len(set(random_picks)) >= 4  # MiniSom's random order differs between calls too
    assert random_picks == _picked_samples(X, 8, "train_random")  # seeded: reproducible
    # MiniSom's train_batch starts at sample 0 every call: so does ours
    assert set(_picked_samples(X, 4, "train_batch")) <= {0, -1}


def test_train_starts_afresh_when_the_weights_do_not_fit_and_fit_always_does():
    X, Z = _data(), _data(features=5, seed=1)
    som = SOM(4, 5, device="cpu", progress=False)
    som.train(X, 100)
    som.train(Z, 100)  # other features: from init, as a fresh map
    fresh = SOM(4, 5, device="cpu", progress=False)
    fresh.train(Z, 100)
    assert np.array_equal(som.get_weights(), fresh.get_weights())
    som.set_params(m=3).train(Z, 100)  # another grid: afresh too
    assert som.get_weights().shape == (3, 5, 5)
    # fit keeps scikit-learn's meaning: every fit starts from init (train set online, 100)
    som = SOM(4, 5, device="cpu", progress=False)
    som.train(X, 100)
    assert np.array_equal(som.fit(X).weights_, SOM(**som.get_params()).fit(X).weights_)
    # ... and a train after fit continues from the fitted map
    fitted = som.get_weights()
    som.train(X, 100)
    judge = SOM.from_weights(fitted, device="cpu")
    assert som.history_[0]["quantization_error"] == pytest.approx(judge.quantization_error(X))


def test_weights_init_without_data_makes_the_next_train_start_afresh():
    X = _data()
    som = SOM(4, 5, device="cpu", progress=False)
    som.train(X, 100)
    som.pca_weights_init()  # no data: only init, for the next train
    som.train(X, 100)
    fresh = SOM(4, 5, device="cpu", progress=False)
    fresh.train(X, 100)
    assert np.array_equal(som.get_weights(), fresh.get_weights())
    som.train(X, 100)  # and then continues again
    assert not np.array_equal(som.get_weights(), fresh.get_weights())


def test_pca_weights_init_sets_a_plane_and_train_starts_there():
    X = _data(200, 4)
    som = SOM(4, 5, device="cpu", progress=False)
    som.train(X, 50)
    som.pca_weights_init(X)
    weights = som.get_weights().reshape(-1, 4)
    assert np.linalg.matrix_rank(weights - weights.mean(0), tol=1e-9) == 2
    assert not hasattr(som, "quantization_error_")  # the old map's errors are gone
    start = som.get_weights()
    som.train(X, 50)
    judge = SOM.from_weights(start, device="cpu")
    assert som.history_[0]["quantization_error"] == pytest.approx(judge.quantization_error(X))


def test_a_loaded_map_continues_and_one_with_the_clis_scaler_starts_afresh(tmp_path):
    X = _data()
    som = SOM(4, 5, device="cpu", progress=False)
    som.train(X, 100)
    som.save(tmp_path / "plain")
    loaded = SOM.load(tmp_path / "plain", device="cpu")
    loaded.progress = False
    loaded.train(X, 100)
    som.train(X, 100)
    np.testing.assert_allclose(loaded.get_weights(), som.get_weights(), atol=1e-12)
    # weights in standardised units: raw data cannot continue them
    scaled = SOM(4, 5, device="cpu", progress=False)
    scaled.metadata_ = {"scaler": {"mean": [0.0] * 3, "scale": [2.0] * 3}}
    scaled.train(X, 100)
    scaled.save(tmp_path / "scaled")
    loaded = SOM.load(tmp_path / "scaled", device="cpu")
    loaded.progress = False
    loaded.train(X, 100)
    fresh = SOM(4, 5, device="cpu", progress=False)
    fresh.train(X, 100)
    assert np.array_equal(loaded.get_weights(), fresh.get_weights())


def test_distance_map_sum_over_its_max_is_minisoms_default():
    minisom = pytest.importorskip("minisom")
    som = SOM(5, 6, epochs=3, device="cpu", progress=False).fit(_data())
    peer = minisom.MiniSom(6, 5, 3)
    peer._weights = to_minisom_layout(som.weights_, "rectangular")
    theirs = from_minisom_layout(peer.distance_map()[..., None], "rectangular")[..., 0]
    ours = som.distance_map("sum")
    np.testing.assert_allclose(ours / ours.max(), theirs, atol=1e-12)
    # our default, which the plots draw, stays the unscaled mean over the neighbours
    assert not np.allclose(som.distance_map(), theirs)
    # hexagonal: MiniSom shifts columns where we shift rows, so the map is its transpose (the
    # docstring said the maps agreed, even rows aside: they differed on every shape)
    for m, n in ((6, 5), (5, 5), (4, 7)):
        hexagonal = SOM(m, n, topology="hexagonal", epochs=3, device="cpu").fit(_data())
        peer = minisom.MiniSom(n, m, 3, topology="hexagonal")
        peer._weights = hexagonal.weights_.astype(float).transpose(1, 0, 2).copy()
        ours = hexagonal.distance_map("sum")
        np.testing.assert_allclose(ours / ours.max(), peer.distance_map().T, atol=1e-12)
