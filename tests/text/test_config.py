"""The text configs hold each default once: the library's keyword defaults and the CLI options
agree with them, and bad values are refused with one message naming the field."""

import inspect

import pytest

from dlcourse.errors import ConfigError
from dlcourse.text import (
    RegexTokenizer,
    TableConfig,
    TokenizerConfig,
    Vocab,
    VocabConfig,
    WhitespaceTokenizer,
    load_table,
)


def _defaults(function, names):
    params = inspect.signature(function).parameters
    return {n: params[n].default for n in names}


def test_library_defaults_are_the_configs():
    vocab = VocabConfig()
    build = _defaults(Vocab.build, ("max_size", "min_freq", "specials"))
    assert build == {"max_size": vocab.max_size, "min_freq": vocab.min_freq,
                     "specials": vocab.specials}
    assert _defaults(Vocab.build, ("pad_token", "unk_token")) == \
        {"pad_token": vocab.pad_token, "unk_token": vocab.unk_token}
    table = TableConfig()
    assert _defaults(load_table, ("text_col", "label_col", "encoding", "on_missing")) == \
        {"text_col": table.text_col, "label_col": table.label_col, "encoding": table.encoding,
         "on_missing": table.on_missing}


def test_cli_options_come_from_the_configs():
    from dlcourse.cli import text as cli

    for options, config in ((cli.TOKENIZER, TokenizerConfig), (cli.VOCAB, VocabConfig),
                            (cli.TABLE, TableConfig)):
        assert [f.name for f in options.fields] == list(config.field_names())
    # texts without labels: --on-missing is the CLI's own (its help speaks of texts alone),
    # still checked and defaulted by TableConfig
    assert [f.name for f in cli.READ.fields] == ["text_col", "encoding"]
    on_missing = next(p for p in cli.tokenize.params if p.name == "on_missing")
    assert on_missing.default is None
    assert f"[default: {TableConfig().on_missing}]" in on_missing.help


def test_tokenizer_config_builds_and_checks_combinations():
    tok = TokenizerConfig(tokenizer="regex", pattern=r"\d+").build()
    assert isinstance(tok, RegexTokenizer) and tok("a1b22") == ["1", "22"]
    tok = TokenizerConfig(tokenizer="whitespace", lowercase=True).build()
    assert isinstance(tok, WhitespaceTokenizer) and tok("A b") == ["a", "b"]
    assert TokenizerConfig(lowercase=True).build()("A b") == ["a", "b"]  # always lower-cases
    bad = [({"tokenizer": "nosuch"}, "tokenizer", "unknown tokenizer 'nosuch'; choose one of "
            "basic_english, whitespace, regex, spacy, wordpiece"),
           ({"pattern": "x"}, "pattern", "pattern is for the regex tokenizer, not basic_english"),
           ({"tokenizer": "regex", "pattern": "("}, "pattern", "not a valid regular expression"),
           ({"vocab_file": "v.txt"}, "vocab_file", "vocab_file is for the wordpiece tokenizer"),
           ({"language": "de"}, "language", "language is for the spacy tokenizer, not "
            "basic_english")]
    for changes, field, message in bad:
        with pytest.raises(ConfigError, match=message) as info:
            TokenizerConfig(**changes).validate()
        assert info.value.field == field


def test_vocab_config_roles_and_checks():
    v = VocabConfig(specials=("[PAD]", "[UNK]", "<eos>"), min_freq=2).build(
        [["a", "b", "a"], ["a", "c", "b"]])
    assert v.itos == ["[PAD]", "[UNK]", "<eos>", "a", "b"]
    assert (v.pad_id, v.unk_id) == (0, 1)
    plain = VocabConfig(specials=()).build([["x"]])
    assert (plain.pad_id, plain.unk_id, plain.itos) == (None, None, ["x"])
    for changes, message in (({"min_freq": 0}, "min_freq must be >= 1"),
                             ({"max_size": -1}, "max_size must be >= 0"),
                             ({"specials": ("<pad>", "<pad>")}, "specials repeat a token"),
                             ({"specials": ("<pad>", " ")}, "non-empty tokens")):
        with pytest.raises(ConfigError, match=message):
            VocabConfig(**changes).validate()


def test_table_config_checks():
    for changes, field, message in (
            ({"encoding": "utf9"}, "encoding", "unknown encoding 'utf9'"),
            ({"on_missing": "skip"}, "on_missing", "choose one of error, drop"),
            ({"text_col": " "}, "text_col", "text_col must name a column"),
            ({"label_col": "text"}, "label_col", "is also the text column")):
        with pytest.raises(ConfigError, match=message) as info:
            TableConfig(**changes).validate()
        assert info.value.field == field
    assert TableConfig(label_col=None, encoding="latin-1").validate().label_col is None
