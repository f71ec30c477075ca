"""KeyedVectors: trained word vectors apart from the trainer (lookup, neighbours, analogies, IO)."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from dlcourse.errors import DlcourseError

log = logging.getLogger(__name__)

ANALOGY_METHODS = ("3cosadd", "3cosmul")


def _as_list(words: str | Iterable[str] | None) -> list[str]:
    if words is None:
        return []
    if isinstance(words, str):
        return [words]
    return list(words)


class KeyedVectors:
    """Word vectors keyed by word: the result of Word2Vec, GloVe or a file gensim/GloVe wrote.

    Parameters
    ----------
    words:
        The vocabulary, one entry per row of ``vectors`` (no duplicates). Index order is kept; the
        trainers store the most frequent words first.
    vectors:
        float32 array of shape (V, D).

    Example
    -------
    >>> import numpy as np
    >>> kv = KeyedVectors(["a", "b", "c"], np.eye(3, dtype=np.float32))
    >>> kv["b"].tolist(), "c" in kv, len(kv)
    ([0.0, 1.0, 0.0], True, 3)
    >>> [w for w, _ in kv.most_similar("a", topn=2)]
    ['b', 'c']
    """

    def __init__(self, words: Sequence[str], vectors: np.ndarray):
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be a 2-D array (V, D), got shape {vectors.shape}")
        words = [str(w) for w in words]
        if len(words) != vectors.shape[0]:
            raise ValueError(f"{len(words)} words but {vectors.shape[0]} vector rows; give one "
                             "vector per word")
        self.index_to_key: list[str] = words
        self.key_to_index: dict[str, int] = {w: i for i, w in enumerate(words)}
        if len(self.key_to_index) != len(words):
            dup = next(w for i, w in enumerate(words) if self.key_to_index[w] != i)
            raise ValueError(f"duplicate word {dup!r} in the vocabulary; words must be unique")
        self.vectors: np.ndarray = vectors  # (V, D)
        self._unit: np.ndarray | None = None

    # ------------------------------------------------------------------ lookup
    @property
    def vector_size(self) -> int:
        """The dimension D of the vectors."""
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __contains__(self, word: object) -> bool:
        return word in self.key_to_index

    def __repr__(self) -> str:
        return f"KeyedVectors({len(self)} words, {self.vector_size} dims)"

    def get_index(self, word: str) -> int:
        """Row of ``word``; an unknown word raises DlcourseError naming close entries."""
        try:
            return self.key_to_index[word]
        except KeyError:
            raise DlcourseError(self._unknown_message(word)) from None

    def _unknown_message(self, word: str) -> str:
        close = difflib.get_close_matches(str(word), self.index_to_key[:50000], n=5, cutoff=0.7)
        hint = (f"; close entries: {', '.join(close)}" if close
                else "; check its spelling and case")
        return f"word {word!r} is not in the vocabulary ({len(self)} words){hint}"

    def __getitem__(self, word: str | Sequence[str]) -> np.ndarray:
        """The vector (D,) of a word, or a (n, D) array for a list of words."""
        if isinstance(word, str):
            return self.vectors[self.get_index(word)]
        return self.vectors[[self.get_index(w) for w in word]]

    def get_normed_vectors(self) -> np.ndarray:
        """Unit-length copy of the vectors (V, D); zero rows stay zero. Cached."""
        if self._unit is None:
            norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)  # (V, 1)
            self._unit = self.vectors / np.maximum(norms, 1e-12)
        return self._unit

    # ------------------------------------------------------------ similarity
    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words."""
        unit = self.get_normed_vectors()
        return float(unit[self.get_index(w1)] @ unit[self.get_index(w2)])

    def _query(self, positive, negative) -> tuple[np.ndarray, list[int]]:
        pos, neg = _as_list(positive), _as_list(negative)
        if not pos and not neg:
            raise ValueError("most_similar needs at least one positive or negative word")
        unit = self.get_normed_vectors()
        ids = [self.get_index(w) for w in pos + neg]
        weights = np.array([1.0] * len(pos) + [-1.0] * len(neg), dtype=np.float32)
        mean = weights @ unit[ids] / len(ids)  # (D,)
        return mean / max(float(np.linalg.norm(mean)), 1e-12), ids

    def _top(self, scores: np.ndarray, exclude: list[int], topn: int) -> list[tuple[str, float]]:
        scores = scores.copy()
        scores[exclude] = -np.inf
        topn = min(topn, len(scores) - len(set(exclude)))
        if topn <= 0:
            return []
        best = np.argpartition(-scores, topn - 1)[:topn]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(self.index_to_key[i], float(scores[i])) for i in best]

    def most_similar(self, positive: str | Sequence[str] | None = None,
                     negative: str | Sequence[str] | None = None, topn: int = 10,
                     restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """Nearest words by cosine to the mean unit vector of ``positive`` minus ``negative``.

        This is 3CosAdd for analogies: ``most_similar(["king", "woman"], ["man"])`` ~ queen.
        The query words themselves are left out. ``restrict_vocab`` keeps only the first N words.
        """
        query, ids = self._query(positive, negative)
        unit = self.get_normed_vectors()[:restrict_vocab]
        return self._top(unit @ query, [i for i in ids if i < len(unit)], topn)

    def most_similar_cosmul(self, positive: str | Sequence[str] | None = None,
                            negative: str | Sequence[str] | None = None, topn: int = 10,
                            restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """3CosMul (Levy and Goldberg 2014): prod (1+cos(d,p))/2 / (prod (1+cos(d,n))/2 + 1e-6)."""
        pos, neg = _as_list(positive), _as_list(negative)
        if not pos:
            raise ValueError("most_similar_cosmul needs at least one positive word")
        unit = self.get_normed_vectors()
        full = unit[:restrict_vocab]
        pos_ids = [self.get_index(w) for w in pos]
        neg_ids = [self.get_index(w) for w in neg]
        sims_pos = (1 + full @ unit[pos_ids].T) / 2  # (V, P)
        sims_neg = (1 + full @ unit[neg_ids].T) / 2  # (V, N)
        scores = np.prod(sims_pos, axis=1) / (np.prod(sims_neg, axis=1) + 1e-6)
        return self._top(scores, [i for i in pos_ids + neg_ids if i < len(full)], topn)

    def analogy(self, a: str, b: str, c: str, topn: int = 1,
                method: str = "3cosadd") -> list[tuple[str, float]]:
        """Solve ``a : b :: c : ?`` (man : king :: woman : queen) by 3CosAdd or 3CosMul."""
        if method not in ANALOGY_METHODS:
            raise ValueError(f"unknown analogy method {method!r}; choose one of "
                             f"{', '.join(ANALOGY_METHODS)}")
        fn = self.most_similar if method == "3cosadd" else self.most_similar_cosmul
        return fn(positive=[b, c], negative=[a], topn=topn)

    def doesnt_match(self, words: Sequence[str]) -> str:
        """The word furthest from the mean of the others (lowest cosine to the group mean)."""
        words = list(words)
        if len(words) < 2:
            raise ValueError("doesnt_match needs at least two words")
        unit = self.get_normed_vectors()[[self.get_index(w) for w in words]]  # (n, D)
        mean = unit.mean(axis=0)
        mean /= max(float(np.linalg.norm(mean)), 1e-12)
        return words[int(np.argmin(unit @ mean))]

    def nearest_neighbors(self, words: Sequence[str], topn: int = 10, device: str = "cpu",
                          batch_size: int = 1024) -> list[list[tuple[str, float]]]:
        """Top-``topn`` cosine neighbours of each word (itself excluded) for a batch of words.

        Runs as one matrix product per batch with torch on ``device`` ("cpu", "cuda", "auto").
        """
        import torch

        from dlcourse.engine import resolve_device

        dev = resolve_device(device)
        ids = [self.get_index(w) for w in words]
        unit = torch.from_numpy(self.get_normed_vectors()).to(dev)  # (V, D)
        k = min(topn + 1, len(self))
        out: list[list[tuple[str, float]]] = []
        for start in range(0, len(ids), batch_size):
            batch = torch.tensor(ids[start:start + batch_size], device=dev)
            scores = unit[batch] @ unit.T  # (B, V)
            scores[torch.arange(len(batch), device=dev), batch] = -float("inf")
            vals, idx = scores.topk(k, dim=1)
            for v_row, i_row in zip(vals[:, :topn].cpu().tolist(), idx[:, :topn].cpu().tolist()):
                out.append([(self.index_to_key[i], v) for i, v in zip(i_row, v_row)])
        return out

    # ---------------------------------------------------------------- files
    def save_word2vec_format(self, path: str | Path, binary: bool = False,
                             write_header: bool = True) -> Path:
        """Write the word2vec text or binary format (gensim/word2vec.c readable), atomically.

        ``write_header=False`` (text only) gives GloVe's format: the same lines without the
        "V D" header line.
        """
        from dlcourse.engine import atomic_write

        if binary and not write_header:
            raise ValueError("the binary word2vec format always has a header; use binary=False "
                             "for GloVe's header-less text format")
        path = Path(path)
        header = f"{len(self)} {self.vector_size}\n".encode()
        with atomic_write(path, "wb") as f:
            if write_header:
                f.write(header)
            if binary:
                for word, row in zip(self.index_to_key, self.vectors):
                    f.write(word.encode("utf-8") + b" " + row.astype("<f4").tobytes() + b"\n")
            else:
                fmt = " ".join(["%.9g"] * self.vector_size)
                for word, row in zip(self.index_to_key, self.vectors):
                    f.write(f"{word} {fmt % tuple(row.tolist())}\n".encode())
        return path

    @classmethod
    def load_word2vec_format(cls, path: str | Path, binary: bool = False,
                             no_header: bool = False, encoding: str = "utf-8",
                             unicode_errors: str = "strict", limit: int | None = None
                             ) -> KeyedVectors:
        """Read a word2vec text/binary file (gensim, word2vec.c) or GloVe's (``no_header=True``).

        ``limit`` reads only the first N vectors.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no vectors file at {path}; give the path of a word2vec or "
                                    "GloVe file")
        if binary:
            if no_header:
                raise ValueError("binary word2vec files always have a header; drop no_header")
            return cls._load_binary(path, encoding, unicode_errors, limit)
        words: list[str] = []
        rows: list[np.ndarray] = []
        dim = None
        with open(path, encoding=encoding, errors=unicode_errors) as f:
            if not no_header:
                first = f.readline().split()
                try:
                    n, dim = int(first[0]), int(first[1])
                except (ValueError, IndexError):
                    raise DlcourseError(f"{path} has no 'V D' header line; for a GloVe file use "
                                        "no_header=True (CLI: --format glove)") from None
                limit = n if limit is None else min(limit, n)
            for lineno, line in enumerate(f, start=1 if no_header else 2):
                if limit is not None and len(words) >= limit:
                    break
                parts = line.rstrip("\n\r ").split(" ")
                if len(parts) < 2:
                    continue
                if dim is None:
                    dim = len(parts) - 1
                if len(parts) < dim + 1:
                    raise DlcourseError(f"{path}:{lineno}: expected a word and {dim} numbers, got "
                                        f"{len(parts)} fields; is the file truncated?")
                # The word is everything before the last `dim` fields (GloVe 840B has spaces).
                words.append(" ".join(parts[:-dim]))
                rows.append(np.asarray(parts[-dim:], dtype=np.float32))
        if not rows:
            raise DlcourseError(f"{path} holds no vectors")
        return cls(words, np.stack(rows))

    @classmethod
    def _load_binary(cls, path: Path, encoding: str, unicode_errors: str,
                     limit: int | None) -> KeyedVectors:
        data = path.read_bytes()
        end = data.index(b"\n")
        n, dim = (int(x) for x in data[:end].split())
        n = n if limit is None else min(n, limit)
        pos = end + 1
        words: list[str] = []
        vectors = np.empty((n, dim), dtype=np.float32)
        nbytes = 4 * dim
        for i in range(n):
            space = data.index(b" ", pos)
            words.append(data[pos:space].lstrip(b"\n").decode(encoding, errors=unicode_errors))
            vectors[i] = np.frombuffer(data, dtype="<f4", count=dim, offset=space + 1)
            pos = space + 1 + nbytes
        return cls(words, vectors)

    def save(self, path: str | Path, config: dict | None = None,
             history: list | None = None) -> Path:
        """Save as the library's checkpoint (``load_checkpoint``/``weights_only=True`` loadable).

        ``config`` and ``history`` (plain types) are stored alongside, e.g. by the trainers.
        """
        import torch

        from dlcourse.engine import save_checkpoint

        path = Path(path)
        save_checkpoint(path, {
            "lesson": "embeddings",
            "config": dict(config or {}, vector_size=self.vector_size),
            "model": {"vectors": torch.from_numpy(self.vectors.copy())},
            "vocab": list(self.index_to_key), "classes": None,
            "epoch": int((config or {}).get("epochs", 0)), "history": list(history or []),
        })
        return path

    @classmethod
    def load(cls, path: str | Path) -> KeyedVectors:
        """Load vectors saved by :meth:`save` (a file, or a directory holding ``model.pt``)."""
        from dlcourse.engine import load_checkpoint

        path = Path(path)
        if path.is_dir():
            path = path / "model.pt"
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint at {path}; train one with `dlcourse embed "
                                    "train ... --out DIR`")
        state = load_checkpoint(path)
        if state.get("lesson") != "embeddings":
            raise DlcourseError(f"{path} is a {state.get('lesson')!r} checkpoint, not word "
                                "vectors; give a directory written by `dlcourse embed train`")
        return cls(state["vocab"], state["model"]["vectors"].numpy())


def load_vectors(path: str | Path) -> KeyedVectors:
    """Load vectors from any supported file: a checkpoint (dir or .pt), word2vec .bin, or text.

    Text files with a "V D" first line are read as word2vec, others as GloVe (no header).
    """
    path = Path(path)
    if path.is_dir() or path.suffix == ".pt":
        return KeyedVectors.load(path)
    if not path.is_file():
        raise FileNotFoundError(f"no vectors at {path}; give a directory from `dlcourse embed "
                                "train`, a .pt checkpoint or a word2vec/GloVe file")
    if path.suffix == ".bin":
        return KeyedVectors.load_word2vec_format(path, binary=True)
    with open(path, encoding="utf-8", errors="replace") as f:
        first = f.readline().split()
    has_header = len(first) == 2 and all(x.isdigit() for x in first)
    return KeyedVectors.load_word2vec_format(path, no_header=not has_header)


def words_and_neighbors(kv: KeyedVectors, probes: Sequence[str], topn: int = 5
                        ) -> tuple[list[str], list[int]]:
    """Each probe followed by its ``topn`` nearest words (no repeats), with the probe's group id.

    Returns ``(words, groups)`` ready for :func:`dlcourse.plots.embeddings.plot_word_map`.
    """
    words: list[str] = []
    groups: list[int] = []
    seen: set[str] = set()
    for g, probe in enumerate(probes):
        for word in [probe] + [w for w, _ in kv.most_similar(probe, topn=topn)]:
            if word not in seen:
                seen.add(word)
                words.append(word)
                groups.append(g)
    return words, groups
