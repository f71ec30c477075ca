"""Word embeddings: one-hot, word2vec (skip-gram, CBOW), GloVe, word vectors and their evaluation.

Names are imported on first use (PEP 562), so a query of saved vectors (``dlcourse embed
similar``) loads neither the trainers nor numba; nothing here imports torch unless a GPU path
runs.

>>> from dlcourse.embeddings import Word2Vec, evaluate_similarity   # doctest: +SKIP
>>> model = Word2Vec(method="skipgram", vector_size=100).fit(sentences)   # doctest: +SKIP
>>> model.wv.most_similar("war", topn=5)   # doctest: +SKIP
"""

from __future__ import annotations

import lazy_loader

# submodule -> the public names it provides, each imported on first use (PEP 562)
__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "config": ["GloVeConfig", "Word2VecConfig"],
    "corpus": ["Corpus", "tokenize"],
    "cooccurrence": ["count_cooccurrences"],
    "evaluate": ["evaluate_analogies", "evaluate_similarity", "one_hot", "spearman"],
    "glove": ["GloVe"],
    "vector_files": ["load_vectors"],
    "vectors": ["KeyedVectors"],
    "word2vec": ["Word2Vec"],
    "word_maps": ["words_and_neighbors"],
})
