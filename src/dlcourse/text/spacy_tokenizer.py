"""spaCy's rule-based tokenizer behind the :class:`~dlcourse.text.tokenizers.Tokenizer`
interface (spaCy is imported when one is built: ``pip install dlcourse[spacy]``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dlcourse.errors import DlcourseError, InputError
from dlcourse.text.tokenizers import Tokenizer


class SpacyTokenizer(Tokenizer):
    """spaCy's rule-based tokenizer for ``language``: a language code (``"en"``, ``"de"``:
    ``spacy.blank``, no model download) or the name of an installed spaCy model
    (``"en_core_web_sm"``, what torchtext users pass), of which only the tokenizer is loaded.
    The whitespace tokens spaCy keeps for runs of spaces and line breaks are left out (torchtext
    keeps them: ``["Hello", " ", "world"]`` there, ``["Hello", "world"]`` here).

    Args:
        language: the language code or installed model name, as above; default ``"en"``.
        lowercase: lower-case the tokens spaCy finds.

    Raises:
        DlcourseError: spaCy is not installed (``pip install dlcourse[spacy]``).
        InputError: ``language`` is neither a spaCy language code nor an installed model (the
            message names the installed ones).
    """

    name = "spacy"

    def __init__(self, language: str = "en", lowercase: bool = False):
        try:
            import spacy
        except ImportError:
            raise DlcourseError(
                "the spacy tokenizer needs spaCy; install it with: pip install dlcourse[spacy]"
            ) from None
        self._nlp = _spacy_pipeline(spacy, language)
        self.language = language
        self.lowercase = bool(lowercase)

    def __call__(self, text: str) -> list[str]:
        return self._texts(self._nlp.tokenizer(text))

    def batch(self, texts: Iterable[str]) -> list[list[str]]:
        """:meth:`Tokenizer.batch` through spaCy's ``pipe`` (Args: see there)."""
        return [self._texts(doc) for doc in self._nlp.tokenizer.pipe(texts, batch_size=1000)]

    def _texts(self, doc) -> list[str]:
        # spaCy keeps whitespace-only tokens for runs of spaces; they are not words
        toks = [t.text for t in doc if not t.is_space]
        return [t.lower() for t in toks] if self.lowercase else toks

    @property
    def config(self) -> dict[str, Any]:
        return {"name": self.name, "language": self.language, "lowercase": self.lowercase}


def _spacy_pipeline(spacy, language):
    """The spaCy pipeline for ``language`` (an installed model's name or a language code),
    without components: tokenizing never runs them."""
    installed = spacy.util.get_installed_models()
    if language in installed:
        # torchtext loads the whole model; its components (tagger, parser, ...) are left out
        # here, so a transformer model does not load its weights just to split words
        meta = spacy.util.get_model_meta(spacy.util.get_package_path(language))
        return spacy.load(language, exclude=meta.get("components") or meta.get("pipeline", []))
    try:
        if not isinstance(language, str):
            raise TypeError(language)
        return spacy.blank(language)
    except (ImportError, KeyError, TypeError, ValueError):
        models = ", ".join(installed) or "none (add one: python -m spacy download en_core_web_sm)"
        raise InputError(
            f"spaCy has no language or installed model {language!r}; pass a language code such "
            f"as 'en' or 'de' (spaCy's rules, no download) or an installed model: {models}"
        ) from None
