"""The lesson's labelled text: the offline review sentences with a fixed split, and CSV files."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

#: fixed split of the review sentences used by the CLI, the benchmark and the tour
RT_FRACTIONS = (0.8, 0.1, 0.1)
RT_SPLIT_SEED = 0


def load_rt_sentences() -> tuple[list[str], list[str]]:
    """The 10,605 Rotten Tomatoes review sentences as texts and "pos"/"neg" labels.

    The label is the sign of the mean human rating; the 37 sentences rated exactly 0 have no
    polarity and are dropped (the count is logged), leaving 10,568.
    """
    from dlcourse.data.readers import read_rt_sentences

    rows = read_rt_sentences()
    kept = [(text, rating) for text, rating in rows if rating != 0]
    if len(kept) < len(rows):
        log.info("dropped %d review sentences rated 0 (no polarity)", len(rows) - len(kept))
    return [t for t, _ in kept], ["pos" if r > 0 else "neg" for _, r in kept]


def rt_split(
    seed: int = RT_SPLIT_SEED, fractions: tuple[float, ...] = RT_FRACTIONS
) -> dict[str, tuple[list[str], list[str]]]:
    """The review sentences split (stratified by label) into train/valid/test.

    Returns:
        ``{"train": (texts, labels), "valid": (...), "test": (...)}``; the same seed gives the
        same split on every machine.
    """
    from dlcourse.data.readers import split_indices

    texts, labels = load_rt_sentences()
    parts = split_indices(len(texts), fractions, seed=seed, stratify=labels)
    return {
        name: ([texts[i] for i in idx], [labels[i] for i in idx])
        for name, idx in zip(("train", "valid", "test"), parts)
    }


def load_pang_lee_sample() -> tuple[list[str], list[str]]:
    """The 200-sentence Pang & Lee sample (gensim's test data) as texts and "pos"/"neg" labels."""
    from dlcourse.data.readers import read_pang_lee_sample

    rows = read_pang_lee_sample()
    return [t for t, _ in rows], [label for _, label in rows]


def read_labelled(path: str | Path, text_col: str = "text", label_col: str | None = "label"):
    """Texts and labels (None when ``label_col`` is None) from a CSV/TSV/JSON-lines/parquet file.

    Raises:
        DlcourseError: the file or a column is missing (the message lists the columns).
    """
    from dlcourse.text import load_table

    table = load_table(path, text_col=text_col, label_col=label_col)
    return list(table.texts), (None if label_col is None else list(table.labels))
