"""scikit-learn's model selection on the lesson's classifiers, beyond accuracy: the scorers that
read probabilities (roc_auc, neg_log_loss, average_precision) find their column through
``classes_ == label``, so ``classes_`` is a numpy array as in scikit-learn's classifiers; the
bag-of-words baseline is a classifier with ``score`` too; and a DataFrame where one column of
texts goes is refused by name instead of being read as its column names."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlcourse.classify import BowLogisticRegression, TextClassifier
from dlcourse.errors import InputError

sklearn_metrics = pytest.importorskip("sklearn.metrics")
model_selection = pytest.importorskip("sklearn.model_selection")


def average_precision_of_pos():
    """average_precision for "pos"/"neg" labels: its scorer's positive label is 1, and
    scikit-learn's own classifiers refuse it for string labels too."""
    return sklearn_metrics.make_scorer(sklearn_metrics.average_precision_score,
                                       response_method="predict_proba", pos_label="pos")


@pytest.fixture(scope="module")
def rated():
    """531 Rotten Tomatoes sentences (every 20th: the file holds the positive ones first) with
    three int classes from their mean human rating: 0 negative (below -1, 201 of them), 1
    mixed (109), 2 positive (above 1, 221)."""
    from dlcourse.data.readers import read_rated_sentences

    rows = read_rated_sentences("movies")[::20]
    return [t for t, _ in rows], [0 if r < -1 else 2 if r > 1 else 1 for _, r in rows]


def fold_scores(make, texts, labels, scorer, cv=2):
    """The binary scorer's value on each stratified fold, computed from predict_proba with
    sklearn.metrics (its positive class is the last of ``classes_``)."""
    texts, labels = np.asarray(texts), np.asarray(labels)
    out = []
    for a, b in model_selection.StratifiedKFold(cv).split(texts, labels):
        model = make().fit(texts[a], labels[a])
        proba = model.predict_proba(texts[b])
        if scorer == "neg_log_loss":
            out.append(-sklearn_metrics.log_loss(labels[b], proba, labels=model.classes_))
        else:
            metric = getattr(sklearn_metrics, f"{scorer}_score")
            out.append(metric(labels[b] == model.classes_[1], proba[:, 1]))
    return out


# ---------------------------------------------------------------- classes_ is an array
@pytest.mark.parametrize("scorer, as_ints", [
    ("roc_auc", False), ("roc_auc", True), ("neg_log_loss", False), ("neg_log_loss", True),
    ("average_precision", True), ("average_precision", False)])
def test_probability_scorers_give_numbers_on_text_classifier_folds(pang_lee, tiny, scorer,
                                                                   as_ints):
    texts, labels = pang_lee
    if as_ints:
        labels = [int(y == "pos") for y in labels]
    tiny["epochs"] = 2
    scoring = average_precision_of_pos() if scorer == "average_precision" and not as_ints \
        else scorer
    scores = model_selection.cross_val_score(TextClassifier(**tiny), texts, labels, cv=2,
                                             scoring=scoring, error_score="raise")
    assert np.isfinite(scores).all()
    assert scores.tolist() == pytest.approx(
        fold_scores(lambda: TextClassifier(**tiny), texts, labels, scorer), abs=1e-6)


def test_average_precision_by_name_refuses_string_labels_as_for_sklearns_own(pang_lee, tiny):
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts, labels = pang_lee
    message = r"pos_label=1 is not a valid label: It should be one of \['neg' 'pos'\]"
    for model in (make_pipeline(CountVectorizer(), LogisticRegression()),
                  TextClassifier(**dict(tiny, epochs=1)), BowLogisticRegression(max_iter=5)):
        with pytest.raises(ValueError, match=message):
            model_selection.cross_val_score(model, texts, labels, cv=2,
                                            scoring="average_precision", error_score="raise")


def test_the_probe_call_gives_roc_auc_and_log_loss(pang_lee):
    """The call a new user tried: the library's default model, no downloaded vectors."""
    texts, labels = pang_lee
    for scorer in ("roc_auc", "neg_log_loss"):
        scores = model_selection.cross_val_score(
            TextClassifier(epochs=1, pretrained=None, device="cpu"), texts, labels, cv=2,
            scoring=scorer, error_score="raise")
        assert np.isfinite(scores).all(), scorer


def test_roc_auc_scorer_agrees_with_evaluate(tiny_fitted, pang_lee_split):
    _, (texts, labels) = pang_lee_split
    scorer = sklearn_metrics.get_scorer("roc_auc")
    assert scorer(tiny_fitted, texts, labels) == pytest.approx(
        tiny_fitted.evaluate(texts, labels)["roc_auc"])
    log_loss = sklearn_metrics.get_scorer("neg_log_loss")(tiny_fitted, texts, labels)
    assert -log_loss == pytest.approx(tiny_fitted.evaluate(texts, labels)["loss"], rel=1e-4)


def test_three_int_classes_score_one_vs_rest(rated, tiny):
    texts, labels = rated
    tiny["epochs"] = 2
    for scorer in ("roc_auc_ovr", "neg_log_loss"):
        scores = model_selection.cross_val_score(TextClassifier(**tiny), texts, labels, cv=2,
                                                 scoring=scorer, error_score="raise")
        assert np.isfinite(scores).all(), scorer


def test_classes_array_saves_as_json_and_loads_back(tiny_fitted, pang_lee, tmp_path):
    from dlcourse.engine.persist import model_path, read_manifest

    texts, _ = pang_lee
    assert isinstance(tiny_fitted.classes_, np.ndarray)
    tiny_fitted.save(tmp_path)
    saved = read_manifest(model_path(tmp_path))["state"]["classes"]
    assert saved == ["neg", "pos"] and json.loads(json.dumps(saved)) == saved
    loaded = TextClassifier.load(tmp_path, device="cpu")
    assert isinstance(loaded.classes_, np.ndarray)
    assert loaded.classes_.tolist() == ["neg", "pos"]
    # the columns keep classes_' order, and predict answers plain strings as before
    proba = loaded.predict_proba(texts[:20])
    assert loaded.predict(texts[:20]) == [["neg", "pos"][i] for i in proba.argmax(1)]
    assert all(type(y) is str for y in loaded.predict(texts[:20]))


def test_int_classes_stay_plain_in_the_file_metrics_and_predictions(rated, tiny, tmp_path):
    from dlcourse.engine.persist import model_path, read_manifest

    texts, labels = rated
    clf = TextClassifier(**dict(tiny, epochs=1)).fit(texts, np.array(labels))
    assert clf.classes_.tolist() == [0, 1, 2]
    assert all(type(y) is int for y in clf.predict(texts[:10]))
    m = clf.evaluate(texts, labels)
    assert m["classes"] == [0, 1, 2] and all(type(c["class"]) is int for c in m["per_class"])
    json.dumps(m)
    clf.save(tmp_path)
    assert read_manifest(model_path(tmp_path))["state"]["classes"] == [0, 1, 2]
    loaded = TextClassifier.load(tmp_path, device="cpu")
    assert loaded.evaluate(texts, labels)["accuracy"] == pytest.approx(m["accuracy"])


# ---------------------------------------------------------------- the baseline is a classifier
def test_baseline_is_a_classifier_with_accuracy_as_score(rated):
    from sklearn.base import clone, is_classifier

    texts, labels = rated
    bow = BowLogisticRegression(max_iter=50)
    assert is_classifier(bow) and clone(bow).get_params() == bow.get_params()
    scores = model_selection.cross_val_score(bow, texts, labels, cv=3, error_score="raise")
    x, y = np.asarray(texts), np.asarray(labels)
    manual = []
    for a, b in model_selection.StratifiedKFold(3).split(x, y):
        fitted = BowLogisticRegression(max_iter=50).fit(x[a], y[a])
        manual.append(np.mean(np.array(fitted.predict(x[b])) == y[b]))
    assert scores.tolist() == pytest.approx(manual)
    assert scores.mean() > 0.4  # three classes: chance is about a third


def test_baseline_grid_search_and_probability_scorers(pang_lee):
    texts, labels = pang_lee
    search = model_selection.GridSearchCV(BowLogisticRegression(max_iter=50),
                                          {"C": [0.1, 10.0]}, cv=2, scoring="roc_auc",
                                          error_score="raise").fit(texts, labels)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.C == search.best_params_["C"]
    for scorer in ("roc_auc", "neg_log_loss", "average_precision"):
        scoring = average_precision_of_pos() if scorer == "average_precision" else scorer
        scores = model_selection.cross_val_score(BowLogisticRegression(max_iter=50), texts,
                                                 labels, cv=2, scoring=scoring,
                                                 error_score="raise")
        assert scores.tolist() == pytest.approx(
            fold_scores(lambda: BowLogisticRegression(max_iter=50), texts, labels, scorer))


def test_baseline_classes_array_round_trips(tmp_path):
    texts = ["good fun", "great film", "dull mess", "bad plot"] * 3
    labels = np.array([1, 1, 0, 0] * 3)  # np.int64 each
    bow = BowLogisticRegression(max_iter=20).fit(texts, labels)
    assert isinstance(bow.classes_, np.ndarray) and bow.score(texts, labels) == 1.0
    bow.save(tmp_path)
    loaded = BowLogisticRegression.load(tmp_path)
    assert loaded.classes_.tolist() == [0, 1] and loaded.predict(["good fun"]) == [1]


# ---------------------------------------------------------------- a DataFrame for a column
@pytest.fixture(scope="module")
def frame(pang_lee):
    pd = pytest.importorskip("pandas")
    return pd.DataFrame({"text": pang_lee[0], "label": pang_lee[1]})


NOT_A_COLUMN = (r"texts must be a sequence of strings, got a DataFrame with the columns "
                r"'text'; pass one column of it, e.g. df\['text'\]")


@pytest.mark.parametrize("make", [lambda: TextClassifier(epochs=1, pretrained=None),
                                  lambda: BowLogisticRegression(max_iter=5)],
                         ids=["TextClassifier", "BowLogisticRegression"])
def test_fit_refuses_a_one_column_dataframe_by_name(frame, make):
    with pytest.raises(InputError, match=NOT_A_COLUMN):
        make().fit(frame[["text"]], frame["label"])
    with pytest.raises(InputError, match=r"labels must be a sequence of strings or numbers, "
                                         r"got a DataFrame with the columns 'label'; pass one "
                                         r"column of it, e.g. df\['label'\]"):
        make().fit(frame["text"], frame[["label"]])
    with pytest.raises(InputError, match=r"columns 'text', 'label'; pass one column of it"):
        make().fit(frame, frame["label"])


@pytest.fixture(scope="module")
def bow_of_series(frame):
    return BowLogisticRegression(max_iter=20).fit(frame["text"], frame["label"])


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score", "evaluate"])
def test_fitted_models_refuse_a_dataframe_and_take_its_column(frame, tiny_fitted,
                                                              bow_of_series, method):
    for model in (tiny_fitted, bow_of_series):
        call = getattr(model, method)
        args = (frame["label"],) if method in ("score", "evaluate") else ()
        with pytest.raises(InputError, match=NOT_A_COLUMN):
            call(frame[["text"]], *args)
        # the column itself (a Series) and a list of strings answer alike
        a, b = call(frame["text"], *args), call(frame["text"].tolist(), *args)
        assert np.array_equal(a, b) if method == "predict_proba" else a == b


def test_validation_dataframe_is_named_as_valid_texts(frame, tiny):
    with pytest.raises(InputError, match="valid texts must be a sequence of strings, got a "
                                         "DataFrame"):
        TextClassifier(**tiny).fit(frame["text"], frame["label"],
                                   valid=(frame[["text"]], frame["label"]))
