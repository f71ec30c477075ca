"""Word-level language models: the lesson's embedding -> linear model and an LSTM beside it.

>>> from dlcourse.lm import LanguageModel, LMConfig, load_corpus  # doctest: +SKIP
>>> corpus = load_corpus("wordnet")  # doctest: +SKIP
>>> lm = LanguageModel(LMConfig.preset("lstm", epochs=3)).fit(corpus)  # doctest: +SKIP
>>> lm.perplexity(corpus.test)  # doctest: +SKIP
"""

from dlcourse.lm.batching import BPTTBatches, batchify
from dlcourse.lm.corpus import SOURCES, Corpus, corpus_from_splits, load_corpus, split_lines
from dlcourse.lm.inference import perplexity, sample, stream_loss, stream_totals
from dlcourse.lm.language_model import LanguageModel, LMConfig
from dlcourse.lm.models import EmbeddingModel, LSTMModel, build_model, detach_hidden
from dlcourse.lm.ngram import KneserNeyBigram

__all__ = [
    "BPTTBatches",
    "Corpus",
    "EmbeddingModel",
    "KneserNeyBigram",
    "LMConfig",
    "LSTMModel",
    "LanguageModel",
    "SOURCES",
    "batchify",
    "build_model",
    "corpus_from_splits",
    "detach_hidden",
    "load_corpus",
    "perplexity",
    "sample",
    "split_lines",
    "stream_loss",
    "stream_totals",
]
