"""Texts to token ids, ids to logits, labels to class indices: the plain functions the
classifier's training and prediction share (they take a tokenizer, a vocabulary, a module and
values, never the estimator)."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from dlcourse.classify.config import PREDICTION_BATCH, ClassifierConfig, architecture
from dlcourse.engine.config import whole_number
from dlcourse.errors import InputError
from dlcourse.text.labels import check_labels, few, plain, refuse_table

log = logging.getLogger(__name__)

#: a class with fewer training texts than this is named at the start of training: one row of a
#: misspelt label ("postive") became a class of its own, and pulled macro F1 down unseen
RARE_CLASS = 3

#: the Transformer's learned positions cover this many tokens when ``max_len`` is None
TRANSFORMER_POSITIONS = 512


def token_limit(config: ClassifierConfig) -> int | None:
    """How many tokens of a text the model reads: ``max_len``, or the Transformer's (and
    BERT's) positions when ``max_len`` is None (the other models read any length). For minilm
    the count includes ``[CLS]`` and ``[SEP]``."""
    if config.max_len is not None:
        return config.max_len
    return TRANSFORMER_POSITIONS if config.model in ("transformer", "minilm") else None


def bracket_ids(config: ClassifierConfig, vocab) -> tuple[int, int] | None:
    """The ``([CLS], [SEP])`` ids BERT models put around every text; None for the others."""
    if architecture(config.model) != "bert":
        return None
    cls_id, sep_id = vocab.lookup(["[CLS]", "[SEP]"])
    return cls_id, sep_id


def token_ids(tokens: Sequence[str], vocab, limit: int | None,
              brackets: tuple[int, int] | None = None) -> list[int]:
    """Ids of ``tokens`` cut to ``limit``; an empty text becomes one ``<unk>`` (every text
    gets an answer). ``brackets=(cls, sep)`` wraps the ids (BERT), within ``limit``."""
    if brackets is not None:
        cut = tokens if limit is None else tokens[:max(limit - 2, 0)]
        return [brackets[0], *vocab.lookup(cut), brackets[1]]
    ids = vocab.lookup(tokens if limit is None else tokens[:limit])
    return ids if ids else [vocab.unk_id]


def encode(texts: Sequence[str], tokenizer, vocab, limit: int | None,
           brackets: tuple[int, int] | None = None) -> list[list[int]]:
    """Token ids of each text (see :func:`token_ids`)."""
    return [token_ids(tokens, vocab, limit, brackets)
            for tokens in tokenizer.batch(list(texts))]


def batch_count(batch_size) -> int:
    """``batch_size`` of ``predict``, ``predict_proba`` or ``evaluate`` as a plain ``int`` >= 1
    (numpy integers and ``64.0`` pass, as in configs).

    Raises:
        InputError: naming batch_size (``range`` would fail with a message that names none).
    """
    return whole_number("batch_size", batch_size, 1, None,
                        "an integer >= 1 (texts scored at a time)")


def length_batches(ids: Sequence[Sequence[int]], pad_id: int, batch_size: int
                   ) -> Iterator[tuple[np.ndarray, torch.Tensor, torch.Tensor]]:
    """(positions, padded ids (B, T), lengths (B,)) in length order: texts of similar length
    share a batch, so there is little padding."""
    from dlcourse.text import pad_sequences

    batch_size = batch_count(batch_size)
    order = np.argsort([len(x) for x in ids], kind="stable")
    for start in range(0, len(order), batch_size):
        pos = order[start: start + batch_size]
        padded, lengths = pad_sequences([ids[i] for i in pos], pad_id)
        yield pos, padded, lengths


@torch.no_grad()
def logits_of(model: nn.Module, ids: Sequence[Sequence[int]], *, pad_id: int,
              num_classes: int, device: torch.device,
              batch_size: int = PREDICTION_BATCH) -> torch.Tensor:
    """Logits of encoded texts in input order, on the CPU: (N,) for two classes, (N, C) for
    more. The model is put in eval mode (no dropout).

    Raises:
        InputError: ``batch_size`` is not an integer >= 1 (see :func:`batch_count`), even
            when there are no texts.
    """
    batch_size = batch_count(batch_size)
    model.eval()
    out: list[torch.Tensor | None] = [None] * len(ids)
    for pos, batch, lengths in length_batches(ids, pad_id, batch_size):
        logits = model(batch.to(device), lengths.to(device)).float().cpu()
        for row, i in enumerate(pos):
            out[i] = logits[row]
    if not out:
        return torch.zeros((0,) if num_classes == 2 else (0, num_classes))
    return torch.stack(out)


def text_list(texts, what: str = "texts") -> list[str]:
    """``texts`` (a list, tuple, numpy array, pandas Series or generator of strings) as a list.

    Raises:
        DlcourseError: ``texts`` is None, one string or a DataFrame, or an item is not a
            string (the first is named with its position).
    """
    refuse_table(texts, what)
    if texts is None or isinstance(texts, str) or not hasattr(texts, "__iter__"):
        got = ("one string" if isinstance(texts, str) else "None" if texts is None
               else f"{type(texts).__name__} {texts!r}")
        raise InputError(f"{what} must be a list of strings, got {got}; pass [text]")
    items = [plain(t) for t in texts]
    for i, text in enumerate(items):
        if not isinstance(text, str):
            shown = repr(text) if len(repr(text)) <= 40 else repr(text)[:37] + "..."
            fix = ("join each text's tokens into one string (' '.join(tokens))"
                   if isinstance(text, list | tuple) else "drop or fill the missing texts")
            raise InputError(f"{what} must be strings, but item {i} is "
                             f"{type(text).__name__} {shown}; {fix}")
    return items


def label_list(labels, n: int) -> list:
    """One plain label per text (numpy scalars unwrapped): a string or a number.

    Raises:
        DlcourseError: not ``n`` labels, a DataFrame, a missing label (None or NaN) or one that
            is not a string or a number (a tuple, list, dict, array...), the first named by
            position.
    """
    refuse_table(labels, "labels", "strings or numbers")
    if labels is None or isinstance(labels, str):
        raise InputError("labels must be a list with one label per text")
    items = [plain(y) for y in labels]
    if len(items) != n:
        raise InputError(f"{n} texts but {len(items)} labels; pass one label per text")
    return check_labels(items)


def note_rare_classes(labels: Sequence) -> None:
    """Log a warning naming the classes with fewer than :data:`RARE_CLASS` training texts."""
    counts = Counter(labels)
    rare = sorted((c for c, k in counts.items() if k < RARE_CLASS), key=str)
    if rare:
        shown = ", ".join(f"{c!r} ({counts[c]})" for c in rare[:5]) + ", ..." * (len(rare) > 5)
        log.warning("class%s %s with under %d training texts of %d: a misspelt label? such a "
                    "class is hardly learned and pulls the macro averages down; fix or drop "
                    "its rows", "es" if len(rare) > 1 else "", shown, RARE_CLASS, len(labels))


def unseen_labels(labels: Sequence, classes: Sequence) -> list:
    """The distinct labels that are not among ``classes``, sorted by their text."""
    known = set(classes)
    return sorted({plain(y) for y in labels if plain(y) not in known}, key=str)


def class_indices(labels: Sequence, classes: Sequence, where: str = "evaluate",
                  advice: str = "evaluate on data with the model's classes") -> np.ndarray:
    """The index in ``classes`` of each label, int64 (N,).

    Args:
        where: what holds the labels, the message's start ("--valid v.csv").
        advice: what to do about a label not in ``classes``, for the message.

    Raises:
        DlcourseError: a label that is not one of ``classes`` (up to 5 of them, and of the
            classes, are named).
    """
    classes = [plain(c) for c in classes]  # a model's classes_ array holds numpy scalars
    index = {c: i for i, c in enumerate(classes)}
    labels = [plain(y) for y in labels]
    unknown = unseen_labels(labels, classes)
    if unknown:
        raise InputError(
            f"{where}: {len(unknown)} label{'s' if len(unknown) > 1 else ''} not seen in "
            f"training ({few(unknown)}; the {len(classes)} classes: {few(classes)}); {advice}")
    return np.array([index[y] for y in labels], dtype=np.int64)


def class_array(classes: Sequence) -> np.ndarray:
    """The sorted class labels as the numpy array scikit-learn's classifiers keep in
    ``classes_``: its scorers find a probability column by ``classes_ == label``, which a list
    answers with one False (roc_auc, neg_log_loss then gave NaN). Saved as ``.tolist()``."""
    return np.asarray(list(classes))


def training_fingerprint(texts: Sequence[str], labels: Sequence) -> str:
    """A short digest of the training data, so a resume on other texts is refused."""
    digest = hashlib.sha256()
    for text, label in zip(texts, labels):
        digest.update(f"{text}\t{label}\n".encode("utf-8", "surrogatepass"))
    return f"{len(texts)} texts, sha256 {digest.hexdigest()[:16]}"
