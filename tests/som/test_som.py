"""The SOM estimator on real data (iris, wine, digits): training, quality, queries, persistence."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris, load_wine

from dlcourse.errors import DlcourseError
from dlcourse.som import SOM, Grid, initial_weights


@pytest.fixture(scope="module")
def iris():
    X = load_iris().data
    return (X - X.mean(0)) / X.std(0), load_iris().target


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    return data.data, data.target


@pytest.mark.parametrize("algorithm", ["batch", "online", "minibatch"])
@pytest.mark.parametrize("topology", ["rectangular", "hexagonal"])
def test_quantization_error_falls_and_history_is_per_epoch(iris, algorithm, topology):
    X, _ = iris
    som = SOM(6, 6, topology=topology, algorithm=algorithm, init="random", epochs=5,
              device="cpu").fit(X)
    qe = [h["quantization_error"] for h in som.history_]
    assert [h["epoch"] for h in som.history_] == list(range(6))
    assert qe[-1] < 0.6 * qe[0]  # calibrated: 0.30 (batch) to 0.52 (hex mini-batch) here
    assert som.quantization_error_ == pytest.approx(som.quantization_error(X))
    assert som.topographic_error_ == pytest.approx(som.topographic_error(X))
    assert som.weights_.shape == (6, 6, 4)


def _lesson_rule(X, w, order, grid_d2, lr0, lr1, s0, s1):
    """The lesson's loop, written plainly: BMU by Euclidean distance, gaussian update."""
    w = w.copy()
    total = len(order)
    for t, i in enumerate(order):
        frac = t / (total - 1)
        lr, sigma = lr0 * (lr1 / lr0) ** frac, s0 * (s1 / s0) ** frac
        bmu = np.argmin(((X[i] - w) ** 2).sum(1))
        h = np.exp(-grid_d2[bmu] / (2 * sigma**2))
        w += lr * h[:, None] * (X[i] - w)
    return w


def test_online_follows_the_lesson_rule_exactly(iris):
    X, _ = iris
    som = SOM(5, 4, algorithm="online", iterations=300, init="sample", sigma=2.0, sigma_end=0.5,
              learning_rate=0.5, learning_rate_end=0.02, decay="exponential", device="cpu",
              seed=3).fit(X)
    rng = np.random.default_rng(3)
    w0 = initial_weights(X, Grid(5, 4), "sample", rng)
    order = np.concatenate([rng.permutation(len(X)) for _ in range(2)])[:300]
    expected = _lesson_rule(X, w0, order, Grid(5, 4).squared_distances().astype(float),
                            0.5, 0.02, 2.0, 0.5)
    np.testing.assert_allclose(som.weights_.reshape(20, -1), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("algorithm", ["batch", "online", "minibatch"])
def test_same_seed_same_weights_other_seed_other_weights(iris, algorithm):
    X, _ = iris
    kw = dict(algorithm=algorithm, init="random", epochs=2, device="cpu")
    a = SOM(5, 5, seed=1, **kw).fit(X).weights_
    b = SOM(5, 5, seed=1, **kw).fit(X).weights_
    c = SOM(5, 5, seed=2, **kw).fit(X).weights_
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_minibatch_of_one_is_the_online_rule(iris):
    X, _ = iris
    kw = dict(init="sample", epochs=1, sigma=1.5, device="cpu", seed=5)
    online = SOM(4, 4, algorithm="online", **kw).fit(X)
    mini = SOM(4, 4, algorithm="minibatch", batch_size=1, **kw).fit(X)
    # float32 batch products against the float64 online kernel
    np.testing.assert_allclose(mini.weights_, online.weights_, atol=1e-4)


def test_torch_backend_matches_numpy_backend_on_cpu(iris):
    X, _ = iris
    kw = dict(topology="hexagonal", epochs=4, device="cpu")
    ref = SOM(6, 5, backend="numpy", **kw).fit(X)
    tor = SOM(6, 5, backend="torch", **kw).fit(X)
    np.testing.assert_allclose(tor.weights_, ref.weights_, atol=2e-4)
    assert tor.quantization_error_ == pytest.approx(ref.quantization_error_, rel=1e-4)
    np.testing.assert_array_equal(tor.bmu_indices(X), ref.bmu_indices(X))
    online_ref = SOM(4, 4, algorithm="online", iterations=150, init="sample", device="cpu").fit(X)
    online_tor = SOM(4, 4, algorithm="online", iterations=150, init="sample", device="cpu",
                     backend="torch").fit(X)
    np.testing.assert_allclose(online_tor.weights_, online_ref.weights_, atol=1e-4)
    mini_ref = SOM(4, 4, algorithm="minibatch", batch_size=32, epochs=2, device="cpu").fit(X)
    mini_tor = SOM(4, 4, algorithm="minibatch", batch_size=32, epochs=2, device="cpu",
                   backend="torch").fit(X)
    np.testing.assert_allclose(mini_tor.weights_, mini_ref.weights_, atol=1e-3)
    np.testing.assert_allclose(tor.transform(X), ref.transform(X), atol=1e-4)


def test_batch_beats_plain_init_and_keeps_topology_on_digits(digits):
    X, y = digits
    # a smooth map (radius down to 1, not the default 0.5) for a topographic error below 0.1
    som = SOM(12, 12, topology="hexagonal", epochs=8, sigma=3.0, sigma_end=1.0,
              device="cpu").fit(X)
    assert som.quantization_error_ < 0.8 * som.history_[0]["quantization_error"]
    assert som.topographic_error_ < 0.1
    # calibrated on this set: units labelled by majority classify training digits well
    labels = som.majority_labels(X, y)
    coords = som.predict(X)
    assert np.mean(labels[coords[:, 0], coords[:, 1]] == y) > 0.85


def test_quality_measures_agree_with_minisom_on_the_same_weights(digits):
    minisom = pytest.importorskip("minisom")
    from dlcourse.som.compare import from_minisom_layout, to_minisom_layout

    X, _ = digits
    X = X[:400]
    for topology in ("rectangular", "hexagonal"):
        som = SOM(8, 10, topology=topology, epochs=3, sigma_end=0.5, device="cpu").fit(X)
        peer = minisom.MiniSom(10, 8, X.shape[1], topology=topology)
        peer._weights = to_minisom_layout(som.weights_, topology)
        np.testing.assert_array_equal(from_minisom_layout(peer._weights, topology), som.weights_)
        assert som.quantization_error(X) == pytest.approx(peer.quantization_error(X), rel=1e-9)
        assert som.topographic_error(X) == pytest.approx(peer.topographic_error(X), abs=1e-9)
        assert som.topographic_error(X) > 0  # the comparison is not vacuous
        judge = SOM.from_weights(som.weights_, topology=topology, device="cpu")
        assert judge.topographic_error(X) == pytest.approx(som.topographic_error(X))


def test_chunked_search_equals_one_block(iris):
    X, _ = iris
    full = SOM(7, 7, epochs=3, device="cpu").fit(X)
    small = SOM(7, 7, epochs=3, chunk_size=7, device="cpu").fit(X)
    np.testing.assert_allclose(small.weights_, full.weights_, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(small.bmu_indices(X), full.bmu_indices(X))


@pytest.mark.parametrize("distance", ["euclidean", "cosine", "manhattan"])
def test_bmu_and_transform_use_the_chosen_distance(distance):
    X = load_wine().data
    X = (X - X.mean(0)) / X.std(0)
    som = SOM(5, 6, distance=distance, epochs=3, device="cpu").fit(X)
    w = som.weights_.reshape(30, -1)
    if distance == "euclidean":
        expected = np.linalg.norm(X[:, None] - w[None], axis=2)
    elif distance == "manhattan":
        expected = np.abs(X[:, None] - w[None]).sum(2)
    else:
        expected = 1 - (X / np.linalg.norm(X, axis=1, keepdims=True)) @ \
            (w / np.linalg.norm(w, axis=1, keepdims=True)).T
    np.testing.assert_allclose(som.transform(X), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(som.bmu_indices(X), expected.argmin(1))
    assert som.quantization_error(X) == pytest.approx(expected.min(1).mean(), rel=1e-4)


@pytest.mark.parametrize("neighborhood", ["bubble", "mexican_hat", "triangle"])
@pytest.mark.parametrize("decay", ["linear", "inverse_time"])
def test_other_neighbourhoods_and_decays_train(iris, neighborhood, decay):
    X, _ = iris
    for algorithm in ("batch", "online"):
        if (algorithm, neighborhood) == ("batch", "mexican_hat"):
            with pytest.raises(ValueError, match="use the online or minibatch algorithm"):
                SOM(5, 5, neighborhood=neighborhood, device="cpu").fit(X)
            continue
        # the mexican hat's negative ring pushes neighbours apart: it needs sigma_end >= 1
        som = SOM(5, 5, neighborhood=neighborhood, decay=decay, algorithm=algorithm,
                  init="random", epochs=3, sigma=2.0, sigma_end=1.0, device="cpu").fit(X)
        assert np.isfinite(som.weights_).all()
        assert som.quantization_error_ < som.history_[0]["quantization_error"]


def test_toroidal_map_trains_and_wraps(iris):
    X, _ = iris
    som = SOM(6, 6, topology="hexagonal", toroidal=True, epochs=4, device="cpu").fit(X)
    assert som.topographic_error_ < 0.2
    assert ((som.grid.neighbors() >= 0).sum(1) == 6).all()


def test_maps_and_hit_counts(iris):
    X, y = iris
    som = SOM(5, 7, epochs=3, device="cpu").fit(X)
    hits = som.activation_response(X)
    assert hits.shape == (5, 7) and hits.sum() == len(X)
    wins = som.win_map(X, return_indices=True)
    assert sum(len(v) for v in wins.values()) == len(X)
    for (r, c), idx in wins.items():
        assert hits[r, c] == len(idx)
        np.testing.assert_array_equal(som.predict(X[idx]), np.tile([r, c], (len(idx), 1)))
    labels = som.labels_map(X, y)
    assert {k: sum(v.values()) for k, v in labels.items()} == {k: len(v) for k, v in wins.items()}
    majority = som.majority_labels(X, y)
    assert all((majority[r, c] is None) == (hits[r, c] == 0) for r in range(5) for c in range(7))
    umatrix = som.distance_map()
    assert umatrix.shape == (5, 7) and (umatrix > 0).all()
    assert np.allclose(som.distance_map("sum") >= umatrix, True)


def test_pca_init_spans_the_main_component(iris):
    X, _ = iris
    w = initial_weights(X, Grid(4, 9), "pca", np.random.default_rng(0)).reshape(4, 9, -1)
    pc1 = np.linalg.eigh(np.cov(X.T))[1][:, -1]
    along_columns = (w[0, -1] - w[0, 0]) / np.linalg.norm(w[0, -1] - w[0, 0])
    assert abs(along_columns @ pc1) == pytest.approx(1.0, abs=1e-6)  # longer side = first PC
    np.testing.assert_allclose(w.reshape(36, -1).mean(0), X.mean(0), atol=1e-9)


def test_save_load_same_predictions_and_no_torch(tmp_path, iris, python_without_torch):

    from dlcourse.engine.persist import read_manifest

    X, y = iris
    som = SOM(6, 6, topology="hexagonal", epochs=3, device="cpu").fit(X)
    som.metadata_ = {"classes": ["a", "b", "c"], "scaler": {"mean": [0.0] * 4, "scale": [1.0] * 4}}
    path = som.save(tmp_path / "run")
    assert path == tmp_path / "run" / "model.safetensors"
    manifest = read_manifest(path)
    assert manifest["lesson"] == "som" and manifest["config"]["topology"] == "hexagonal"
    loaded = SOM.load(tmp_path / "run")
    np.testing.assert_array_equal(loaded.predict(X), som.predict(X))
    np.testing.assert_array_equal(loaded.weights_, som.weights_)
    np.testing.assert_array_equal(loaded.center_, som.center_)
    # load picks the device anew ("auto": a GPU trained map loads on a laptop)
    assert loaded.history_ == som.history_ and loaded.config == som.config.replace(device="auto")
    assert loaded.metadata_["classes"] == ["a", "b", "c"]
    assert loaded.topographic_error(X) == pytest.approx(som.topographic_error_)
    # a saved map loads and answers with torch unimportable
    # without a GPU driver device_ is there at once (it appeared with the first query); where
    # a GPU may be, the first query resolves it
    from dlcourse.engine.accelerator import accelerator_possible

    out = python_without_torch("import numpy as np; from dlcourse.som import SOM\n"
                               f"som = SOM.load({str(tmp_path / 'run')!r})\n"
                               "print(getattr(som, 'device_', 'later'), "
                               "som.predict(np.zeros((1, 4))).tolist())")
    first = "later" if accelerator_possible() else "cpu"
    assert out == f"{first} {som.predict(np.zeros((1, 4))).tolist()}"


def test_fit_with_labels_keeps_unit_labels_and_caller_metadata_in_one_save(tmp_path, iris):
    from dlcourse.engine.persist import read_manifest, write_state

    X, y = iris
    som = SOM(5, 5, epochs=4, device="cpu")
    identity = {"mean": [0.0] * 4, "scale": [1.0] * 4}  # a scaler queries apply: no change
    som.metadata_ = {"scaler": identity}
    som.fit(X, y, out_dir=tmp_path / "run")  # numpy int labels: saved as plain JSON
    expected = som.majority_labels(X, y.tolist()).tolist()
    assert som.unit_labels_ == expected
    assert {v for row in expected for v in row} - {None} == {0, 1, 2}
    loaded = SOM.load(tmp_path / "run")  # the file fit wrote, nothing saved after it
    assert loaded.unit_labels_ == expected
    assert loaded.metadata_ == {"scaler": identity}
    assert SOM(5, 5, epochs=1, device="cpu").fit(X).unit_labels_ is None
    # a file of dlcourse 0.2 kept the CLI's unit labels in its metadata
    manifest = read_manifest(tmp_path / "run" / "model.safetensors")
    del manifest["state"]["unit_labels"]
    manifest["metadata"]["unit_labels"] = expected
    write_state(tmp_path / "old" / "model.safetensors", manifest,
                {"weights": som.weights_, "center": som.center_})
    assert SOM.load(tmp_path / "old").unit_labels_ == expected


def test_evaluate_is_one_dict_of_the_measures(iris):
    """Like the other lessons' evaluate: the errors of one pass, and label agreement with y."""
    X, y = iris
    labelled = SOM(5, 5, epochs=4, device="cpu").fit(X, y)
    row = labelled.evaluate(X, y)
    assert row["quantization_error"] == pytest.approx(labelled.quantization_error(X))
    assert row["topographic_error"] == pytest.approx(labelled.topographic_error(X))
    coords = labelled.predict(X)
    expected = np.mean([labelled.unit_labels_[r][c] == t for (r, c), t in zip(coords, y)])
    assert row["label_agreement"] == pytest.approx(expected) and row["label_agreement"] > 0.8
    plain = SOM(5, 5, epochs=4, device="cpu").fit(X)
    assert set(plain.evaluate(X)) == {"quantization_error", "topographic_error"}
    assert 0.8 < plain.evaluate(X, y)["label_purity"] <= 1.0
    with pytest.raises(ValueError, match="one label per row"):
        plain.evaluate(X, y[:-1])


def test_score_lets_scikit_learn_model_selection_pick_a_map(iris):
    """score is minus the QE, so GridSearchCV's default scoring picks the map nearest the
    held-out folds (here the larger grid), and cross_val_score runs on clones."""
    from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

    X, y = iris
    som = SOM(3, 3, epochs=4, device="cpu").fit(X)
    assert som.score(X) == pytest.approx(-som.quantization_error(X)) and som.score(X, y) < 0
    folds = KFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(SOM(3, 3, epochs=4, device="cpu"), {"m": [2, 6], "n": [2, 6]},
                          cv=folds).fit(X)
    assert search.best_params_ == {"m": 6, "n": 6}
    assert search.best_estimator_.weights_.shape == (6, 6, 4)
    scores = cross_val_score(SOM(4, 4, epochs=4, device="cpu"), X, cv=folds)
    assert scores.shape == (3,) and (scores < 0).all()


def test_a_map_is_a_pipeline_step_and_sparse_rows_are_named(iris):
    from scipy import sparse
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, _ = iris
    pipe = make_pipeline(StandardScaler(), SOM(4, 4, epochs=3, device="cpu"))
    distances = pipe.fit_transform(X)
    som = pipe[-1]
    assert distances.shape == (150, 16)
    assert np.allclose(distances, som.transform(pipe[0].transform(X)))
    assert np.allclose(distances.min(1).mean(), som.quantization_error(pipe[0].transform(X)))
    with pytest.raises(ValueError, match=r"X is a sparse matrix; .* X.toarray\(\)"):
        SOM(4, 4, device="cpu").fit(sparse.csr_matrix(X))


def test_label_agreement_counts_samples_on_unlabelled_units_as_misses(iris):
    # trained on 15 rows, a 10x10 map labels at most 15 units: most of the 150 rows land on
    # units without a label, which used to be left out (0.94 where 20% agreed)
    X, y = iris
    rng = np.random.default_rng(0)
    few = rng.choice(len(X), 15, replace=False)
    som = SOM(10, 10, epochs=5, device="cpu").fit(X[few], y[few])
    coords = som.predict(X)
    units = [som.unit_labels_[r][c] for r, c in coords]
    assert 0 < units.count(None) < len(X)  # the case is there
    expected = np.mean([u is not None and u == t for u, t in zip(units, y)])
    assert som.evaluate(X, y)["label_agreement"] == pytest.approx(expected)


def test_labels_of_another_length_are_refused_before_training(tmp_path, iris):
    X, y = iris
    with pytest.raises(ValueError, match=r"y has shape \(149,\) for 150 rows"):
        SOM(3, 3, device="cpu").fit(X, y[1:], out_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_load_rejects_other_lessons_and_edited_models(tmp_path, iris):
    from dlcourse.engine.persist import read_manifest, write_state
    from dlcourse.errors import IncompatibleModelError

    manifest = {"lesson": "lm", "estimator": "LanguageModel", "config": {}}
    write_state(tmp_path / "lm" / "model.safetensors", manifest, {"x": np.zeros(2)})
    with pytest.raises(IncompatibleModelError, match="holds an 'lm' model"):
        SOM.load(tmp_path / "lm")
    som = SOM(4, 5, epochs=1, device="cpu").fit(iris[0])
    manifest = read_manifest(som.save(tmp_path / "som"))
    manifest["config"]["m"] = 5  # the config no longer fits the weights
    write_state(tmp_path / "edited" / "model.safetensors", manifest,
                {"weights": som.weights_, "center": som.center_})
    with pytest.raises(IncompatibleModelError, match=r"do not fit the 5x5 map"):
        SOM.load(tmp_path / "edited")


def test_config_params_and_positional_grid():
    from dlcourse.errors import NotFittedError
    from dlcourse.som import SOMConfig

    som = SOM(20, 12, sigma=3.0)
    assert (som.m, som.n, som.sigma) == (20, 12, 3.0)
    assert som.get_params()["n"] == 12 and som.config == SOMConfig(m=20, n=12, sigma=3.0)
    assert som.set_params(epochs=4) is som and som.config.epochs == 4
    assert SOM(config=SOMConfig(m=3, n=4)).grid.size == 12
    assert SOMConfig().sigma_start() == 5.0  # max(10, 10) / 2
    with pytest.raises(NotFittedError):
        som.distance_map()
    with pytest.raises(TypeError, match="at most 2 positional"):
        SOM(3, 4, 5)
    # the other lessons' name a constructor takes is an attribute too (it raised AttributeError)
    aliased = SOM(2, 2, lr=0.2)
    assert aliased.lr == aliased.learning_rate == 0.2
    aliased.lr = 0.3
    assert aliased.config.learning_rate == 0.3 and "lr" not in aliased.get_params()


def test_ragged_rows_are_one_clear_error():
    with pytest.raises(ValueError, match="X has rows of different lengths"):
        SOM(2, 2, device="cpu").fit([[1.0, 2.0], [3.0]])


@pytest.mark.parametrize("kwargs, message", [
    (dict(neighborhood="gausian"), "choose one of gaussian, bubble, mexican_hat, triangle"),
    (dict(algorithm="sgd"), "choose one of batch, online, minibatch"),
    (dict(distance="cheb"), "choose one of euclidean, cosine, manhattan"),
    (dict(init="zeros"), "choose one of pca, random, sample"),
    (dict(epochs=0), "epochs must be >= 1"),
    (dict(sigma=-1.0), "sigma must be >= 0.01"),
    (dict(m=1, n=1), "a 1x1 grid has no neighbours"),
    (dict(topology="hexagonal", toroidal=True, m=5), "toroidal needs an even number of rows"),
    (dict(algorithm="online", neighborhood="mexican_hat"), "sigma_end must be >= 1 with the "
                                                           "mexican_hat"),
    (dict(iterations=100), "iterations applies to the online and minibatch algorithms"),
    (dict(device="gpu"), "unknown device 'gpu'; use auto, cpu, cuda, cuda:N or mps"),
    (dict(backend="numpy", device="cuda"), "backend numpy runs on the CPU only"),
    (dict(epochs=2.5), "epochs must be an integer"),
    (dict(seed=-1), "seed must be >= 0"),
])
def test_bad_hyper_parameters_raise_one_clear_value_error(iris, kwargs, message):
    with pytest.raises(ValueError, match=message):
        SOM(**{"m": 4, "n": 4, "device": "cpu", **kwargs}).fit(iris[0])


def test_bad_data_is_named(iris):
    X, _ = iris
    with pytest.raises(ValueError, match="must be 2-D"):
        SOM(3, 3, device="cpu").fit(X[0])
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SOM(3, 3, device="cpu").fit(bad)
    som = SOM(3, 3, epochs=1, device="cpu").fit(X)
    with pytest.raises(ValueError, match="X has 3 features, but SOM is expecting 4 features"):
        som.predict(X[:, :3])
    with pytest.raises(ValueError, match="not fitted"):
        SOM(3, 3).predict(X)
    # numbers held as objects (a DataFrame with mixed columns) are floats; text is refused
    assert np.array_equal(som.predict(X.astype(object)), som.predict(X))
    with pytest.raises(ValueError, match="must be numeric, got dtype object"):
        som.predict(np.array([["a", 1.0, 2.0, 3.0]], dtype=object))


def test_top_components_by_subspace_iteration_match_the_eigendecomposition():
    from dlcourse.som import top_components

    images = load_digits().data
    rows = np.hstack([images, images[:, ::-1] * 0.5, images[:, ::3]])  # d = 150 > 128
    rows = rows - rows.mean(0)
    values, vectors = top_components(rows, 2)
    exact_values, exact_vectors = np.linalg.eigh(np.cov(rows.T))
    np.testing.assert_allclose(values, exact_values[::-1][:2], rtol=1e-6)
    for k in range(2):
        assert abs(vectors[:, k] @ exact_vectors[:, -1 - k]) == pytest.approx(1.0, abs=1e-6)


def test_data_too_spread_for_the_float32_search_is_refused_before_training():
    # it failed deep in the PCA start (LinAlgError), or trained a map of infinities
    X = np.random.default_rng(0).normal(size=(30, 3))
    with pytest.raises(ValueError, match=r"X: column '0' lies up to .* standardise or rescale"):
        SOM(3, 3, device="cpu").fit(X * 1e200)
    assert np.isfinite(SOM(3, 3, epochs=2, device="cpu").fit(X * 1e10).quantization_error_)
    # a constant offset is no spread: the search subtracts the mean first
    assert np.isfinite(SOM(3, 3, epochs=2, device="cpu").fit(X + 1e30).quantization_error_)


def test_load_refuses_an_unavailable_device_at_once(tmp_path):
    # it loaded, and the first query failed; the other lessons refuse at load
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is there")
    SOM(2, 2, epochs=1, device="cpu").fit(np.random.default_rng(0).normal(size=(20, 3))) \
        .save(tmp_path / "map")
    with pytest.raises(DlcourseError, match="'cuda' asked for but CUDA is not available"):
        SOM.load(tmp_path / "map", device="cuda")
    assert SOM.load(tmp_path / "map", device="cpu").device_ == "cpu"


def test_a_minisom_or_scikit_learn_user_is_told_what_to_write():
    """MiniSom's names mean the same here (neighborhood_function, activation_distance,
    random_seed; scikit-learn's random_state); its input_len and decay functions get a hint."""
    from dlcourse.errors import ConfigError

    som = SOM(5, 5, neighborhood_function="bubble", activation_distance="cosine",
              random_seed=3)
    assert (som.neighborhood, som.distance, som.seed) == ("bubble", "cosine", 3)
    assert SOM(3, 3, random_state=7).get_params()["seed"] == 7
    with pytest.raises(TypeError, match="MiniSom's third, input_len, is not needed"):
        SOM(10, 10, 4)
    with pytest.raises(ConfigError, match="input_len is not needed"):
        SOM(10, 10, input_len=4)
    with pytest.raises(ConfigError, match="write decay='inverse_time'"):
        SOM(10, 10, decay_function="asymptotic_decay")
    with pytest.raises(ConfigError, match="random_state and seed are one parameter"):
        SOM(3, 3, random_state=1, seed=2)


def test_a_minisom_script_runs_with_its_calls(iris):
    """MiniSom's calls as a script writes them, against MiniSom itself where they must agree:
    train(data, n) is the online rule for n samples; winner/activate/quantization answer from
    the same weights."""
    from minisom import MiniSom

    from dlcourse.som.compare import to_minisom_layout

    X, _ = iris
    som = SOM(6, 6, sigma=1.5, learning_rate=0.5, device="cpu")
    som.pca_weights_init(X)
    som.train(X, 500, random_order=True)
    assert (som.algorithm, som.iterations, som.shuffle) == ("online", 500, True)
    assert som.history_[-1]["epoch"] >= 1
    som.train_batch(X, 300)
    assert (som.iterations, som.shuffle) == (300, False)
    weights = som.get_weights()
    assert weights.shape == (6, 6, 4) and weights is not som.weights_
    peer = MiniSom(6, 6, 4)
    peer._weights = to_minisom_layout(weights, "rectangular")
    for x in X[:20]:
        r, c = som.winner(x)
        assert (r, c) == tuple(som.predict(x[None])[0])
        np.testing.assert_allclose(som.activate(x)[r, c], som.activate(x).min())
        np.testing.assert_allclose(som.activate(x).min(), peer.activate(x).min(), rtol=1e-4)
    np.testing.assert_allclose(som.quantization(X), peer.quantization(X), rtol=1e-5, atol=1e-6)
    som.random_weights_init(X)
    assert som.init == "sample"
    with pytest.raises(ValueError, match="x must be one sample"):
        som.winner(X[:2])


def test_one_batch_epoch_trains_at_the_end_radius():
    # at the start radius (5 on a 10x10 map) the one epoch left the map smoother than its PCA
    # start: QE 1.61 against 1.19, and --sigma-end was never reached
    from dlcourse.som.rules import TrainSettings

    assert TrainSettings("batch", 1, sigma=5.0, sigma_end=0.5).batch_sigmas() == [0.5]
    sigmas = TrainSettings("batch", 3, sigma=5.0, sigma_end=0.5, decay="linear").batch_sigmas()
    assert sigmas == pytest.approx([5.0, 2.75, 0.5])
    X = np.random.default_rng(0).normal(size=(300, 4)) * [1, 2, 3, 4]
    som = SOM(10, 10, epochs=1, random_state=0).fit(X)
    start, end = som.history_[0], som.history_[-1]
    assert end["quantization_error"] < start["quantization_error"]
