"""The model file of word vectors (``model.safetensors``, as every lesson's): what
:meth:`KeyedVectors.save` writes and :meth:`KeyedVectors.load` reads, without torch."""

from __future__ import annotations

import os
from pathlib import Path

from dlcourse.errors import DlcourseError, IncompatibleModelError, InputError, a_quoted

LESSON = "embed"  # the CLI noun whose model files hold word vectors


def save_vectors(kv, directory: str | os.PathLike) -> Path:
    """Write ``kv``'s vectors, words and (where kept) counts to ``directory/model.safetensors``.

    Raises:
        DlcourseError: ``directory`` holds another lesson's model.
    """
    from dlcourse import __version__
    from dlcourse.engine.persist import check_out_lesson, model_path, write_state

    path = model_path(directory)
    check_out_lesson(path.parent, LESSON, "directory")  # never over another lesson's model
    manifest = {"lesson": LESSON, "estimator": "KeyedVectors", "dlcourse_version": __version__,
                "config": {"vector_size": kv.vector_size},
                "state": {"words": kv.index_to_key}, "metadata": {}}
    counts = {"counts": kv.expandos["count"]} if "count" in kv.expandos else {}
    return write_state(path, manifest, {"vectors": kv.vectors, **counts})


#: the answer to gensim's own files (``KeyedVectors.save``, ``Word2Vec.save``): pickles
GENSIM_PICKLE = ("{path} is a gensim pickle (its .save format), which dlcourse does not read "
                 "(a pickle can run code); in gensim, write the vectors as a word2vec file, "
                 "kv.save_word2vec_format('vectors.bin', binary=True) (model.wv.save_... for "
                 "a Word2Vec model), and read that")


def gensim_pickle(path: str | os.PathLike) -> bool:
    """True when the file ``path`` starts as a Python pickle (protocol 2 or later), as
    gensim's ``save`` writes them."""
    with open(path, "rb") as handle:
        return handle.read(1) == b"\x80"


def load_vectors(cls, directory: str | os.PathLike):
    """``cls`` (:class:`~dlcourse.embeddings.vectors.KeyedVectors`) of a model directory
    written by ``Word2Vec``, ``GloVe`` or :func:`save_vectors` (or its ``model.safetensors``):
    its words, vectors and counts.

    Raises:
        DlcourseError: a missing or damaged file, a checkpoint, or a model file of an older
            dlcourse.
        IncompatibleModelError: another lesson's model, or one whose vectors and words do not
            fit.
    """
    from dlcourse.engine.persist import model_path, read_state

    path = model_path(directory)
    if Path(directory).is_file() and gensim_pickle(directory):
        raise InputError(GENSIM_PICKLE.format(path=directory))
    if not path.exists() and (path.parent / "model.pt").exists():
        raise DlcourseError(f"{path.parent} holds a model.pt of an older dlcourse, which is "
                            "no longer read; train it again with `dlcourse embed train`")
    manifest, arrays = read_state(path)
    lesson = manifest.get("lesson")
    if manifest.get("kind") == "checkpoint":  # last.safetensors given for the model
        raise DlcourseError(f"{path} is a training checkpoint, not the trained vectors; "
                            f"pass the run's folder {path.parent}")
    if lesson != LESSON:
        hint = " (`dlcourse lm export` writes its vectors)" if lesson == "lm" else ""
        raise IncompatibleModelError(f"{directory} holds {a_quoted(lesson)} model, not word "
                                     f"vectors{hint}; pass a directory written by "
                                     "`dlcourse embed train`")
    words = (manifest.get("state") or {}).get("words")
    if "vectors" not in arrays or not isinstance(words, list):
        raise IncompatibleModelError(f"{path} lacks the vectors or the words; train it again")
    counts = arrays.get("counts")
    if counts is not None and counts.shape != (len(words),):
        counts = None  # not one a word: an edited file, whose vectors are checked next
    try:
        return cls(words, arrays["vectors"], counts)
    except ValueError as exc:  # words and rows that do not match: an edited file
        raise IncompatibleModelError(f"{path}: {exc}; train it again") from None
