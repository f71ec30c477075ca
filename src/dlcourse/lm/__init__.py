"""Word-level language models: the lesson's embedding -> linear model and an LSTM beside it.

Names are imported lazily (PEP 562), so that the torch-free settings (``dlcourse.lm.config``)
serve ``dlcourse lm --help`` without importing torch.

>>> from dlcourse.lm import LanguageModel, LMConfig, load_corpus  # doctest: +SKIP
>>> corpus = load_corpus("wordnet")  # doctest: +SKIP
>>> lm = LanguageModel(LMConfig.preset("lstm", epochs=3)).fit(corpus)  # doctest: +SKIP
>>> lm.perplexity(corpus.test)  # doctest: +SKIP
>>> lm.save("runs/lm"); LanguageModel.load("runs/lm").generate("the")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib

# public name -> module that defines it
_EXPORTS = {
    "BPTTBatches": "batching",
    "batchify": "batching",
    "CorpusConfig": "config",
    "LMConfig": "config",
    "PRESETS": "config",
    "SOURCES": "config",
    "Corpus": "corpus",
    "corpus_from_splits": "corpus",
    "load_corpus": "corpus",
    "split_lines": "corpus",
    "perplexity": "inference",
    "sample": "inference",
    "stream_loss": "inference",
    "stream_totals": "inference",
    "LanguageModel": "language_model",
    "EmbeddingModel": "models",
    "LSTMModel": "models",
    "build_model": "models",
    "detach_hidden": "models",
    "KneserNeyBigram": "ngram",
    "CarriedHidden": "training",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'dlcourse.lm' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"dlcourse.lm.{_EXPORTS[name]}"), name)
    globals()[name] = value  # cache: the next lookup skips __getattr__
    return value


def __dir__() -> list[str]:
    return __all__
