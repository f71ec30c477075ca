"""Metrics against hand-computed values and sklearn (when installed) on random data."""

import numpy as np
import pytest

from dlcourse.classify.metrics import (
    classification_metrics,
    confusion_matrix,
    precision_recall_f1,
    roc_auc,
    roc_curve,
)


def test_confusion_matrix_and_prf_by_hand():
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 1, 0, 1, 2, 2]
    cm = confusion_matrix(y_true, y_pred, 3)
    assert cm.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    p, r, f = precision_recall_f1(cm)
    np.testing.assert_allclose(p, [1.0, 0.5, 0.5])
    np.testing.assert_allclose(r, [2 / 3, 0.5, 1.0])
    np.testing.assert_allclose(f, [0.8, 0.5, 2 / 3])


def test_class_never_predicted_gets_zero_not_nan():
    p, r, f = precision_recall_f1(confusion_matrix([0, 1, 1], [0, 0, 0], 2))
    assert p[1] == 0.0 and r[1] == 0.0 and f[1] == 0.0
    assert not np.isnan(p).any()


def test_confusion_matrix_rejects_bad_input():
    with pytest.raises(ValueError, match="equal lengths"):
        confusion_matrix([0, 1], [0], 2)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        confusion_matrix([0, 2], [0, 1], 2)


def test_roc_auc_ties_and_extremes():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert roc_auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)  # a tie counts half
    assert roc_auc([0, 0, 1], [0.1, 0.2, 0.9]) == 1.0
    assert roc_auc([0, 0, 1], [0.9, 0.8, 0.1]) == 0.0
    with pytest.raises(ValueError, match="both classes"):
        roc_auc([1, 1], [0.2, 0.3])


def test_roc_functions_read_labels_alike_and_refuse_bad_pairs():
    from dlcourse.errors import InputError

    # any label other than 1 is negative in both: -1/1 labels give the 0/1 labels' curve
    y, s = [-1, 1, -1, 1, 1], [0.2, 0.9, 0.6, 0.4, 0.8]
    for got, want in zip(roc_curve(y, s), roc_curve([0, 1, 0, 1, 1], s), strict=True):
        np.testing.assert_array_equal(got, want)
    fpr, tpr = roc_curve(y, s)
    assert tpr.max() == 1.0 and np.trapezoid(tpr, fpr) == pytest.approx(roc_auc(y, s))
    for f in (roc_auc, roc_curve):
        with pytest.raises(InputError, match="y_true has 3 items but scores has 2"):
            f([0, 1, 1], [0.2, 0.3])
    with pytest.raises(InputError, match="at least one item"):
        roc_curve([], [])


def test_against_sklearn_on_random_data():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    s = np.round(rng.random(500) * 0.6 + 0.4 * y, 2)  # rounding makes ties
    pred = (s > 0.5).astype(int)
    assert roc_auc(y, s) == pytest.approx(metrics.roc_auc_score(y, s))
    fpr, tpr = roc_curve(y, s)
    assert np.trapezoid(tpr, fpr) == pytest.approx(metrics.roc_auc_score(y, s))
    m = classification_metrics(y, pred, ["neg", "pos"], scores=s)
    assert m["accuracy"] == pytest.approx(metrics.accuracy_score(y, pred))
    assert m["macro_f1"] == pytest.approx(metrics.f1_score(y, pred, average="macro"))
    assert m["per_class"][1]["recall"] == pytest.approx(metrics.recall_score(y, pred))
    assert m["confusion_matrix"] == metrics.confusion_matrix(y, pred).tolist()
    assert m["classes"] == ["neg", "pos"] and m["n"] == 500


def test_macro_averages_only_classes_in_the_set_or_predicted():
    metrics = pytest.importorskip("sklearn.metrics")
    # classes 0 and 3 ("Pos", "meh") are known to the model but neither in y nor predicted
    y = [1, 1, 1, 2, 2, 2]
    pred = [1, 2, 1, 2, 2, 1]
    m = classification_metrics(y, pred, ["Pos", "neg", "pos", "meh"])
    p, r, f, _ = metrics.precision_recall_fscore_support(y, pred, average="macro")
    assert (m["macro_precision"], m["macro_recall"], m["macro_f1"]) == pytest.approx((p, r, f))
    assert m["macro_classes"] == ["neg", "pos"]
    assert [c["in_macro"] for c in m["per_class"]] == [False, True, True, False]
    # a class only predicted (never true) counts, as in sklearn: its precision is 0
    pred = [1, 0, 1, 2, 2, 1]
    m = classification_metrics(y, pred, ["Pos", "neg", "pos", "meh"])
    p, r, f, _ = metrics.precision_recall_fscore_support(y, pred, average="macro",
                                                         zero_division=0)
    assert (m["macro_precision"], m["macro_recall"], m["macro_f1"]) == pytest.approx((p, r, f))
    assert m["macro_classes"] == ["Pos", "neg", "pos"]
    assert classification_metrics([], [], ["a", "b"])["macro_f1"] == 0.0


def test_metrics_table_says_which_classes_the_macro_row_leaves_out(capsys):
    from dlcourse.cli.classify_metrics import show_metrics

    show_metrics(classification_metrics([1, 2], [1, 2], ["Pos", "neg", "pos", "meh"]), "valid")
    out = capsys.readouterr().out
    assert "macro F1 1.0000" in out
    assert "left out (no texts, never predicted): Pos, meh" in out
    show_metrics(classification_metrics([0, 1], [0, 1], ["neg", "pos"]), "valid")
    assert "left out" not in capsys.readouterr().out
