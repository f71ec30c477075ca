"""The input embedding table of a trained language model read as word vectors."""

from __future__ import annotations

import difflib
from pathlib import Path

from dlcourse.errors import UnknownTokenError
from dlcourse.lm.corpus import SPECIALS


class EmbeddingVectors:
    """:class:`~dlcourse.lm.LanguageModel`'s word-vector methods: its input embedding table as
    :class:`~dlcourse.embeddings.KeyedVectors`, neighbours and vector files. The host class
    provides ``check_is_fitted``, ``tokenize``, ``model_`` (with ``embedding_table``) and
    ``itos_``.
    """

    def keyed_vectors(self):
        """The input embedding table as :class:`dlcourse.embeddings.KeyedVectors` (no ``<pad>``)."""
        from dlcourse.embeddings import KeyedVectors

        self.check_is_fitted()
        table = self.model_.embedding_table.detach().float().cpu().numpy()  # (V, E)
        keep = [i for i, w in enumerate(self.itos_) if w != "<pad>"]
        return KeyedVectors([self.itos_[i] for i in keep], table[keep])

    def vocabulary_entries(self, words: list[str]) -> list[str]:
        """The vocabulary entry each word stands for: the word itself, or the one token the
        model's tokenizer makes of it, as ``generate`` reads it (``President`` -> ``president``
        with basic_english).

        Raises:
            UnknownTokenError: naming every word that is in the vocabulary neither way.
        """
        self.check_is_fitted()
        known = set(self.itos_) - {"<pad>"}  # the table's words (keyed_vectors)
        entries, unknown = [], []
        for word in words:
            tokens = [word] if word in known else self.tokenize(word)
            if len(tokens) == 1 and tokens[0] in known:
                entries.append(tokens[0])
            elif word not in unknown:
                unknown.append(word)
        if len(unknown) > 1:
            raise UnknownTokenError(f"words {', '.join(map(repr, unknown))} are not in the "
                                    f"vocabulary ({len(self.itos_):,} words); check their "
                                    "spelling")
        if unknown:
            close = difflib.get_close_matches(unknown[0], sorted(known), n=5, cutoff=0.7)
            raise UnknownTokenError(f"word {unknown[0]!r} is not in the vocabulary "
                                    f"({len(self.itos_):,} words); "
                                    + (f"close entries: {', '.join(close)}" if close
                                       else "check its spelling"))
        return entries

    def most_similar(self, word: str, topn: int = 10) -> list[tuple[str, float]]:
        """Nearest words to ``word`` (read as :meth:`vocabulary_entries` reads it) by cosine
        similarity in the embedding table, best first.

        The specials (``<pad>``, ``<unk>``, ``<eos>``) are never answered: they are markers
        the model learned rows for, not words, so ``topn`` words come back where the
        vocabulary holds that many.

        Raises:
            UnknownTokenError: ``word`` is not in the vocabulary.
            InputError: ``topn`` is not a whole number >= 0.
        """
        kv, entry = self.keyed_vectors(), self.vocabulary_entries([word])[0]
        near = kv.most_similar(entry, topn=topn)  # topn checked as KeyedVectors checks it
        if any(w in SPECIALS for w, _ in near):  # ask for room to drop them and still fill topn
            near = kv.most_similar(entry, topn=topn + len(SPECIALS))
        return [(w, score) for w, score in near if w not in SPECIALS][:topn]

    def export_vectors(self, path: str | Path, fmt: str = "word2vec") -> Path:
        """Write the embedding table as word vectors: ``fmt`` "word2vec" (text, gensim and
        GloVe tools read it), "word2vec-binary" or "glove" (text without the header); every row
        of :meth:`keyed_vectors`, ``<unk>`` and ``<eos>`` included."""
        from dlcourse.embeddings.vector_files import write_vectors

        kv = self.keyed_vectors()
        return write_vectors(kv.index_to_key, kv.vectors, path, fmt)
