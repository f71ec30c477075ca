"""Word embeddings: one-hot, word2vec (skip-gram, CBOW), GloVe, word vectors and their evaluation.

Names are imported on first use (PEP 562), so a query of saved vectors (``dlcourse embed
similar``) loads neither the trainers nor numba; nothing here imports torch unless a GPU path
runs.

>>> from dlcourse.embeddings import Word2Vec, evaluate_similarity   # doctest: +SKIP
>>> model = Word2Vec(method="skipgram", vector_size=100).fit(sentences)   # doctest: +SKIP
>>> model.wv.most_similar("war", topn=5)   # doctest: +SKIP
"""

from __future__ import annotations

import importlib

_MODULES = {  # submodule -> the public names it provides
    "config": ("GloVeConfig", "Word2VecConfig"),
    "corpus": ("Corpus", "tokenize"),
    "cooccurrence": ("count_cooccurrences",),
    "evaluate": ("evaluate_analogies", "evaluate_similarity", "one_hot", "spearman"),
    "glove": ("GloVe",),
    "vectors": ("KeyedVectors", "load_vectors", "words_and_neighbors"),
    "word2vec": ("Word2Vec",),
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    """Import the submodule that defines ``name`` on first use."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'dlcourse.embeddings' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"dlcourse.embeddings.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
