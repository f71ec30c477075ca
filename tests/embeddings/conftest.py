"""Fixtures for the embeddings tests: the Lee corpus and small models trained on it once."""

from __future__ import annotations

import pytest

from dlcourse.data.readers import read_lee
from dlcourse.embeddings import Word2Vec, tokenize


@pytest.fixture(scope="session")
def lee_sentences() -> list[list[str]]:
    """gensim's Lee background corpus (300 news documents), tokenized."""
    return [tokenize(doc) for doc in read_lee()]


@pytest.fixture(scope="session")
def lee_skipgram(lee_sentences) -> Word2Vec:
    """Skip-gram on Lee with gensim's test settings (about a second on 2 cores)."""
    return Word2Vec(method="skipgram", vector_size=50, min_count=2, epochs=10, seed=1,
                    workers=2).fit(lee_sentences)
