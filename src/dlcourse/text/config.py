"""Settings of the text pipeline as configs: how to read a table, which tokenizer, which
vocabulary. Each default lives here once; the ``dlcourse text`` options (and any lesson's that
reads tables) are generated from these fields, so the CLI and Python refuse the same values.

>>> TokenizerConfig(tokenizer="regex", pattern="[a-z]+").validate().build()("ab1cd")
['ab', 'cd']
>>> TableConfig(on_missing="skip").validate()
Traceback (most recent call last):
...
dlcourse.errors.ConfigError: unknown on_missing 'skip'; choose one of error, drop
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from dlcourse.engine.config import Config, param
from dlcourse.errors import ConfigError, DlcourseError
from dlcourse.text.tabular import ON_MISSING
from dlcourse.text.tokenizers import TOKENIZERS, Tokenizer, get_tokenizer

__all__ = ["TableConfig", "TokenizerConfig", "VocabConfig"]

_LOWERCASING = ("whitespace", "regex", "spacy")  # basic_english and wordpiece always lower-case


@dataclass
class TableConfig(Config):
    """How to read a labelled text table (``.csv``, ``.tsv``, ``.jsonl``, ``.parquet``) or a
    text file: the columns, the encoding and what to do with rows that lack a value."""

    text_col: str = param("text", "The column holding the text (in a table file).")
    label_col: str | None = param("label", "The column holding the label; none for "
                                           "unlabelled text (where no labels are needed).")
    encoding: str = param("utf-8", "Text encoding of the input files, e.g. latin-1 or cp1252.")
    on_missing: str = param("error", "A row with an empty text or label: error stops there, "
                                     "naming the line; drop skips such rows.", choices=ON_MISSING)

    def check(self) -> None:
        from dlcourse.text.reading import check_encoding

        if not self.text_col.strip():
            raise ConfigError("text_col must name a column, got ''", "text_col")
        if self.label_col is not None and self.label_col == self.text_col:
            raise ConfigError(f"label_col {self.label_col!r} is also the text column; name the "
                              "label column (or none for unlabelled text)", "label_col")
        try:
            check_encoding(self.encoding)
        except DlcourseError as e:
            # "unknown encoding 'x'; ..." names the field, so the CLI shows it as --encoding
            raise ConfigError(str(e), "encoding") from None


@dataclass
class TokenizerConfig(Config):
    """Which tokenizer and its options; :meth:`build` makes it."""

    tokenizer: str = param("basic_english", "Which tokenizer.", choices=tuple(TOKENIZERS))
    pattern: str | None = param(None, "The regex tokenizer's token pattern; none means "
                                      "\\w+|[^\\w\\s] (words and single punctuation marks).")
    lowercase: bool = param(False, "Lower-case first (whitespace, regex, spacy; basic_english "
                                   "and wordpiece always do).")
    vocab_file: str | None = param(None, "A BERT vocab.txt for the wordpiece tokenizer; none "
                                         "means the offline bert-base-uncased one.")
    language: str | None = param(None, "The spacy tokenizer's language code or installed model "
                                       "(de, en_core_web_sm); none means en.")

    def check(self) -> None:
        if self.pattern is not None:
            if not self.pattern:  # matches nothing but empty strings: every text had no token
                raise ConfigError("pattern is empty; give a regular expression for the "
                                  "tokens, e.g. '[a-z]+'", "pattern")
            if self.tokenizer != "regex":
                raise ConfigError(f"pattern is for the regex tokenizer, not {self.tokenizer}",
                                  "pattern")
            try:
                re.compile(self.pattern)
            except re.error as e:
                raise ConfigError(f"pattern {self.pattern!r} is not a valid regular expression "
                                  f"({e})", "pattern") from None
        if self.vocab_file is not None and self.tokenizer != "wordpiece":
            raise ConfigError(f"vocab_file is for the wordpiece tokenizer, not {self.tokenizer}",
                              "vocab_file")
        if self.language is not None and self.tokenizer != "spacy":
            raise ConfigError(f"language is for the spacy tokenizer, not {self.tokenizer}",
                              "language")

    def build(self) -> Tokenizer:
        """The tokenizer these settings describe (validated first)."""
        self.validate()
        kwargs: dict = {}
        if self.pattern is not None:
            kwargs["pattern"] = self.pattern
        if self.vocab_file is not None:
            kwargs["vocab_file"] = self.vocab_file
        if self.language is not None:
            kwargs["language"] = self.language
        if self.lowercase and self.tokenizer in _LOWERCASING:
            kwargs["lowercase"] = True
        return get_tokenizer(self.tokenizer, **kwargs)


@dataclass
class VocabConfig(Config):
    """How to build a vocabulary (``Vocab.build``'s settings, whose defaults these are)."""

    aliases: ClassVar[dict[str, str]] = {"max_vocab": "max_size", "min_count": "min_freq"}


    max_size: int | None = param(None, "Keep at most this many tokens, specials excluded; none "
                                       "keeps all.", min=0)
    min_freq: int = param(1, "Drop tokens seen fewer times.", min=1)
    specials: tuple[str, ...] = param(("<pad>", "<unk>"), "Special tokens put first, in order; "
                                      "the ones named like pad and unk (<pad>, [UNK] ...) play "
                                      "those roles.")

    def check(self) -> None:
        if any(not s.strip() for s in self.specials):
            raise ConfigError("specials must be non-empty tokens", "specials")
        if len(set(self.specials)) != len(self.specials):
            raise ConfigError(f"specials repeat a token: {', '.join(self.specials)}", "specials")

    @property
    def pad_token(self) -> str | None:
        """The first special named like a padding token (``<pad>``, ``[PAD]``), or None."""
        return _named(self.specials, "pad")

    @property
    def unk_token(self) -> str | None:
        """The first special named like an unknown token (``<unk>``, ``[UNK]``), or None."""
        return _named(self.specials, "unk")

    def build(self, token_lists: Iterable[Sequence[str]]):
        """``Vocab.build`` with these settings over a stream of token lists.

        Args:
            token_lists: an iterable of token lists (one per text), read once.

        Raises:
            ConfigError: an invalid setting (the config is validated first).
        """
        from dlcourse.text.vocab import Vocab

        self.validate()
        return Vocab.build(token_lists, max_size=self.max_size, min_freq=self.min_freq,
                           specials=self.specials, unk_token=self.unk_token,
                           pad_token=self.pad_token)


def _named(specials: Sequence[str], role: str) -> str | None:
    return next((s for s in specials if role in s.lower()), None)
