"""The Python API and `dlcourse lm` agree: a model's name gives the recipe `lm train --model`
trains, `generate` has the defaults and ranges of `lm generate`, a query word is read as the
model reads text, and a vocabulary of specials alone is refused by both."""

from __future__ import annotations

import dataclasses

import pytest

from dlcourse.errors import ConfigError, InputError, UnknownTokenError
from dlcourse.lm import LanguageModel, LMConfig, load_corpus


@pytest.fixture(scope="module")
def lm(lee_corpus, tiny_config):
    return LanguageModel(tiny_config(epochs=1, lr=1e-2)).fit(lee_corpus)


def test_a_model_name_gives_the_recipe_lm_train_uses():
    from dlcourse.cli.lm import train_config

    lesson = LanguageModel("embedding", epochs=1).config
    # what `lm train --model embedding --epochs 1` trains (the CLI also shows progress)
    assert lesson.replace(progress=True) == train_config("embedding", {"epochs": 1})
    assert (lesson.embed_dim, lesson.lr, lesson.grad_clip, lesson.shuffle) == (100, 1e-3, None,
                                                                               True)
    assert LanguageModel(model="embedding").config == LMConfig.preset("embedding")
    # the fields given change the recipe, None too; a config given is kept as it is
    assert LanguageModel("embedding", grad_clip=0.5, hidden_size=8).config == LMConfig.preset(
        "embedding", grad_clip=0.5, hidden_dim=8)
    assert LanguageModel("lstm", grad_clip=None).config.grad_clip is None
    assert LanguageModel().config == LanguageModel("lstm").config == LMConfig()
    assert LanguageModel(LMConfig(model="embedding")).config.embed_dim == 200
    assert LanguageModel(config=LMConfig(model="embedding"), epochs=1).config.embed_dim == 200


def test_generate_has_the_commands_default_and_ranges(lm):
    def text(**options):
        return lm.generate("the", max_tokens=25, seed=5, **options)

    assert text() == text(top_k=40)  # `lm generate`'s --top-k 40
    assert text(top_k=0) == text(top_k=None) != text()  # 0, as --top-k 0: all words
    for options, match in [(dict(top_k=-1), "top_k must be an integer >= 0"),
                           (dict(max_tokens=100_001), "max_tokens must be an integer from 1 to "
                                                      "100,000, got 100001"),
                           (dict(seed=-1), "seed must be an integer from 0 to 4,294,967,295"),
                           (dict(seed=2**32), "seed must be an integer from 0 to 4,294,967,295")]:
        with pytest.raises(ValueError, match=match):
            lm.generate("the", **options)
    assert len(lm.generate("the", max_tokens=3, seed=2**32 - 1).split()) == 3


def test_query_words_are_read_with_the_models_tokenizer(lm):
    assert lm.tokenizer_config_["name"] == "basic_english"  # it lowercases
    assert lm.vocabulary_entries(["The", "the", "<unk>"]) == ["the", "the", "<unk>"]
    assert lm.most_similar("The", topn=3) == lm.most_similar("the", topn=3)
    size = f"{len(lm.itos_):,} words"  # the vocabulary training reports, <pad> included
    with pytest.raises(UnknownTokenError, match=rf"word 'govrnment' is not in the vocabulary "
                                                rf"\({size}\); close entries: government"):
        lm.most_similar("govrnment")
    with pytest.raises(UnknownTokenError, match=rf"words 'qwxzzy', 'the war' are not in the "
                                                rf"vocabulary \({size}\)"):
        lm.vocabulary_entries(["qwxzzy", "The", "the war"])  # two words are not one entry


def test_a_vocabulary_of_specials_alone_is_refused(lee_corpus, tiny_config):
    with pytest.raises(InputError, match=r"no word occurs min_freq=100000 times or more in the "
                                         r"train split of 'lee'; lower min_freq"):
        load_corpus("lee", max_lines=60, min_freq=100000)
    with pytest.raises(ConfigError, match=r"max_size must be >= 4, got 0"):  # as --max-vocab 0
        load_corpus("lee", max_lines=60, max_size=0)
    specials = dataclasses.replace(lee_corpus, itos=["<pad>", "<unk>", "<eos>"])
    with pytest.raises(InputError, match=r"the vocabulary of 'lee' holds no word besides "
                                         r"<pad>, <unk>, <eos>"):
        LanguageModel(tiny_config()).fit(specials)


def test_a_python_model_evaluates_on_the_command_line_whatever_its_vocabulary_limits(
        cli_run, workdir, tiny_config):
    """The model file keeps the corpus's max_size and min_freq (a resume compares them);
    `lm evaluate` reads the lines again with the model's vocabulary, so a max_size below
    --max-vocab's minimum is no error there."""
    corpus = load_corpus("lee", max_lines=60, max_size=4)  # the API's minimum is the CLI's
    # an older file's setting below it (a resume compares them)
    corpus = dataclasses.replace(corpus, settings={**corpus.settings, "max_size": 2})
    LanguageModel(tiny_config(epochs=1)).fit(corpus, out_dir="run")
    result = cli_run("lm", "evaluate", "run", "--device", "cpu")
    assert result.code == 0, result.err
    assert "lee" in result.out
