"""Intrinsic evaluation: word-similarity Spearman rho (WordSim-353), analogy accuracy (Google)."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np

from dlcourse.embeddings.config import ANALOGY_METHOD, ANALOGY_METHODS, RESTRICT_VOCAB
from dlcourse.embeddings.vectors import KeyedVectors
from dlcourse.errors import InputError, MissingFileError, check_choice
from dlcourse.text.reading import read_text_lines

log = logging.getLogger(__name__)

#: fewer pairs than this in the vocabulary are named with the score: 2 pairs rank at +-1
#: whatever the vectors
FEW_PAIRS = 10


def _rank(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (as scipy.stats.rankdata)."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=np.float64)
    sorted_x = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sorted_x[j + 1] == sorted_x[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else float("nan")


def spearman(a, b) -> float:
    """Spearman's rank correlation of two sequences (nan if either is constant).

    Args:
        a, b: numbers of the same length n (ties get their average rank).

    Raises:
        InputError: ``a`` and ``b`` of different lengths.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise InputError(f"spearman takes two sequences of one length, got {a.size} and "
                         f"{b.size} numbers")
    return _pearson(_rank(a), _rank(b))


def _lookup(kv: KeyedVectors, restrict_vocab: int | None, case_insensitive: bool
            ) -> dict[str, int]:
    words = kv.index_to_key[:restrict_vocab]
    if not case_insensitive:
        return {w: i for i, w in enumerate(words)}
    table: dict[str, int] = {}
    for i, w in enumerate(words):
        table.setdefault(w.lower(), i)  # the first (most frequent) spelling wins
    return table


def eval_set(value: str, encoding: str = "utf-8", what: str = "DATA") -> tuple[Path, str]:
    """(file, "similarity" or "analogies") of an evaluation set: a registered name
    (:mod:`~dlcourse.embeddings.named_sets`), or a file whose first line that is not blank or
    a ``#`` comment tells (``: section`` opens an analogy file; anything else is a word-pair
    file).

    Args:
        value: the name or file.
        encoding: the file's text encoding.
        what: how messages name the argument: the command line's ``DATA``, or ``data`` as
            ``Word2Vec.evaluate`` calls it.

    Raises:
        InputError: neither a name nor a readable text file (missing, empty, binary,
            undecodable: naming the line), or the name of a set of vectors.
    """
    from dlcourse.embeddings import named_sets
    from dlcourse.text.reading import check_text_file, read_text_lines

    sets = ", ".join(named_sets.names("similarity", "analogies"))
    kind = named_sets.kind_of(value)
    if kind == "vectors":
        raise InputError(f"{what} {value!r} is a set of word vectors, not an evaluation set "
                         f"({sets})")
    if kind is not None:
        return named_sets.set_file(named_sets.named(value, kind)), kind
    if not str(value).strip():  # Path("") is ".", the working folder
        raise InputError(f"{what} is empty; give an evaluation set ({sets}) or a file of "
                         "word pairs or analogies")
    path = Path(value)
    if not path.exists():
        raise MissingFileError(f"{what} {value!r} is neither an evaluation set ({sets}) nor an "
                               "existing file")
    check_text_file(path, encoding, what, holds="word pairs (word, word, score a line) or "
                    "analogies (': section' lines, then four words a line)")
    for line in read_text_lines(path, encoding):
        if line.strip() and not line.startswith("#"):
            return path, "analogies" if line.lstrip().startswith(":") else "similarity"
    raise InputError(f"{what} {path} holds only comments; give word pairs or analogies")


def evaluate_similarity(kv: KeyedVectors, path: str | Path | None = None,
                        restrict_vocab: int | None = RESTRICT_VOCAB, case_insensitive: bool = True,
                        delimiter: str = "\t", encoding: str = "utf-8") -> dict:
    """Spearman (and Pearson) correlation of cosine similarity with human scores.

    Args:
        kv: the vectors.
        path: word pairs ``w1<TAB>w2<TAB>score`` with ``#`` comment lines (the WordSim-353
            format), or a registered set's name; default: the ``wordsim353`` data set.
        restrict_vocab: pairs with a word outside the first N words are skipped (``oov``).
        case_insensitive: compare lower-cased words (the most frequent spelling wins).
        delimiter: the field separator.
        encoding: the file's encoding (an undecodable byte is an error naming the line).

    Returns:
        ``{"spearman", "pearson", "pairs", "oov", "oov_ratio"}`` (oov_ratio in percent, as
        gensim's ``evaluate_word_pairs``).

    Raises:
        MissingFileError: no such file (a FileNotFoundError too).
        InputError: the name of a set of another kind (analogies, vectors).
        InputError: a malformed line (naming it), fewer than 2 pairs in the vocabulary.
    """
    from dlcourse.embeddings import named_sets

    path = named_sets.resolve(path, "similarity", "wordsim353")
    if not path.is_file():
        raise MissingFileError(f"no word-pair file at {path}; give a TSV of w1, w2, score or "
                               f"a registered set ({', '.join(named_sets.names('similarity'))})")
    table = _lookup(kv, restrict_vocab, case_insensitive)
    unit = kv.get_normed_vectors()
    gold, predicted, oov = [], [], 0
    for lineno, line in enumerate(read_text_lines(path, encoding), 1):
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split(delimiter)
        try:
            a, b, score = parts[0], parts[1], float(parts[2])
        except (IndexError, ValueError):
            raise InputError(f"{path}:{lineno}: expected 'word1{delimiter!r}word2"
                             f"{delimiter!r}score', got {_shown(line)}") from None
        if not math.isfinite(score):  # float() reads "nan" and "inf"; no correlation can
            raise InputError(f"{path}:{lineno}: the score {parts[2].strip()!r} is not a "
                             "finite number; fix or remove the line")
        if case_insensitive:
            a, b = a.lower(), b.lower()
        if a not in table or b not in table:
            oov += 1
            continue
        gold.append(score)
        predicted.append(float(unit[table[a]] @ unit[table[b]]))
    if len(gold) < 2:
        cut = restrict_vocab is not None and restrict_vocab < len(kv)
        raise InputError(f"fewer than 2 pairs of {path.name} are in the vocabulary "
                         f"({oov} out of vocabulary" + (
                                f" among the first {restrict_vocab} words); look further "
                                "(--restrict-vocab) or train on a larger corpus" if cut else
                                "); train on a larger corpus"))
    if len(gold) < FEW_PAIRS:
        log.warning("only %d pairs of %s are in the vocabulary (%d out of it): a correlation "
                    "of so few pairs is mostly chance; train on a larger corpus", len(gold),
                    path.name, oov)
    return {"spearman": spearman(gold, predicted),
            "pearson": _pearson(np.array(gold), np.array(predicted)),
            "pairs": len(gold), "oov": oov, "oov_ratio": 100.0 * oov / (len(gold) + oov)}


def analogy_file(path: str | os.PathLike | None) -> Path:
    """The questions-words file ``path`` stands for (a registered name, or None: Google's).

    Raises:
        MissingFileError: no such file; InputError: the name of a set of another kind.
    """
    from dlcourse.embeddings import named_sets

    path = named_sets.resolve(path, "analogies", "questions-words")
    if not path.is_file():
        raise MissingFileError(f"no analogy file at {path}; give a questions-words file or a "
                               f"registered set ({', '.join(named_sets.names('analogies'))})")
    return path


def read_analogies(path: str | Path, encoding: str = "utf-8"
                   ) -> list[tuple[str, list[tuple[str, str, str, str]]]]:
    """Read the questions-words format: ``: section`` lines, then ``a b c d`` questions."""
    sections: list[tuple[str, list]] = []
    for lineno, line in enumerate(read_text_lines(path, encoding), 1):
        line = line.strip()
        if not line:
            continue
        if line.startswith(":"):
            sections.append((line[1:].strip(), []))
            continue
        words = line.split()
        if len(words) != 4 or not sections:
            raise InputError(f"{path}:{lineno}: expected ': section' or four words "
                             f"'a b c d', got {_shown(line)}")
        sections[-1][1].append(tuple(words))
    return sections


def evaluate_analogies(kv: KeyedVectors, path: str | Path | None = None,
                       restrict_vocab: int | None = RESTRICT_VOCAB, case_insensitive: bool = True,
                       method: str = ANALOGY_METHOD, batch_size: int = 256,
                       encoding: str = "utf-8") -> dict:
    """Analogy accuracy per section: for ``a b c d``, is d the nearest word to b - a + c?

    Candidates are the first ``restrict_vocab`` words minus a, b and c (gensim's rule);
    questions with a word outside them are skipped.

    Args:
        kv: the vectors.
        path: a questions-words file (``: section`` lines, then ``a b c d``) or a registered
            set's name; default: the ``questions-words`` data set (Google's analogies).
        restrict_vocab, case_insensitive: as in :func:`evaluate_similarity`.
        method: "3cosadd" or "3cosmul".
        batch_size: questions scored per matrix product.
        encoding: the file's encoding.

    Returns:
        ``{"accuracy", "correct", "total", "skipped", "sections": [{"section", "correct",
        "total", "accuracy"}, ...]}``; accuracy over the questions not skipped (overall: 0 if
        none; a section none of whose questions is in the vocabulary: None, not a score of 0).

    Raises:
        ValueError: an unknown method, the name of a set of another kind.
        MissingFileError: no such file (a FileNotFoundError too).
        InputError: a malformed line (naming it).
    """
    check_choice("analogy method", method, ANALOGY_METHODS)
    path = analogy_file(path)
    table = _lookup(kv, restrict_vocab, case_insensitive)
    unit = kv.get_normed_vectors()[:restrict_vocab]  # (Vr, D)
    results, skipped = [], 0
    for name, questions in read_analogies(path, encoding):
        ids = []
        for q in questions:
            q = tuple(w.lower() for w in q) if case_insensitive else q
            if all(w in table for w in q):
                ids.append([table[w] for w in q])
            else:
                skipped += 1
        ids_arr = np.array(ids, dtype=np.int64).reshape(-1, 4)  # (Q, 4): a b c d
        correct = 0
        for s in range(0, len(ids_arr), batch_size):
            chunk = ids_arr[s:s + batch_size]
            a, b, c = unit[chunk[:, 0]], unit[chunk[:, 1]], unit[chunk[:, 2]]  # (B, D) each
            if method == "3cosadd":
                query = b + c - a  # (B, D); its norm does not change the ranking
                scores = query @ unit.T  # (B, Vr)
            else:
                sa, sb, sc = ((1 + x @ unit.T) / 2 for x in (a, b, c))  # (B, Vr) each
                scores = sb * sc / (sa + 1e-6)
            rows = np.arange(len(chunk))[:, None]
            scores[rows, chunk[:, :3]] = -np.inf
            correct += int((scores.argmax(axis=1) == chunk[:, 3]).sum())
        results.append({"section": name, "correct": correct, "total": len(ids_arr),
                        "accuracy": correct / len(ids_arr) if len(ids_arr) else None})
    total = sum(r["total"] for r in results)
    correct = sum(r["correct"] for r in results)
    log.info("analogies: %s/%s correct, %s skipped", f"{correct:,}", f"{total:,}", f"{skipped:,}")
    return {"accuracy": correct / total if total else 0.0, "correct": correct, "total": total,
            "skipped": skipped, "sections": results}


def one_hot(words: list[str], max_words: int = 10000) -> KeyedVectors:
    """One-hot vectors: word i is the unit vector e_i (V, V), the baseline before dense vectors.

    Every two different words have cosine 0, so one-hot vectors know nothing of similarity.
    ``max_words`` guards memory (V*V*4 bytes); evaluate them on the words that matter.

    Args:
        words: the vocabulary V, unique words; word i gets row i.
        max_words: the most words allowed.

    Raises:
        InputError: more than ``max_words`` words (or a duplicate word).
    """
    if len(words) > max_words:
        raise InputError(f"{len(words)} words make a {len(words)}x{len(words)} one-hot matrix; "
                         f"keep at most max_words={max_words} (e.g. the evaluation words)")
    return KeyedVectors(words, np.eye(len(words), dtype=np.float32))


def _shown(line: str, width: int = 80) -> str:
    """A file's line quoted in a one-line error: its first ``width`` characters."""
    line = line.strip()
    return repr(line) if len(line) <= width else f"{line[:width]!r}... ({len(line):,} characters)"
