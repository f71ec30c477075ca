"""Lesson: text classification (movie-review sentiment) with Kim's CNN, a Transformer encoder
and RNN/GRU/LSTM models.

``TextClassifier`` is the estimator (fit/predict/evaluate/save/load) and ``ClassifierConfig``
its settings; ``CNNClassifier``, ``TransformerClassifier`` and ``RNNClassifier`` the plain
``nn.Module``s inside (built from their module configs by ``build_classifier``);
``drop_words`` and ``adversarial_loss`` the training's regularisers for a loop of your own; the
metrics are numpy functions usable on any predictions.

Names are imported lazily (PEP 562), so that the torch-free settings
(``dlcourse.classify.config``) serve ``dlcourse classify --help`` without importing torch.

>>> from dlcourse.classify import TextClassifier, rt_split           # doctest: +SKIP
>>> split = rt_split()                                               # doctest: +SKIP
>>> clf = TextClassifier(epochs=3).fit(*split["train"], valid=split["valid"])  # doctest: +SKIP
>>> clf.evaluate(*split["test"])["accuracy"]                         # doctest: +SKIP
>>> clf.save("runs/rt"); TextClassifier.load("runs/rt").predict(["a fine film"])  # doctest: +SKIP
"""

from __future__ import annotations

import importlib

# public name -> module that defines it
_EXPORTS = {
    "BertClassifier": "bert",
    "BertConfig": "bert",
    "load_bert_weights": "bert",
    "CNNClassifier": "cnn",
    "CNNConfig": "cnn",
    "ClassifierConfig": "config",
    "holdout": "data",
    "kfold": "data",
    "load_pang_lee_sample": "data",
    "load_rt_sentences": "data",
    "read_labelled": "data",
    "rt_split": "data",
    "TextClassifier": "estimator",
    "WordEmbedding": "layers",
    "classification_metrics": "metrics",
    "confusion_matrix": "metrics",
    "precision_recall_f1": "metrics",
    "roc_auc": "metrics",
    "roc_curve": "metrics",
    "RNNClassifier": "models",
    "RNNConfig": "models",
    "build_classifier": "models",
    "classification_loss": "models",
    "logits_to_proba": "models",
    "model_config": "models",
    "embedding_matrix": "pretrained",
    "load_vectors": "pretrained",
    "train_word2vec": "pretrained",
    "adversarial_loss": "training",
    "drop_words": "training",
    "lr_schedule": "training",
    "TransformerClassifier": "transformer",
    "TransformerConfig": "transformer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'dlcourse.classify' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"dlcourse.classify.{_EXPORTS[name]}"), name)
    globals()[name] = value  # cache: the next lookup skips __getattr__
    return value


def __dir__() -> list[str]:
    return __all__
