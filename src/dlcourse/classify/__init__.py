"""Lesson: text classification (movie-review sentiment) with Kim's CNN, a Transformer encoder
and RNN/GRU/LSTM models.

``TextClassifier`` is the estimator (fit/predict/evaluate/save/load) and ``ClassifierConfig``
its settings; ``BowLogisticRegression`` the bag-of-words baseline, with the same contract;
``CNNClassifier``, ``TransformerClassifier`` and ``RNNClassifier`` the plain ``nn.Module``s
inside (built from their module configs by ``build_classifier``); ``drop_words`` and
``adversarial_loss`` the training's regularisers for a loop of your own; the metrics are numpy
functions usable on any predictions.

Names are imported lazily (PEP 562), so that the torch-free settings
(``dlcourse.classify.config``) serve ``dlcourse classify --help`` without importing torch.

>>> from dlcourse.classify import TextClassifier, rt_split           # doctest: +SKIP
>>> split = rt_split()                                               # doctest: +SKIP
>>> clf = TextClassifier(epochs=3).fit(*split["train"], valid=split["valid"])  # doctest: +SKIP
>>> clf.evaluate(*split["test"])["accuracy"]                         # doctest: +SKIP
>>> clf.save("runs/rt"); TextClassifier.load("runs/rt").predict(["a fine film"])  # doctest: +SKIP
"""

from __future__ import annotations

import lazy_loader

# submodule -> the public names it provides, each imported on first use (PEP 562)
__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "baseline": ["BowConfig", "BowLogisticRegression"],
    "bert": ["BertClassifier", "BertConfig", "load_bert_weights"],
    "cnn": ["CNNClassifier", "CNNConfig"],
    "config": ["ClassifierConfig"],
    "data": ["holdout", "kfold", "load_pang_lee_sample", "load_rt_sentences", "read_labelled",
             "rt_split"],
    "estimator": ["TextClassifier"],
    "layers": ["WordEmbedding"],
    "metrics": ["classification_metrics", "confusion_matrix", "precision_recall_f1", "roc_auc",
                "roc_curve"],
    "models": ["RNNClassifier", "RNNConfig", "build_classifier", "classification_loss",
               "logits_to_proba", "model_config"],
    "pretrained": ["embedding_matrix", "load_vectors", "train_word2vec"],
    "training": ["adversarial_loss", "drop_words", "lr_schedule"],
    "transformer": ["TransformerClassifier", "TransformerConfig"],
})
