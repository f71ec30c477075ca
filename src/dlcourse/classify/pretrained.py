"""Word vectors for the embedding layer: load GloVe/word2vec vectors or train word2vec on the
training texts, build the matrix for a vocabulary, report the coverage."""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from dlcourse.classify.config import FIT_WORD2VEC, MINILM_WORDS, PRETRAINED_NAMES
from dlcourse.engine.interrupt import simulated_interrupt_paused
from dlcourse.errors import ConfigError, DlcourseError, InputError, TrainingInterrupted

log = logging.getLogger(__name__)

#: word2vec settings for the training texts (a few hundred thousand words: a few seconds);
#: one worker, so the vectors are bit-reproducible for a seed
FIT_WORD2VEC_SETTINGS = dict(method="skipgram", window=5, min_count=2, epochs=20, workers=1)
#: sources computed here for the vocabulary (nothing to load, no words of their own)
DERIVED = (FIT_WORD2VEC, MINILM_WORDS)
#: the vocabulary's special tokens: minilm-words gives them no vector (they start random)
SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")


def load_vectors(source) -> tuple[list[str], np.ndarray]:
    """Words and their vectors from a registered name, a file, or a KeyedVectors-like object.

    Args:
        source: ``"glove-6b-50d"`` (offline GloVe 6B, 50 dimensions), ``"glove-test"``
            (gensim's 76 GloVe vectors, for tests), a path (a GloVe or word2vec text file, a
            word2vec ``.bin``, or a directory written by ``dlcourse embed train``), or an object
            with ``index_to_key`` and ``vectors`` (the embeddings lesson's ``KeyedVectors``).

    Returns:
        ``(words, vectors)`` with vectors a float32 ``(len(words), dim)`` array.

    Raises:
        InputError: the file does not exist or is not a vector file.
    """
    if hasattr(source, "index_to_key") and hasattr(source, "vectors"):
        return list(source.index_to_key), np.asarray(source.vectors, dtype=np.float32)
    if source == "glove-6b-50d":
        from dlcourse.data.readers import read_glove_6b_50d

        return read_glove_6b_50d()
    from dlcourse.embeddings import load_vectors as load_keyed_vectors

    if source == "glove-test":
        from dlcourse.data import fetch

        source = fetch("glove-test") / "test_glove.txt"
    path = Path(source)
    if not path.exists():
        raise _not_found(source)
    kv = load_keyed_vectors(path)
    return list(kv.index_to_key), np.asarray(kv.vectors, dtype=np.float32)


def embedding_matrix(
    itos: Sequence[str],
    words: Sequence[str],
    vectors: np.ndarray,
    *,
    pad_id: int | None = 0,
    token_lists: Iterable[Sequence[str]] | None = None,
    seed: int = 0,
    counted: int | None = None,
) -> tuple[np.ndarray, dict]:
    """Embedding matrix for a vocabulary, rows from ``vectors`` where the word is known.

    A token missing from ``words`` is looked up lower-cased too (GloVe is lower-case). Unknown
    rows are drawn from a normal with the vectors' own standard deviation so they start on the
    same scale; the padding row is zero.

    Args:
        itos: the vocabulary, index -> token.
        words, vectors: the pretrained words and their ``(len(words), dim)`` vectors.
        pad_id: row kept at zero (None: none).
        token_lists: the training texts as tokens, to report the share of running tokens covered.
        seed: seeds the random rows.
        counted: the coverage counts only the first ``counted`` entries of ``itos`` (the
            training vocabulary, when words of the vectors were appended to it).

    Returns:
        ``(matrix, coverage)``: float32 ``(len(itos), dim)``; ``coverage`` = ``{"vocab_size",
        "found", "type_coverage", "token_coverage"?, "missing_examples"}``.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    index = {w: i for i, w in enumerate(words)}
    rng = np.random.default_rng(seed)
    scale = float(vectors.std()) if vectors.size else 1.0  # no vectors: nn.Embedding's N(0, 1)
    matrix = rng.normal(0.0, scale, (len(itos), vectors.shape[1]))
    matrix = matrix.astype(np.float32)  # (V, D)
    found = np.zeros(len(itos), dtype=bool)
    for i, token in enumerate(itos):
        j = index.get(token, index.get(token.lower()))
        if j is not None:
            matrix[i] = vectors[j]
            found[i] = True
    if pad_id is not None:
        matrix[pad_id] = 0.0
    n = len(itos) if counted is None else counted
    coverage = {
        "vocab_size": n,
        "found": int(found[:n].sum()),
        "type_coverage": float(found[:n].mean()) if n else 0.0,
        "missing_examples": [t for t, ok in zip(itos[:n], found[:n]) if not ok][:10],
    }
    if token_lists is not None:
        known = {t for t, ok in zip(itos, found) if ok}
        counts = Counter(t for tokens in token_lists for t in tokens)
        total = sum(counts.values())
        covered = sum(n for t, n in counts.items() if t in known)
        coverage["token_coverage"] = covered / total if total else 0.0
    return matrix, coverage


def train_word2vec(token_lists: Sequence[Sequence[str]], dim: int, seed: int = 0
                   ) -> tuple[list[str], np.ndarray]:
    """Skip-gram vectors of the words seen twice or more in ``token_lists`` (the embeddings
    lesson's numba word2vec, :data:`FIT_WORD2VEC_SETTINGS`): in-domain vectors when no
    pretrained ones are at hand. Same texts and seed, same vectors.

    Args:
        token_lists: the tokenized training texts, one list of tokens each (empty ones skipped).
        dim: the vectors' width.
        seed: word2vec's seed.

    Returns:
        ``(words, vectors)``, vectors float32 ``(len(words), dim)``; no words when none occurs
        twice (every row of the embedding then starts random).
    """
    from dlcourse.embeddings import Word2Vec

    token_lists = [list(t) for t in token_lists if t]
    counts = Counter(w for tokens in token_lists for w in tokens)
    if not any(n >= FIT_WORD2VEC_SETTINGS["min_count"] for n in counts.values()):
        log.warning("no word occurs twice in the training texts: no word2vec vectors, the "
                    "embedding starts random")
        return [], np.zeros((0, dim), dtype=np.float32)
    start = time.perf_counter()
    # a step of fitting a classifier, not a lesson of its own: one summary line instead of the
    # trainer's line per epoch, and a simulated Ctrl-C (DLCOURSE_INTERRUPT_AFTER) counts the
    # classifier's steps only (these seconds of set-up are redone on --resume anyway)
    quiet = logging.getLogger("dlcourse.embeddings")
    level = quiet.level
    quiet.setLevel(max(level, logging.WARNING))
    try:
        with simulated_interrupt_paused():
            model = Word2Vec(vector_size=dim, seed=seed, **FIT_WORD2VEC_SETTINGS).fit(token_lists)
    except TrainingInterrupted:  # its own message would speak of a run without an out_dir
        raise TrainingInterrupted("interrupted while training the word2vec vectors, before the "
                                  "classifier's first checkpoint; run the same command again "
                                  "(they take seconds)") from None
    finally:
        quiet.setLevel(level)
    log.info("word2vec on the training texts: %d words x %d dimensions in %.1f s",
             len(model.wv.index_to_key), dim, time.perf_counter() - start)
    return list(model.wv.index_to_key), np.asarray(model.wv.vectors, dtype=np.float32)


def sources(pretrained) -> list:
    """The vector sources of a ``pretrained`` setting: "a+b" names vectors to concatenate
    (``"glove-6b-50d+word2vec"``); a path that exists, or an object, is one source."""
    if isinstance(pretrained, str) and "+" in pretrained and not Path(pretrained).exists():
        return [p for p in pretrained.split("+") if p]
    return [pretrained]


def check_pretrained(pretrained) -> None:
    """Refuse, before any work, a ``pretrained`` source that is neither a known name, a vectors
    object, an ``embed`` model folder nor a word-vector file (torch-free; reads a model file's
    header or a file's first 64 KB, no vectors).

    Raises:
        InputError: naming the source and what to pass instead.
    """
    for src in sources(pretrained):
        if src is None or not isinstance(src, str | Path) or src in (*DERIVED,
                                                                      *PRETRAINED_NAMES):
            continue
        path = Path(src)
        if not path.exists():
            raise _not_found(src)
        if path.is_dir() or path.suffix == ".safetensors":
            _check_vectors_model(path)
        else:
            _check_vectors_file(path)


#: what a ``pretrained`` path must be, for the messages
_WANTED = "pass a GloVe/word2vec file or a folder written by `dlcourse embed train`"


def _check_vectors_model(path: Path) -> None:
    """A folder (or model file) of the embeddings lesson: its manifest says so."""
    from dlcourse.embeddings.vector_store import LESSON
    from dlcourse.engine.persist import model_path, read_manifest
    from dlcourse.errors import a_quoted

    file = model_path(path)
    if not file.is_file():
        raise InputError(f"pretrained vectors {path} holds no {file.name}; {_WANTED}")
    try:
        manifest = read_manifest(file)
    except DlcourseError as exc:  # a foreign or damaged file: its reason, and what to pass
        raise InputError(f"pretrained vectors {path}: {str(exc).split(';')[0]}; "
                         f"{_WANTED}") from None
    lesson = manifest.get("lesson")
    if manifest.get("kind") == "checkpoint":
        raise InputError(f"pretrained vectors {path} is a training checkpoint, not the "
                         f"trained vectors; pass the run's folder {file.parent}")
    if lesson != LESSON:
        hint = " (`dlcourse lm export` writes its vectors to a file)" if lesson == "lm" else ""
        raise InputError(f"pretrained vectors {path} holds {a_quoted(lesson)} model, not "
                         f"word vectors{hint}; {_WANTED}")


def _check_vectors_file(path: Path) -> None:
    """A word2vec (text or binary) or GloVe file, judged by its first bytes as the reader
    will judge the whole (:func:`~dlcourse.embeddings.vector_files.sniff_format`)."""
    from dlcourse.embeddings.vector_files import sniff_format

    if path.suffix == ".pt":
        raise InputError(f"pretrained vectors {path} is a checkpoint of an older dlcourse, "
                         f"which is no longer read; {_WANTED}")
    try:
        fmt = sniff_format(path)
    except DlcourseError as exc:  # binary data without a header
        raise InputError(f"pretrained vectors {exc}; {_WANTED}") from None
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    if fmt == "word2vec-binary":  # a header, then at least a word, a space and D floats each
        header = re.match(rb"\s*(\d+)\s+(\d+)\s*\r?\n", head)
        n, dim = int(header.group(1)), int(header.group(2))
        if path.stat().st_size < header.end() + n * (4 * dim + 2):
            raise InputError(f"pretrained vectors {path}: its header announces {n} vectors of "
                             f"{dim} numbers, but the file is too short for them (truncated, "
                             f"or not a word2vec file); {_WANTED}")
    elif fmt == "glove":  # the reader takes the width from the first line: a word and numbers
        lines = (x.rstrip(b" \r").split(b" ") for x in head.splitlines())
        first = next((fields for fields in lines if len(fields) >= 2), None)
        if not head.strip():
            raise InputError(f"pretrained vectors {path} is empty; {_WANTED}")
        if first is None or not _numbers(first[1:]):
            shown = ("no line holds a word and numbers" if first is None else "its first line "
                     f"{b' '.join(first)[:40].decode('utf-8', 'replace')!r} is not a word and "
                     "numbers")
            raise InputError(f"pretrained vectors {path} is not a word-vector file: {shown}; "
                             f"{_WANTED}")


def _numbers(fields: list[bytes]) -> bool:
    """Whether every field reads as a number."""
    try:
        [float(x) for x in fields]
    except ValueError:
        return False
    return True


def _not_found(source) -> ConfigError:
    """The error for a vectors source that names nothing known, with the valid choices."""
    return ConfigError(
        f"pretrained vectors '{source}' not found; pass one of {', '.join(PRETRAINED_NAMES)}, "
        f"{FIT_WORD2VEC} (trained on the training texts), {MINILM_WORDS} (from the MiniLM "
        "encoder), none, or the path of a GloVe/word2vec file or an embeddings model directory")


def vocabulary_vectors(pretrained, token_lists: Sequence[Sequence[str]], itos: list[str],
                       *, dim: int, pad_id: int, seed: int = 0, extra_words: int = 0,
                       progress: bool = False) -> tuple[list[str], np.ndarray, dict]:
    """The embedding matrix of ``pretrained`` for a vocabulary built from ``token_lists``.

    Args:
        pretrained: one source or several joined by "+" (see :func:`sources`): a name of
            :data:`PRETRAINED_NAMES`, ``"word2vec"`` (trained here on ``token_lists``, ``dim``
            wide), ``"minilm-words"`` (derived here from the MiniLM encoder for every word of
            the vocabulary, see :mod:`dlcourse.classify.minilm_words`), a vector file or
            directory, or a KeyedVectors-like object. Several sources give their vectors side
            by side (widths add up).
        token_lists: the training texts as tokens.
        itos: the training vocabulary.
        dim: the width of fit-time word2vec vectors.
        pad_id, seed: as in :func:`embedding_matrix`.
        extra_words: the first N words of the first loaded source (a file or a registered
            name) join the vocabulary, so words the training texts lack keep their vector.
        progress: show a progress bar while minilm-words runs its encoder.

    Returns:
        ``(itos, matrix, coverage)``: the vocabulary (``itos`` plus the extra words), its
        float32 ``(len(itos), total width)`` matrix, and the first source's coverage.
    """
    srcs = sources(pretrained)
    files = {i: load_vectors(src) for i, src in enumerate(srcs) if src not in DERIVED}
    n_train, known = len(itos), set(itos)
    # the words of derived vectors come from the vocabulary itself, so only a loaded source
    # can bring words of its own
    first = files[min(files)][0] if files else []
    itos = list(itos) + [w for w in first[:extra_words] if w not in known]
    matrices, coverage = [], None
    for i, src in enumerate(srcs):
        if src == FIT_WORD2VEC:
            words, vecs = train_word2vec(token_lists, dim, seed)
        elif src == MINILM_WORDS:
            from dlcourse.classify.minilm_words import minilm_word_vectors
            from dlcourse.engine.distributed import main_process_first

            words = [w for w in itos if w not in SPECIALS]
            with main_process_first():  # torchrun: rank 0 fills the store, the others read it
                vecs = minilm_word_vectors(words, progress=progress)
        else:
            words, vecs = files[i]
        matrix, cov = embedding_matrix(itos, words, vecs, pad_id=pad_id,
                                       token_lists=token_lists if i == 0 else None,
                                       seed=seed + i, counted=n_train)
        matrices.append(matrix)
        tokens = f", {cov['token_coverage']:.1%} of the tokens" if "token_coverage" in cov else ""
        log.info("%s covers %d of %d vocabulary entries (%.1f%%)%s", src, cov["found"],
                 cov["vocab_size"], 100 * cov["type_coverage"], tokens)
        coverage = coverage or cov
    return itos, np.concatenate(matrices, axis=1), coverage
