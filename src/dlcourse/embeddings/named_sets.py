"""The registered data sets (``dlcourse data list``) this lesson reads by name, in one place.

Every function that takes an evaluation file or a vectors file takes one of these names in its
place: ``Word2Vec.evaluate`` and ``dlcourse embed evaluate``, ``evaluate_similarity``,
``evaluate_analogies``, ``KeyedVectors.evaluate_word_pairs`` and ``evaluate_word_analogies``,
and ``load_vectors``. A name is looked up before the file system, as the command line does;
a set given where another kind is expected is refused naming the function that reads it.

>>> kind_of("wordsim353"), kind_of("corpus.txt")
('similarity', None)
"""

from __future__ import annotations

import os
from pathlib import Path

from dlcourse.errors import InputError

#: name -> (file in the data set's folder, kind); None: no single file (read by
#: :mod:`dlcourse.data.readers`)
SETS: dict[str, tuple[str | None, str]] = {
    "wordsim353": ("wordsim353.tsv", "similarity"),
    "questions-words": ("questions-words.txt", "analogies"),
    "glove-test": ("test_glove.txt", "vectors"),
    "glove-6b-50d": (None, "vectors"),
}
#: what each kind is, and the function that reads it
KINDS = {"similarity": ("a word-pair similarity set",
                        "evaluate_similarity (gensim's name: kv.evaluate_word_pairs)"),
         "analogies": ("an analogy set",
                       "evaluate_analogies (gensim's name: kv.evaluate_word_analogies)"),
         "vectors": ("a set of word vectors", "load_vectors")}


def names(*kinds: str) -> list[str]:
    """The registered names of ``kinds``, in the order :data:`SETS` lists them."""
    return [name for name, (_, kind) in SETS.items() if kind in kinds]


def kind_of(value: object) -> str | None:
    """The kind of the set ``value`` names (an old spelling noted on the log), or None when it
    is no name of :data:`SETS` (a path, or a ``Path``, which always means a file)."""
    if not isinstance(value, str):
        return None
    from dlcourse.data.names import canonical_name

    entry = SETS.get(canonical_name(value))
    return None if entry is None else entry[1]


def named(value: object, kind: str) -> str | None:
    """The registered name ``value`` gives, when it names a set of ``kind``; None when it
    names no set.

    Raises:
        InputError: a set of another kind (naming the function that reads it).
    """
    found = kind_of(value)
    if found is None:
        return None
    from dlcourse.data.names import canonical_name

    name = canonical_name(value)
    if found != kind:
        what, reader = KINDS[found]
        raise InputError(f"{name!r} is {what}, not {KINDS[kind][0]}; pass it to {reader}")
    return name


def set_file(name: str) -> Path:
    """The file of the registered set ``name`` (obtained once, then from the cache).

    Raises:
        DataUnavailableError: it cannot be obtained (naming the fix).
    """
    from dlcourse.data import fetch

    return fetch(name) / SETS[name][0]


def resolve(value: str | os.PathLike | None, kind: str, default: str) -> Path:
    """The file ``value`` stands for where a file of ``kind`` is read: the registered set's
    file for a name (``default`` for None), else the path itself (checked by the caller).

    Raises:
        InputError: the name of a set of another kind.
    """
    name = default if value is None else named(value, kind)
    return Path(value) if name is None else set_file(name)
