"""The lesson's labelled text: the offline review sentences with a fixed split, and CSV files."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from dlcourse.errors import InputError, check_choice

log = logging.getLogger(__name__)

#: fixed split of the review sentences used by the CLI, the benchmark and the tour
RT_FRACTIONS = (0.8, 0.1, 0.1)
RT_SPLIT_SEED = 0


def load_rt_sentences() -> tuple[list[str], list[str]]:
    """The 10,605 Rotten Tomatoes review sentences as texts and "pos"/"neg" labels.

    The label is the sign of the mean human rating; the 37 sentences rated exactly 0 have no
    polarity and are dropped (the count is logged), leaving 10,568.
    """
    return load_rated_sentences("movies")


def load_rated_sentences(domain: str) -> tuple[list[str], list[str]]:
    """Hutto & Gilbert's rated sentences of one domain (movies: rt-sentences; amazon, nyt,
    tweets: the data set hutto-sentences) as texts and "pos"/"neg" labels, those rated exactly
    0 dropped (:func:`load_rt_sentences` explains the labels)."""
    from dlcourse.data.readers import read_rated_sentences

    rows = read_rated_sentences(domain)
    kept = [(text, rating) for text, rating in rows if rating != 0]
    if len(kept) < len(rows):
        log.info("%s: dropped %d sentences rated 0 (no polarity)", domain, len(rows) - len(kept))
    return [t for t, _ in kept], ["pos" if r > 0 else "neg" for _, r in kept]


def rt_split(
    seed: int = RT_SPLIT_SEED, fractions: tuple[float, ...] = RT_FRACTIONS
) -> dict[str, tuple[list[str], list[str]]]:
    """The review sentences split (stratified by label) into train/valid/test.

    Args:
        seed: the shuffle's seed; the default is the split of the CLI, benchmark and tour.
        fractions: the train, valid and test shares, adding up to 1.

    Returns:
        ``{"train": (texts, labels), "valid": (...), "test": (...)}``; the same seed gives the
        same split on every machine.

    Raises:
        InputError: ``fractions`` not three numbers adding up to 1.
    """
    from dlcourse.data.readers import split_indices

    if len(fractions) != 3:  # zip below would drop a fourth part or leave "test" out
        raise InputError(f"fractions gives the train, valid and test shares, three numbers; "
                         f"got {len(fractions)}: {tuple(fractions)}")
    texts, labels = load_rt_sentences()
    parts = split_indices(len(texts), fractions, seed=seed, stratify=labels)
    return {
        name: ([texts[i] for i in idx], [labels[i] for i in idx])
        for name, idx in zip(("train", "valid", "test"), parts)
    }


def holdout(texts: list[str], labels: list, fraction: float = 0.1, seed: int = 0):
    """Split off a stratified validation part: ``((train_texts, train_labels), (valid_texts,
    valid_labels))``.

    Args:
        texts: the texts.
        labels: one label per text; each label keeps its share in both parts.
        fraction: the validation share, in (0, 1).
        seed: the shuffle's seed.

    Raises:
        InputError: ``fraction`` outside (0, 1), or not one label per text.
    """
    from dlcourse.data.readers import split_indices

    if not 0.0 < fraction < 1.0:
        raise InputError(f"fraction must lie in (0, 1), got {fraction}")
    _check_pairs(texts, labels)
    parts = split_indices(len(texts), (1.0 - fraction, fraction), seed=seed, stratify=labels)
    return tuple(([texts[i] for i in idx], [labels[i] for i in idx]) for idx in parts)


def kfold(texts: list[str], labels: list, k: int = 10, seed: int = 0, valid_fraction: float = 0.1):
    """Kim (2014)'s cross-validation protocol: ``k`` stratified folds, each the test part once;
    the other folds give the training texts, a stratified ``valid_fraction`` of which is held
    out for early stopping.

    Args:
        texts: the texts.
        labels: one label per text (the folds are stratified by them).
        k: the number of folds, >= 2.
        seed: the folds' shuffle seed (fold i's validation split uses ``seed + i``).
        valid_fraction: the share of each fold's training texts held out, in (0, 1).

    Returns:
        An iterator of ``(train, valid, test)`` pairs of ``(texts, labels)``, one triple per
        fold; the test parts cover every text exactly once.

    Raises:
        InputError: ``k`` < 2, ``valid_fraction`` outside (0, 1), or not one label per text.

    >>> folds = list(kfold([f"t{i}" for i in range(20)], [i % 2 for i in range(20)], k=4))
    >>> len(folds), sorted(t for _, _, test in folds for t in test[0])[:3]
    (4, ['t0', 't1', 't10'])
    """
    from dlcourse.data.readers import split_indices

    if k < 2:  # checked at the call, not at the first fold: a generator would wait
        raise InputError(f"k must be >= 2, got {k}")
    if not 0.0 < valid_fraction < 1.0:
        raise InputError(f"valid_fraction must lie in (0, 1), got {valid_fraction}")
    _check_pairs(texts, labels)
    parts = split_indices(len(texts), (1.0 / k,) * k, seed=seed, stratify=labels)
    return _folds(texts, labels, parts, seed, valid_fraction)


def _folds(texts, labels, parts, seed, valid_fraction):
    """:func:`kfold`'s folds, one at a time."""
    for i, test_idx in enumerate(parts):
        rest = np.concatenate([p for j, p in enumerate(parts) if j != i])
        rest_texts, rest_labels = [texts[j] for j in rest], [labels[j] for j in rest]
        train, valid = holdout(rest_texts, rest_labels, valid_fraction, seed=seed + i)
        yield train, valid, ([texts[j] for j in test_idx], [labels[j] for j in test_idx])


def _check_pairs(texts, labels) -> None:
    """One label per text, or an InputError naming both counts."""
    if len(texts) != len(labels):
        raise InputError(f"{len(texts)} texts but {len(labels)} labels; give one label per "
                         "text")


def load_pang_lee_sample() -> tuple[list[str], list[str]]:
    """The 200-sentence Pang & Lee sample (gensim's test data) as texts and "pos"/"neg" labels."""
    from dlcourse.data.readers import read_pang_lee_sample

    rows = read_pang_lee_sample()
    return [t for t, _ in rows], [label for _, label in rows]


def load_mr_polarity() -> tuple[list[str], list[str]]:
    """Pang & Lee's sentence polarity v1.0 (5,331 + 5,331 sentences; online, via the data layer)."""
    from dlcourse.data import fetch

    d = fetch("mr-polarity") / "rt-polaritydata"
    texts, labels = [], []
    for label in ("neg", "pos"):
        # the files are latin-1, one sentence a line
        lines = (d / f"rt-polarity.{label}").read_bytes().decode("latin-1").splitlines()
        kept = [line.strip() for line in lines if line.strip()]
        texts += kept
        labels += [label] * len(kept)
    return texts, labels


def load_imdb(split: str = "train") -> tuple[list[str], list[str]]:
    """The IMDB large movie review set (aclImdb v1, 25,000 reviews a split; online, checksummed
    by the data layer); ``<br />`` tags become spaces."""
    from dlcourse.data import fetch

    check_choice("split", split, ("train", "test"))
    d = fetch("imdb") / "aclImdb" / split
    texts, labels = [], []
    for label in ("neg", "pos"):
        for f in sorted((d / label).glob("*.txt")):
            texts.append(f.read_text(encoding="utf-8", errors="replace").replace("<br />", " "))
            labels.append(label)
    return texts, labels


#: data sets ``load_dataset`` knows: name -> what it is
DATASETS = {
    "rt-sentences": "10,568 rated Rotten Tomatoes sentences, fixed 80/10/10 split (offline)",
    "pang-lee-sample": "200 Pang & Lee sentences, no split (offline, for tests)",
    "mr-polarity": "10,662 Pang & Lee polarity sentences, fixed 80/10/10 split (online)",
    "imdb": "IMDB 25,000 train / 25,000 test reviews (online)",
}


def load_dataset(name: str) -> dict[str, tuple[list[str], list] | None]:
    """``{"train", "valid", "test"}`` parts of a named data set; a part it lacks is None.

    Raises:
        ValueError: unknown name (the message lists :data:`DATASETS`).
        DataUnavailableError: an online set that cannot be downloaded here.
    """
    if name == "rt-sentences":
        return rt_split()
    if name == "pang-lee-sample":
        return {"train": load_pang_lee_sample(), "valid": None, "test": None}
    if name == "mr-polarity":
        from dlcourse.data.readers import split_indices

        texts, labels = load_mr_polarity()
        parts = split_indices(len(texts), RT_FRACTIONS, seed=RT_SPLIT_SEED, stratify=labels)
        return {k: ([texts[i] for i in idx], [labels[i] for i in idx])
                for k, idx in zip(("train", "valid", "test"), parts)}
    if name == "imdb":
        return {"train": load_imdb("train"), "valid": None, "test": load_imdb("test")}
    raise InputError(f"unknown data set '{name}'; choose one of {', '.join(DATASETS)}")


def read_labelled(path: str | Path, text_col: str = "text", label_col: str | None = "label",
                  encoding: str = "utf-8", on_missing: str = "error"):
    """Texts and labels (None when ``label_col`` is None) from a CSV/TSV/JSON-lines/parquet file.

    The keyword defaults are :class:`~dlcourse.text.config.TableConfig`'s (``--text-col``,
    ``--label-col``, ``--encoding``, ``--on-missing`` on the command line).

    Args:
        path: a ``.csv``, ``.tsv``, ``.jsonl`` or ``.parquet`` file with a header / named fields.
        text_col: the column holding the texts.
        label_col: the column holding the labels; None reads the texts alone.
        encoding: the file's text encoding.
        on_missing: "error" stops at the first row lacking a text or label, "drop" skips such
            rows (and logs how many).

    Raises:
        DlcourseError: the file or a column is missing (the message lists the columns), a byte
            does not decode, or a row lacks a value (with ``on_missing="error"``).
    """
    from dlcourse.text import load_table

    table = load_table(path, text_col=text_col, label_col=label_col, encoding=encoding,
                       on_missing=on_missing)
    return list(table.texts), (None if label_col is None else list(table.labels))
