"""Lesson: text classification (movie-review sentiment) with Kim's CNN, a Transformer encoder
and RNN/GRU/LSTM models.

``TextClassifier`` is the estimator (fit/predict/evaluate/save/load); ``CNNClassifier``,
``TransformerClassifier`` and ``RNNClassifier`` the plain ``nn.Module``s inside (built from
their configs by ``build_classifier``); ``drop_words`` and ``adversarial_loss`` the training's
regularisers for a loop of your own; the metrics are numpy functions usable on any predictions.
"""

from dlcourse.classify.cnn import CNNClassifier, CNNConfig
from dlcourse.classify.data import (
    holdout,
    kfold,
    load_pang_lee_sample,
    load_rt_sentences,
    read_labelled,
    rt_split,
)
from dlcourse.classify.estimator import TextClassifier
from dlcourse.classify.layers import WordEmbedding
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
    build_classifier,
    classification_loss,
    logits_to_proba,
    model_config,
)
from dlcourse.classify.pretrained import embedding_matrix, load_vectors, train_word2vec
from dlcourse.classify.training import adversarial_loss, drop_words, lr_schedule
from dlcourse.classify.transformer import TransformerClassifier, TransformerConfig

__all__ = [
    "CNNClassifier",
    "CNNConfig",
    "ClassifierConfig",
    "RNNClassifier",
    "TextClassifier",
    "TransformerClassifier",
    "TransformerConfig",
    "WordEmbedding",
    "adversarial_loss",
    "build_classifier",
    "classification_loss",
    "classification_metrics",
    "confusion_matrix",
    "drop_words",
    "embedding_matrix",
    "holdout",
    "kfold",
    "load_pang_lee_sample",
    "load_rt_sentences",
    "load_vectors",
    "logits_to_proba",
    "lr_schedule",
    "model_config",
    "precision_recall_f1",
    "read_labelled",
    "roc_auc",
    "roc_curve",
    "rt_split",
    "train_word2vec",
]
