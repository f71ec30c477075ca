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

import lazy_loader

# submodule -> the public names it provides, each imported on first use (PEP 562)
__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "batching": ["BPTTBatches", "batchify"],
    "config": ["CorpusConfig", "LMConfig", "PRESETS", "SOURCES"],
    "corpus": ["Corpus", "corpus_from_splits", "load_corpus", "split_lines"],
    "inference": ["perplexity", "sample", "stream_loss", "stream_totals"],
    "language_model": ["LanguageModel"],
    "models": ["EmbeddingModel", "LSTMModel", "build_model", "detach_hidden"],
    "ngram": ["BigramConfig", "KneserNeyBigram"],
    "training": ["CarriedHidden"],
})
