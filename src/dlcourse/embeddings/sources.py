"""Where a training corpus comes from: a named data set (``dlcourse data list``) or a text file.

``check_data`` refuses a bad DATA before any work (an unknown name, a missing, empty, binary or
undecodable file), ``open_corpus`` gives what ``Word2Vec.fit`` / ``GloVe.fit`` take: a streamed
:class:`~dlcourse.embeddings.corpus.Corpus` for a file, tokenized sentences for a named set.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from dlcourse.errors import DlcourseError

# named corpora: data set -> reader of dlcourse.data.readers (offline) or the file to fetch
OFFLINE = {
    "lee": "read_lee",
    "wordnet": "read_wordnet_glosses",
    "wikipedia-sample": "read_wikipedia_sample",
    "rt-sentences": "read_rt_sentences",
}
ONLINE = {"text8": "text8", "ptb": "ptb.train.txt"}
# the names this lesson's command line used or that other lessons use for the same sets
OLD_NAMES = {"wikipedia": "wikipedia-sample", "reviews": "rt-sentences", "glosses": "wordnet"}


def corpus_name(value: str) -> str | None:
    """The ``data list`` name of a named corpus (old spellings accepted with a note on the log),
    or None when ``value`` names none (it may be a file).

    >>> corpus_name("lee"), corpus_name("corpus.txt")
    ('lee', None)
    """
    from dlcourse.data.names import canonical_name

    key = value.strip()
    if key in OLD_NAMES:
        import logging

        from dlcourse.data.names import HELD

        logging.getLogger("dlcourse").warning(
            "note: the corpus '%s' is now called '%s' (the name `dlcourse data list` shows)",
            key, OLD_NAMES[key], extra=HELD)
        key = OLD_NAMES[key]
    key = canonical_name(key)
    return key if key in OFFLINE or key in ONLINE else None


def check_data(value: str, encoding: str = "utf-8") -> str:
    """DATA as given, once it is a named corpus or a readable text file in ``encoding``.

    Raises:
        DlcourseError: neither a name nor a file or folder of files; an empty, binary or
            undecodable file (naming the line and the --encoding option).
    """
    from dlcourse.text.reading import check_text_file, text_files

    name = corpus_name(value)
    if name is not None:
        if Path(value.strip()).is_file():  # a bare name is the corpus; say how to get the file
            import logging

            logging.getLogger("dlcourse").warning(
                "note: DATA '%s' is the named corpus; for the file of that name write ./%s",
                value.strip(), value.strip())
        return name
    names = ", ".join([*OFFLINE, *ONLINE])
    if not value.strip():  # Path("") is ".", the working folder
        raise DlcourseError(f"DATA is empty; give a named corpus ({names}) or a text file")
    path = Path(value).expanduser()
    if not path.exists():
        raise DlcourseError(f"DATA {value!r} is neither a named corpus ({names}) nor an "
                            "existing file")
    for file in text_files(path):  # a folder: each of its files, as gensim's PathLineSentences
        check_text_file(file, encoding, "DATA" if file == path else "DATA file")
    # a path that reads as a name once normalised (./lee -> lee) keeps its folder, so that
    # open_corpus reads the file and not the corpus
    text = str(path)
    return text if corpus_name(text) is None else os.path.join(".", text)


def open_corpus(data: str, encoding: str = "utf-8", limit: int | None = None):
    """What the trainers take for DATA (after :func:`check_data`).

    Args:
        data: a named corpus or a file path.
        encoding: a file's text encoding.
        limit: only the first N texts (lines of a file), tokenized into a list.

    Returns:
        a :class:`~dlcourse.embeddings.corpus.Corpus` streaming a whole file, or a list of
        token lists.
    """
    from dlcourse.embeddings.corpus import Corpus, tokenize

    name = corpus_name(data)
    if name in OFFLINE:
        from dlcourse.data import readers

        texts = getattr(readers, OFFLINE[name])()
        if name == "rt-sentences":  # (sentence, mean rating) pairs
            texts = [text for text, _ in texts]
        return [tokenize(t) for t in texts[:limit]]
    if name in ONLINE:
        from dlcourse.data import fetch

        data = str(fetch(name) / ONLINE[name])  # downloads once; offline: DataUnavailableError
    if limit is None:
        return Corpus(data, encoding=encoding)
    from dlcourse.text.reading import read_text_lines, text_files

    lines = (line for file in text_files(data) for line in read_text_lines(file, encoding))
    return [tokenize(line) for line in itertools.islice(lines, limit)]
