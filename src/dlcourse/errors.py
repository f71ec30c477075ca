"""Exceptions whose message is meant for the user: one line naming the problem and the fix.

The CLI prints any :class:`DlcourseError` as ``error: <message>`` and exits with status 2
(130 for :class:`TrainingInterrupted`). Library users can catch the narrower classes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable


class DlcourseError(Exception):
    """Bad input or an unavailable resource; the CLI prints the message as one line."""


class ConfigError(DlcourseError, ValueError):
    """A hyper-parameter is out of range, of the wrong type or not among the valid choices.

    ``field`` names the config field at fault (the CLI turns it into the option's name).
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class InputError(DlcourseError, ValueError):
    """Data or an argument given to ``fit``, ``predict``, ``evaluate`` or a query that cannot be
    used (wrong type, shape or length, empty, unknown). A ``ValueError`` too, so that both
    ``except ValueError`` (scikit-learn's convention) and ``except DlcourseError`` catch it in
    every lesson."""


class InputTypeError(InputError, TypeError):
    """Data holding values that are not numbers (a dict, a list in a cell): an
    :class:`InputError`, and a ``TypeError`` as numpy and scikit-learn raise for them."""


class MissingFileError(InputError, FileNotFoundError):
    """A file a call names is not there (or is a folder): an :class:`InputError`, and a
    ``FileNotFoundError`` as Python's own ``open`` and gensim raise."""


class NotFittedError(DlcourseError, ValueError, AttributeError):
    """An estimator was used before ``fit`` or ``load`` (a ValueError and AttributeError, as in
    scikit-learn, so code written for either keeps working).

    Once scikit-learn is imported, the error raised is also its
    ``sklearn.exceptions.NotFittedError``, so ``except`` clauses (and its estimator checks)
    written for scikit-learn catch it; scikit-learn is never imported for this.
    """

    def __new__(cls, *args: object, **kwargs: object) -> NotFittedError:
        if cls is NotFittedError:
            cls = _with_sklearn_class() or cls
        return super().__new__(cls, *args, **kwargs)

    def __reduce__(self) -> tuple:  # pickled as the plain class: it needs no scikit-learn
        return (NotFittedError, *super().__reduce__()[1:])


_SKLEARN_NOT_FITTED: dict[type, type] = {}  # scikit-learn's class -> ours subclassing both


def _with_sklearn_class() -> type | None:
    """A NotFittedError that is scikit-learn's too, when scikit-learn is loaded, else None."""
    module = sys.modules.get("sklearn.exceptions")
    theirs = getattr(module, "NotFittedError", None)
    if not isinstance(theirs, type) or not issubclass(theirs, BaseException):
        return None
    if theirs not in _SKLEARN_NOT_FITTED:
        _SKLEARN_NOT_FITTED[theirs] = type("NotFittedError", (NotFittedError, theirs), {
            "__module__": __name__, "__doc__": NotFittedError.__doc__})
    return _SKLEARN_NOT_FITTED[theirs]


class UnknownTokenError(DlcourseError, KeyError, RuntimeError):
    """A word or token is not in a vocabulary (that has no unknown token): a ``KeyError`` too,
    so code written for gensim's ``KeyedVectors`` or a dict keeps working, and a
    ``RuntimeError``, what torchtext's ``Vocab`` raised."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ""


class IncompatibleModelError(DlcourseError, ValueError):
    """A model directory holds another lesson's model, or weights that do not fit the config (a
    ValueError too, as a missing or damaged model folder's errors are)."""


class DataUnavailableError(DlcourseError):
    """A data set or weight file could not be obtained from any of its sources."""


class ChecksumError(DlcourseError):
    """A file's checksum does not match the registry; the file is never used."""


class TrainingInterrupted(DlcourseError):
    """Training stopped by Ctrl-C after saving a checkpoint that ``resume`` continues from."""


def check_choice(kind: str, value: object, choices: Iterable[str],
                 error: type[DlcourseError] = InputError) -> object:
    """Return ``value`` if it is one of ``choices``, else raise ``error`` listing them.

    Args:
        kind: what the value is, as the message names it ("padding side").
        value: the value given; an unhashable one (a list) is simply not among the choices.
        choices: the valid names, in the order the message lists them (a dict: its keys).
        error: the class raised, :class:`InputError` unless a setting is at fault.

    >>> check_choice("padding side", "left", ("left", "right"))
    'left'
    >>> check_choice("padding side", "top", ("left", "right"))
    Traceback (most recent call last):
    dlcourse.errors.InputError: unknown padding side 'top'; choose one of left, right
    """
    try:
        known = value in choices
    except TypeError:  # an unhashable value looked up in a dict or set
        known = False
    if not known:
        raise error(f"unknown {kind} {value!r}; choose one of {', '.join(map(str, choices))}")
    return value


def article(name: object) -> str:
    """"a" or "an" before ``name`` in a message: "an" for "embed", "ImageClassifier" and "lm"
    (said letter by letter: "el-em"), "a" for "som"."""
    text = str(name).lower()
    spelt = not any(c in "aeiouy" for c in text)  # no vowel: an initialism, read as letters
    vowel_sound = text[:1] in ("aeiou" if not spelt else "aefhilmnorsx")
    return "an" if vowel_sound and text else "a"


def a_quoted(name: object) -> str:
    """``name`` quoted after its article: ``a_quoted("som")`` -> "a 'som'",
    ``a_quoted("embed")`` -> "an 'embed'"."""
    return f"{article(name)} '{name}'"
