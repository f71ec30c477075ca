"""``dlcourse lm``'s DATA: a named corpus, a text file or a folder of *train*, *valid* and
*test* files, checked before any data is read (and its text before the corpus loads), and
the lines reading it logs, held until the checks that need it pass."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from dlcourse.errors import DlcourseError
from dlcourse.lm.config import SOURCES, source_name, split_files


def check_data(value: str, typed: bool = True) -> str:
    """A named corpus (its ``data list`` name), an existing file or a folder with one *train*,
    *valid* and *test* file; a one-line error otherwise. Reads no data (see
    :func:`check_data_text`, which needs the encoding). ``typed``: DATA as the user typed it,
    noted when a file of the working folder has the corpus's name."""
    name = source_name(value)
    if name is not None:
        if typed and Path(value.strip()).exists():  # the corpus; say how to get the file
            click.echo(f"note: DATA '{value.strip()}' is the named corpus; for the file of that "
                       f"name write ./{value.strip()}", err=True)
        return name
    if not value.strip():  # Path("") is ".", the working folder
        raise DlcourseError(f"DATA is empty; give a named corpus ({', '.join(SOURCES)}), a "
                            "text file or a folder of *train*, *valid* and *test* files")
    if not Path(value).expanduser().exists():
        raise DlcourseError(f"DATA {value!r} is neither a named corpus ({', '.join(SOURCES)}) "
                            "nor an existing file")
    _data_files(value)
    return value


def _data_files(data: str) -> list[Path]:
    """The text files behind DATA: none for a named corpus, the file, or the folder's three."""
    if source_name(data) is not None:
        return []
    path = Path(data).expanduser()
    if not path.is_dir():
        return [path]
    files = []
    for split, found in split_files(path).items():
        if len(found) != 1:
            raise DlcourseError(f"DATA {data} is a directory with {len(found)} *{split}* "
                                "files; it needs exactly one *train*, *valid* and *test* "
                                "file, or pass a single text file")
        files.extend(found)
    return files


def check_data_text(data: str, encoding: str) -> None:
    """Refuse, before any work, DATA files that are empty, binary or not ``encoding`` text,
    in the words of every text lesson (:func:`dlcourse.text.reading.check_text_file`)."""
    from dlcourse.text.reading import check_text_file

    for path in _data_files(data):
        check_text_file(path, encoding, "DATA")


@contextmanager
def held_log_lines() -> Iterator:
    """Hold the lines that reading DATA logs (the vocabulary's and the splits' sizes) until
    ``release()`` prints them, once the checks that need the splits' sizes have passed: a
    refusal is then the only line printed, as before any other work."""
    held: list[logging.LogRecord] = []
    loggers = [logging.getLogger(name) for name in ("dlcourse.text.vocab", "dlcourse.lm.corpus")]

    def hold(record: logging.LogRecord) -> bool:
        held.append(record)
        return False

    def release() -> None:
        for logger in loggers:
            logger.removeFilter(hold)
        for record in held:
            logging.getLogger(record.name).handle(record)
        held.clear()

    for logger in loggers:
        logger.addFilter(hold)
    try:
        yield release
    finally:  # an error, or no release() (evaluate's summary): the held lines are dropped
        for logger in loggers:
            logger.removeFilter(hold)
