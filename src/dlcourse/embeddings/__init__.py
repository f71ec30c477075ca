"""Word embeddings: one-hot, word2vec (skip-gram, CBOW), GloVe, word vectors and their evaluation.

>>> from dlcourse.embeddings import Word2Vec, evaluate_similarity   # doctest: +SKIP
>>> model = Word2Vec(method="skipgram", vector_size=100).fit(sentences)   # doctest: +SKIP
>>> model.wv.most_similar("war", topn=5)   # doctest: +SKIP
"""

from dlcourse.embeddings.corpus import Corpus, tokenize
from dlcourse.embeddings.evaluate import evaluate_analogies, evaluate_similarity, one_hot, spearman
from dlcourse.embeddings.glove import GloVe, count_cooccurrences
from dlcourse.embeddings.vectors import KeyedVectors, load_vectors, words_and_neighbors
from dlcourse.embeddings.word2vec import Word2Vec

__all__ = [
    "Corpus",
    "GloVe",
    "KeyedVectors",
    "Word2Vec",
    "count_cooccurrences",
    "evaluate_analogies",
    "evaluate_similarity",
    "load_vectors",
    "one_hot",
    "spearman",
    "tokenize",
    "words_and_neighbors",
]
