"""Lesson: text classification with RNN/GRU/LSTM models (movie-review sentiment).

``TextClassifier`` is the estimator (fit/predict/evaluate/save/load); ``RNNClassifier`` the
plain ``nn.Module`` inside; the metrics are numpy functions usable on any predictions.
"""

from dlcourse.classify.data import (
    holdout,
    load_pang_lee_sample,
    load_rt_sentences,
    read_labelled,
    rt_split,
)
from dlcourse.classify.estimator import TextClassifier
from dlcourse.classify.metrics import (
    classification_metrics,
    confusion_matrix,
    precision_recall_f1,
    roc_auc,
    roc_curve,
)
from dlcourse.classify.models import (
    ClassifierConfig,
    RNNClassifier,
    classification_loss,
    logits_to_proba,
)
from dlcourse.classify.pretrained import embedding_matrix, load_vectors

__all__ = [
    "ClassifierConfig",
    "RNNClassifier",
    "TextClassifier",
    "classification_loss",
    "classification_metrics",
    "confusion_matrix",
    "embedding_matrix",
    "holdout",
    "load_pang_lee_sample",
    "load_rt_sentences",
    "load_vectors",
    "logits_to_proba",
    "precision_recall_f1",
    "read_labelled",
    "roc_auc",
    "roc_curve",
    "rt_split",
]
