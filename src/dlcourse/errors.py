"""Exceptions whose message is meant for the user: one line naming the problem and the fix.

The CLI prints any :class:`DlcourseError` as ``error: <message>`` and exits with status 2
(130 for :class:`TrainingInterrupted`). Library users can catch the narrower classes.
"""


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


class MissingFileError(InputError, FileNotFoundError):
    """A file a call names is not there (or is a folder): an :class:`InputError`, and a
    ``FileNotFoundError`` as Python's own ``open`` and gensim raise."""


class NotFittedError(DlcourseError, ValueError, AttributeError):
    """An estimator was used before ``fit`` or ``load`` (a ValueError and AttributeError, as in
    scikit-learn, so code written for either keeps working)."""


class UnknownTokenError(DlcourseError, KeyError):
    """A word or token is not in a vocabulary (that has no unknown token): a ``KeyError`` too,
    so code written for gensim's ``KeyedVectors`` or a dict keeps working."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ""


class IncompatibleModelError(DlcourseError):
    """A model directory holds another lesson's model, or weights that do not fit the config."""


class DataUnavailableError(DlcourseError):
    """A data set or weight file could not be obtained from any of its sources."""


class ChecksumError(DlcourseError):
    """A file's checksum does not match the registry; the file is never used."""


class TrainingInterrupted(DlcourseError):
    """Training stopped by Ctrl-C after saving a checkpoint that ``resume`` continues from."""


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
