"""Calibrated targets on the offline WordNet glosses (slow: about 2 minutes on 2 cores)."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_lstm_beats_the_kneser_ney_bigram_on_wordnet_glosses():
    from dlcourse.lm import KneserNeyBigram, LanguageModel, LMConfig, load_corpus

    corpus = load_corpus("wordnet", max_lines=6000, max_size=5000, seed=0)  # ~89k train tokens
    bigram = KneserNeyBigram(len(corpus.itos)).fit(corpus.train).perplexity(corpus.test)
    config = LMConfig.preset("lstm", epochs=4, num_layers=1, batch_size=10)
    lm = LanguageModel(config, device="cpu").fit(corpus)
    # measured 99.0 against 108.6 (seed 0); the bigram is a strong baseline on formulaic glosses
    assert lm.perplexity(corpus.test) < bigram < 0.05 * len(corpus.itos)
    # the table learns meaning from prediction alone: a related word among the 20 nearest
    near = {w for w, _ in lm.most_similar("animal", topn=20)}
    assert near & {"organism", "animals", "mammal", "creature", "plant", "bird", "fish", "insect"}
