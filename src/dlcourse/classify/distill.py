"""Knowledge distillation: a saved classifier (the teacher) labels the training texts and
perturbed copies of them with its probabilities, and the model being fitted learns those too.

The recipe follows Tang et al. 2019 ("Distilling task-specific knowledge from BERT into simple
neural networks"): each copy either drops every word with probability 0.1 or keeps one phrase
of 1 to 5 words (probability 0.25), so the teacher's knowledge reaches sentences the labels do
not cover. On the review sentences a CNN distilled from a fine-tuned minilm gains about two
points and keeps its speed (``benchmarks/bench_classify.py --teacher``).

Example:
    >>> augment_texts(["a fine and moving film"], copies=2, seed=0)
    ['a fine and moving film', 'a moving film', 'a fine and moving']
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dlcourse.errors import InputError

log = logging.getLogger(__name__)

#: a copy drops each word with this probability ...
DROP_WORD = 0.1
#: ... or, with this probability, keeps a single phrase of 1 to PHRASE_MAX words
KEEP_PHRASE, PHRASE_MAX = 0.25, 5
#: the weight of the label against the teacher's probabilities on the original texts
LABEL_WEIGHT = 0.5
#: texts per call to the teacher (a step of the progress bar)
LABEL_CHUNK = 1024
#: the teacher's answers, kept in the run's folder so that ``--resume`` does not ask again
LABELS_FILE = "teacher_labels.npz"


def check_teacher(teacher: str | os.PathLike, classes: Sequence | None = None) -> Path:
    """The model file of a saved text classifier, refused (before any work, torch-free: the
    header alone is read) when missing, of another lesson, or, given ``classes``, trained on
    other labels.

    Raises:
        DlcourseError: naming the folder and what is wrong with it.
    """
    from dlcourse.engine.persist import check_model_dir, model_path, read_manifest

    path = check_model_dir(teacher, "classify", what="teacher")
    file = model_path(path)
    manifest = read_manifest(file)
    known = (manifest.get("state") or {}).get("classes") or []
    if classes is not None and sorted(map(str, known)) != sorted(map(str, classes)):
        raise InputError(f"teacher {path} knows the labels {list(known)}, the training "
                         f"texts have {list(classes)}; a teacher must know the same labels")
    return file


def augment_texts(texts: Sequence[str], copies: int, seed: int) -> list[str]:
    """The texts, then ``copies`` perturbed copies of each (text-major), deterministic in
    ``seed``. Words are split on white space; a copy is never empty (and may equal its
    original)."""
    rng = np.random.default_rng(seed)
    out = list(texts)
    for text in texts:
        words = text.split()
        for _ in range(copies):
            if len(words) > 1 and rng.random() < KEEP_PHRASE:
                n = int(rng.integers(1, PHRASE_MAX + 1))
                start = int(rng.integers(0, max(1, len(words) - n + 1)))
                kept = words[start:start + n]
            else:
                kept = [w for w in words if rng.random() >= DROP_WORD] or words
            out.append(" ".join(kept))
    return out


def teacher_probabilities(teacher: str | os.PathLike, texts: Sequence[str], classes: Sequence,
                          device: str = "auto", progress: bool = False) -> np.ndarray:
    """The teacher's class probabilities ``(len(texts), len(classes))`` float32, columns in the
    order of ``classes`` (the student's label order); ``progress`` shows a bar (a minilm
    teacher takes minutes on a CPU)."""
    from dlcourse.classify.estimator import TextClassifier
    from dlcourse.engine.progress import progress as bar

    start = time.perf_counter()
    model = TextClassifier.load(teacher, device=device)
    texts = list(texts)
    chunks = bar(range(0, len(texts), LABEL_CHUNK), desc=f"teacher labels {len(texts)} texts",
                 unit="chunk", disable=None if progress else True)
    proba = np.concatenate([model.predict_proba(texts[i:i + LABEL_CHUNK]) for i in chunks])
    order = [list(map(str, model.classes_)).index(str(c)) for c in classes]
    log.info("teacher %s labelled %d texts in %.1f s", teacher, len(texts),
             time.perf_counter() - start)
    return np.ascontiguousarray(proba[:, order], dtype=np.float32)


def soft_targets(y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """What the student learns: on the first ``len(y)`` texts (the originals, class indices
    ``y``) :data:`LABEL_WEIGHT` of the label and the rest of the teacher, on the copies the
    teacher alone. ``(N,)`` P(second class) for two classes (one logit), else ``(N, C)``."""
    target = proba.copy()
    target[:len(y)] *= 1.0 - LABEL_WEIGHT
    target[np.arange(len(y)), y] += LABEL_WEIGHT
    return target[:, 1].copy() if target.shape[1] == 2 else target


def distillation_set(teacher: str | os.PathLike, texts: Sequence[str], y: np.ndarray,
                     classes: Sequence, *, copies: int, seed: int,
                     device: str = "auto", progress: bool = False,
                     keep_in: str | os.PathLike | None = None, write: bool = True
                     ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """What a student trains on besides ``texts`` (class indices ``y``): the perturbed copies,
    the soft targets of the originals and copies (:func:`soft_targets`), and the class indices
    of both (the copies' from the teacher, for class weights).

    ``keep_in``: a run's folder; the teacher's answers are read from its :data:`LABELS_FILE`
    when that holds the answers of this teacher (its model file's bytes) to these texts and
    classes, else asked for and written there (when ``write``: one process of a torchrun), so
    a resumed run skips the minutes of labelling and gets the very same targets. Under
    torchrun the ranks share the labelling and all get every answer."""
    all_texts = augment_texts(texts, copies, seed)
    key = _labels_key(teacher, all_texts, classes)
    proba = _kept_labels(keep_in, key) if keep_in is not None else None
    if proba is None:
        proba = _ask_teacher(teacher, all_texts, classes, device, progress)
        if keep_in is not None and write:
            _keep_labels(keep_in, key, proba)
    hard = np.concatenate([y, proba[len(texts):].argmax(1)]).astype(y.dtype)
    return all_texts[len(texts):], soft_targets(y, proba), hard


def _ask_teacher(teacher: str | os.PathLike, texts: list[str], classes: Sequence, device: str,
                 progress: bool) -> np.ndarray:
    """:func:`teacher_probabilities` of ``texts``; under torchrun each rank asks for every N-th
    text and the shares are gathered, so N processes label in 1/N of the time and every rank
    gets all the answers."""
    from dlcourse.engine.distributed import active_ranks

    rank, world = active_ranks()
    if world == 1:
        return teacher_probabilities(teacher, texts, classes, device, progress)
    import torch

    from dlcourse.engine.distributed import gather_shards, rank_device

    part = teacher_probabilities(teacher, texts[rank::world], classes,
                                 str(rank_device(device)), progress)
    return gather_shards(torch.from_numpy(part), len(texts)).numpy()


def _labels_key(teacher: str | os.PathLike, texts: Sequence[str], classes: Sequence) -> str:
    """What the teacher's answers depend on: its model file, the texts and the classes."""
    digest = hashlib.sha256(check_teacher(teacher).read_bytes())
    for text in texts:
        digest.update(text.encode("utf-8") + b"\0")
    digest.update("\0".join(map(str, classes)).encode("utf-8"))
    return digest.hexdigest()


def _kept_labels(folder: str | os.PathLike, key: str) -> np.ndarray | None:
    """The answers kept in ``folder`` under ``key``, or None (none, others, or unreadable)."""
    path = Path(folder) / LABELS_FILE
    try:
        with np.load(path, allow_pickle=False) as kept:
            if str(kept["key"]) != key:
                return None
            log.info("teacher answers read from %s", path)
            return np.ascontiguousarray(kept["proba"], dtype=np.float32)
    except (OSError, KeyError, ValueError):
        return None


def _keep_labels(folder: str | os.PathLike, key: str, proba: np.ndarray) -> None:
    """Write the answers whole (a temporary file renamed), so a cut run leaves none or all."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / (LABELS_FILE + ".part")
    with open(part, "wb") as f:
        np.savez(f, key=np.array(key), proba=proba)
    os.replace(part, folder / LABELS_FILE)
