"""Classification metrics in numpy: accuracy, precision/recall/F1, confusion matrix, ROC-AUC."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dlcourse.errors import InputError


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> np.ndarray:
    """Count matrix ``cm[i, j]`` = items of true class ``i`` predicted as class ``j``.

    Args:
        y_true, y_pred: integer class indices in ``[0, n_classes)``, same length.
        n_classes: number of classes (rows and columns of the result).

    Returns:
        ``(n_classes, n_classes)`` int64 array.

    Example:
        >>> confusion_matrix([0, 1, 1], [0, 1, 0], 2).tolist()
        [[1, 0], [1, 1]]
    """
    t = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_pred, dtype=np.int64)
    if t.shape != p.shape:
        raise InputError(f"y_true has {t.size} items but y_pred has {p.size}; pass equal lengths")
    if t.size and (min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= n_classes):
        raise InputError(f"class indices must lie in [0, {n_classes}); encode the labels first")
    # one bincount over the flattened (true, pred) pair index
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )


def precision_recall_f1(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall and F1 from a confusion matrix (0 where undefined).

    Args:
        cm: ``(n_classes, n_classes)`` counts, rows the true class, columns the predicted one
            (as :func:`confusion_matrix` returns).

    Returns:
        three ``(n_classes,)`` float arrays.
    """
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    predicted = cm.sum(axis=0)  # column sums: items predicted as each class
    actual = cm.sum(axis=1)  # row sums: items truly of each class
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return precision, recall, f1


def roc_auc(y_true: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the ROC curve for two classes (positive = 1), ties counted as half.

    Computed as the Mann-Whitney U statistic from average ranks, so it equals the probability
    that a random positive scores higher than a random negative.

    Args:
        y_true: ``(N,)`` class indices; 1 is the positive class, any other value negative.
        scores: ``(N,)`` scores of the positive class (probabilities or any score).

    Raises:
        InputError: only one class present (the AUC is undefined), or ``y_true`` and
            ``scores`` of different lengths.

    Example:
        >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        0.75
    """
    y, s = _labels_and_scores(y_true, scores)
    n_pos = int((y == 1).sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise InputError("ROC-AUC needs both classes in y_true; evaluate on more data")
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    ranks = np.empty(s.size, dtype=np.float64)
    # average rank (1-based) within each run of tied scores
    starts = np.flatnonzero(np.r_[True, sorted_s[1:] != sorted_s[:-1]])
    ends = np.r_[starts[1:], s.size]
    for a, b in zip(starts, ends):
        ranks[order[a:b]] = (a + 1 + b) / 2.0
    u = ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def roc_curve(y_true: Sequence[int], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates at every distinct score threshold (for plotting).

    Args:
        y_true: ``(N,)`` class indices, N >= 1; 1 is the positive class, any other value
            negative (as :func:`roc_auc` reads them).
        scores: ``(N,)`` scores of the positive class, higher meaning more positive.

    Returns:
        ``(fpr, tpr)``, each starting at 0 and ending at 1.

    Raises:
        InputError: no items, or ``y_true`` and ``scores`` of different lengths.
    """
    y, s = _labels_and_scores(y_true, scores)
    if y.size == 0:
        raise InputError("roc_curve needs at least one item; got none")
    order = np.argsort(-s, kind="mergesort")
    y, s = (y[order] == 1).astype(np.int64), s[order]  # 1 positive, any other value negative
    last_of_run = np.r_[np.flatnonzero(s[1:] != s[:-1]), y.size - 1]
    tps = np.cumsum(y)[last_of_run]
    fps = (last_of_run + 1) - tps
    tpr = np.r_[0.0, tps / max(tps[-1], 1)]
    fpr = np.r_[0.0, fps / max(fps[-1], 1)]
    return fpr, tpr


def _labels_and_scores(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    """(N,) int64 labels and (N,) float64 scores, refusing unequal lengths (numpy would
    otherwise fail deep inside with an IndexError)."""
    y = np.asarray(y_true, dtype=np.int64).reshape(-1)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if y.size != s.size:
        raise InputError(f"y_true has {y.size} items but scores has {s.size}; pass equal "
                         "lengths")
    return y, s


def classification_metrics(
    y_true: Sequence[int],
    y_pred: Sequence[int],
    classes: Sequence,
    scores: Sequence[float] | None = None,
) -> dict:
    """Every metric of the lesson as one plain dict (JSON-ready).

    Args:
        y_true, y_pred: class indices into ``classes``.
        classes: the class labels, in index order.
        scores: for two classes, the probability (or any score) of ``classes[1]``; adds ``roc_auc``.

    Returns:
        ``{"n", "accuracy", "macro_precision", "macro_recall", "macro_f1", "macro_classes",
        "per_class": [{"class", "precision", "recall", "f1", "support", "in_macro"}],
        "confusion_matrix": [[...]], "classes": [...], "roc_auc"?}``

    The macro averages are over the classes present in ``y_true`` or ``y_pred`` (as
    scikit-learn's ``average="macro"``), listed in ``macro_classes``: a class the model knows
    but the set neither holds nor gets predicted has nothing to be right or wrong about, and its
    zeros would only pull the averages down. Its ``per_class`` row stays, with
    ``in_macro: false``.
    """
    n_classes = len(classes)
    cm = confusion_matrix(y_true, y_pred, n_classes)
    precision, recall, f1 = precision_recall_f1(cm)
    n = int(cm.sum())
    present = (cm.sum(axis=1) > 0) | (cm.sum(axis=0) > 0)
    out = {
        "n": n,
        "accuracy": float(np.trace(cm) / n) if n else 0.0,
        "macro_precision": _mean(precision[present]),
        "macro_recall": _mean(recall[present]),
        "macro_f1": _mean(f1[present]),
        "macro_classes": [_plain(c) for c, keep in zip(classes, present) if keep],
        "per_class": [
            {
                "class": _plain(c),
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(cm[i].sum()),
                "in_macro": bool(present[i]),
            }
            for i, c in enumerate(classes)
        ],
        "confusion_matrix": cm.tolist(),
        "classes": [_plain(c) for c in classes],
    }
    if scores is not None and n_classes == 2:
        y = np.asarray(y_true)
        out["roc_auc"] = roc_auc(y, scores) if 0 < y.sum() < y.size else float("nan")
    return out


def _mean(values: np.ndarray) -> float:
    """The mean, 0.0 for no values (no texts: nothing was right)."""
    return float(values.mean()) if values.size else 0.0


def _plain(value):
    """numpy scalars -> python scalars, so metrics and checkpoints hold plain types only."""
    return value.item() if isinstance(value, np.generic) else value
